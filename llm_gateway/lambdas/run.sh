#!/bin/sh
# The gateway function's handler. The Lambda Web Adapter's bootstrap (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# executes ${LAMBDA_TASK_ROOT}/${_HANDLER}, this file, then proxies each invocation to the port it serves.
# The code asset comes first on the path, then layers, then the runtime's own boto3.
export PYTHONPATH="${LAMBDA_TASK_ROOT:-.}:${PYTHONPATH:+$PYTHONPATH:}/opt/python:${LAMBDA_RUNTIME_DIR:-/var/runtime}"
exec python -m uvicorn "${GATEWAY_ASGI_APP:-llm_gateway.lambdas.gateway:app}" --host 127.0.0.1 \
  --port "${AWS_LWA_PORT:-8080}" --no-access-log --log-level warning
