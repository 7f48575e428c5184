"""A Lambda runtime in miniature, for functions whose handler is ``module.function``.

Run as ``python -P lambda_bootstrap.py`` in a process whose environment is the function's and whose
``PYTHONPATH`` is its code asset (``LAMBDA_TASK_ROOT``): it imports ``_HANDLER`` once (the cold
start), then reads one JSON invocation per line on stdin and answers one JSON line on stdout. The
handler's own output (Powertools logs) goes to stderr, as it would go to CloudWatch Logs. Standard
library only: it runs beside the code asset, not inside it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """What the Lambda runtime passes as the handler's ``context``."""

    def __init__(self, request_id: str, timeout_seconds: float) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        region, account = os.environ.get("AWS_REGION", "us-east-1"), os.environ.get("LOCAL_ACCOUNT_ID", "123456789012")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(spec: str) -> Any:
    """``path/to/module.function`` or ``package.module.function``, as the Python runtime reads it."""
    module_path, _, function = spec.rpartition(".")
    return getattr(importlib.import_module(module_path.replace("/", ".")), function)


def error_of(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs go to stderr, never into the reply channel
    sys.stdout = sys.stderr
    timeout = float(os.environ.get("LOCAL_FUNCTION_TIMEOUT", "30"))
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except BaseException as exc:  # an init error: reported for every invocation, as Lambda does
        init_error: dict[str, Any] | None = {**error_of(exc), "errorType": f"Runtime.ImportModuleError: {exc!r}"}
    else:
        init_error = None
    for line in sys.stdin:
        invocation = json.loads(line)
        if init_error:
            replies.write(json.dumps({"error": init_error}) + "\n")
            continue
        try:
            result = handler(invocation["event"], LambdaContext(invocation["request_id"], timeout))
            reply: dict[str, Any] = {"result": result}
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": error_of(exc)}
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
