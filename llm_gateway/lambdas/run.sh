#!/bin/sh
# Started by the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap): serve the ASGI app
# named by GATEWAY_ASGI_APP (set by the GuardedEndpoint construct).
export PYTHONPATH="${LAMBDA_TASK_ROOT:-.}:${PYTHONPATH:-}"
exec python -m uvicorn "${GATEWAY_ASGI_APP:-llm_gateway.lambdas.gateway:app}" --host 127.0.0.1 \
  --port "${AWS_LWA_PORT:-8080}" --no-access-log --log-level warning
