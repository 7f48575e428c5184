"""What the Lambda service does around our handlers, done locally: load a function's code with its
own environment, the SQS event source mapping, and API Gateway's TOKEN authorizer and request
context."""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from llm_gateway.local.cloudformation import ACCOUNT, REGION, GatewayResponse, LocalFunction

Handler = Callable[[dict[str, Any], Any], Any]


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load(function: LocalFunction, overrides: dict[str, str], target: str) -> Any:
    """Import ``module:attr`` (or ``module.attr``) as the function's cold start would: its module
    scope (clients, settings) runs with the function's environment."""
    module_name, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    with environment({**function.environment, **overrides}):
        module: ModuleType = (importlib.reload(sys.modules[module_name]) if module_name in sys.modules
                              else importlib.import_module(module_name))
    return getattr(module, attr)


@dataclass
class LambdaContext:
    """The context object the Lambda runtime passes to a handler."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = ""
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(function: LocalFunction, handler: Handler, event: dict[str, Any]) -> Any:
    return handler(event, LambdaContext(function.name, function.memory_size, function.timeout))


class QueuePoller(threading.Thread):
    """The SQS event source mapping: long-poll, invoke with a real SQS event, delete what succeeded.

    Failed records (``batchItemFailures``, or all of them when the handler raises) stay on the
    queue and come back after ``retry_delay`` seconds; SQS's redrive policy moves them to the DLQ
    after ``maxReceiveCount`` receives, as in AWS.
    """

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, function: LocalFunction, handler: Handler,
                 *, batch_size: int, report_failures: bool, retry_delay: int, log: Callable[[str], None]) -> None:
        super().__init__(daemon=True, name=f"sqs-{function.name}")
        self.sqs, self.queue_url, self.queue_arn = sqs, queue_url, queue_arn
        self.function, self.handler = function, handler
        self.batch_size, self.report_failures, self.retry_delay = batch_size, report_failures, retry_delay
        self.log = log
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the emulator itself shutting down, mostly
                if not self.stopping.is_set():
                    self.log(f"poller {self.name}: {exc}")
                    time.sleep(0.5)

    def poll_once(self) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=min(self.batch_size, 10), WaitTimeSeconds=1,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": self.queue_arn,
            "awsRegion": REGION} for m in messages]}
        try:
            result = invoke(self.function, self.handler, event) or {}
            failed = ({f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                      if self.report_failures else set())
        except Exception as exc:
            self.log(f"{self.function.name} failed on a batch of {len(messages)}: {exc!r}")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=self.retry_delay)


class ApiGateway:
    """ASGI middleware that plays API Gateway's part in front of the app.

    It attaches the request context (``x-amzn-request-context``, as the Lambda Web Adapter forwards
    it; a client-sent one is dropped) and, when the stack has a TOKEN authorizer, calls it exactly
    as API Gateway does: no token -> 401, Deny or error -> 403, results cached per token for the
    authorizer's TTL.
    """

    def __init__(self, app: Any, stage: str = "local",
                 authorizer: tuple[LocalFunction, Handler, str, int] | None = None,
                 responses: dict[str, GatewayResponse] | None = None) -> None:
        self.app, self.stage, self.authorizer = app, stage, authorizer
        self.responses = responses or {}  # the stack's customised gateway responses
        self._decisions: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-amzn-request-context"]
        context: dict[str, Any] = {
            "requestId": str(uuid.uuid4()), "stage": self.stage, "httpMethod": scope["method"],
            "path": scope["path"], "identity": {"sourceIp": (scope.get("client") or ("127.0.0.1",))[0]}}
        if self.authorizer:
            function, handler, header, ttl = self.authorizer
            token = dict(scope["headers"]).get(header.lower().encode(), b"").decode()
            if not token:
                await self._reply(send, "UNAUTHORIZED", 401, {"message": "Unauthorized"})
                return
            arn = (f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{self.stage}/{scope['method']}"
                   f"{scope['path']}")
            decision = self._authorize(function, handler, token, arn, ttl)
            if decision is None:
                await self._reply(send, "ACCESS_DENIED", 403, {
                    "message": "User is not authorized to access this resource with an explicit deny"})
                return
            context["authorizer"] = decision
        headers.append((b"x-amzn-request-context", json.dumps(context).encode()))
        await self.app({**scope, "headers": headers}, receive, send)

    async def _reply(self, send: Any, kind: str, status: int, default: dict[str, Any]) -> None:
        """API Gateway's own response of this kind: the stack's customised one, or AWS's default."""
        custom = self.responses.get(kind)
        payload = custom.body.encode() if custom and custom.body else json.dumps(default).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                   (b"x-amzn-errortype", b"UnauthorizedException" if status == 401 else b"AccessDeniedException")]
        headers += [(k.lower().encode(), v.encode()) for k, v in (custom.headers if custom else {}).items()]
        await send({"type": "http.response.start", "status": (custom.status if custom else None) or status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _authorize(self, function: LocalFunction, handler: Handler, token: str, arn: str,
                   ttl: int) -> dict[str, Any] | None:
        with self._lock:
            cached = self._decisions.get(token)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            policy = invoke(function, handler, {"type": "TOKEN", "authorizationToken": token, "methodArn": arn})
            statements = policy["policyDocument"]["Statement"]
            allowed = any(s["Effect"] == "Allow" and _covers(s["Resource"], arn) for s in statements) and not any(
                s["Effect"] == "Deny" and _covers(s["Resource"], arn) for s in statements)
            decision = ({**policy.get("context", {}), "principalId": policy.get("principalId")}
                        if allowed else None)
        except Exception:  # API Gateway answers an authorizer failure with 403 (or 500); never 200
            decision = None
        with self._lock:
            self._decisions[token] = (time.monotonic() + ttl, decision)
        return decision


def _covers(resources: str | list[str], arn: str) -> bool:
    patterns = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)
