"""What the Lambda service does around our functions, done locally: each function runs in a
process of its own, started from the template's ``Handler``, ``Runtime`` and ``Environment`` as
Lambda starts it (the gateway through the Web Adapter's contract, with the Extensions API its
internal extension uses); the SQS event source mapping; and API Gateway's TOKEN authorizer and
request context."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fnmatch
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TextIO, cast

import aiohttp

from llm_gateway.local.cloudformation import ACCOUNT, REGION, GatewayResponse, LocalFunction, function_arn
from llm_gateway.local.log_subscriptions import LogDelivery, LogTap

Invoke = Callable[[dict[str, Any]], Any]
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# What a function's process inherits from ours besides its own environment (Lambda gives it none).
INHERITED = ("HOME", "LANG", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"proxy-connection"}
# A client's headers not forwarded: hop-by-hop ones, and those the forwarder sets itself (the
# function's address, the body's length, the invocation's context).
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"x-amzn-lambda-context"}
# What a request is forwarded with besides the client's own headers: nothing (aiohttp would add these).
NOT_ADDED = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


_PRCTL: Callable[..., int] | None
try:  # resolved here: between fork and exec the child may only call it, not import or allocate
    _PRCTL = ctypes.CDLL(None).prctl
except (AttributeError, OSError):  # not Linux
    _PRCTL = None


def child_of_runner() -> None:
    """A process the runner starts (a function's, the emulator's) ends with the runner, even when
    the runner is killed outright (Linux), and leaves Ctrl-C to it: the terminal sends SIGINT to
    the whole process group, the runner stops its children itself, and a KeyboardInterrupt in each
    printed a traceback into `make dev`. An ignored signal stays ignored across exec; a server that
    handles SIGINT itself (uvicorn) installs its handler over it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class FunctionFailed(RuntimeError):
    """A function could not start, or its handler raised (Lambda's ``errorType``/``errorMessage``)."""


@dataclass(frozen=True)
class Sandbox:
    """Where and how functions run: the interpreter standing in for the Lambda runtime, the code
    asset (``LAMBDA_TASK_ROOT``), the runtime's own libraries (boto3), and the AWS they reach."""

    task_root: Path
    python: str = sys.executable
    runtime_dir: Path | None = None
    aws: dict[str, str] = field(default_factory=dict)  # AWS_ENDPOINT_URL, credentials, region
    log: IO[str] | None = None  # the functions' stdout/stderr (their "CloudWatch Logs"); None: ours

    def environment(self, function: LocalFunction, overrides: dict[str, str]) -> dict[str, str]:
        """The process environment Lambda gives this function: its variables plus the reserved ones."""
        reserved = {
            "LAMBDA_TASK_ROOT": str(self.task_root), "LAMBDA_RUNTIME_DIR": str(self.runtime_dir or ""),
            "_HANDLER": function.handler, "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size), "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "TZ": ":UTC",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "LOCAL_FUNCTION_TIMEOUT": str(function.timeout),
            "PYTHONUNBUFFERED": "1",  # each log line reaches the log as it is written
            # The runtime's interpreter first, as /var/lang/bin is in Lambda.
            "PATH": os.pathsep.join([str(Path(self.python).parent), os.environ.get("PATH", "")]),
        }
        inherited = {k: v for k, v in os.environ.items() if k in INHERITED or k.startswith("POWERTOOLS_")}
        return {**inherited, **reserved, **self.aws, **function.environment, **overrides}

    def python_path(self) -> str:
        return os.pathsep.join(str(p) for p in (self.task_root, self.runtime_dir) if p)


class HandlerProcess:
    """A warm container of a ``module.function`` handler: imported once, invoked one event at a time."""

    def __init__(self, function: LocalFunction, sandbox: Sandbox, overrides: dict[str, str] | None = None) -> None:
        self.function, self.sandbox = function, sandbox
        self.env = sandbox.environment(function, overrides or {})
        self.log_subscriptions: list[LogDelivery] = []  # its log group's, set before it starts
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> HandlerProcess:
        self._process = subprocess.Popen(
            [self.sandbox.python, "-P", str(BOOTSTRAP)], env={**self.env, "PYTHONPATH": self.sandbox.python_path()},
            cwd=self.sandbox.task_root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self.log_subscriptions else self.sandbox.log, text=True, bufsize=1,
            preexec_fn=child_of_runner)  # noqa: PLW1509  # a sigaction and a prctl (resolved before the fork)
        if self.log_subscriptions and self._process.stderr:  # its logs: the handler's output is on stderr
            LogTap(cast(TextIO, self._process.stderr).buffer, self.sandbox.log, self.log_subscriptions,
                   self.function.name).start()
        return self

    def __call__(self, event: dict[str, Any]) -> Any:
        """Invoke with a real event shape; the handler's exception is raised as ``FunctionFailed``."""
        with self._lock:
            if self._process is None:  # not started yet: this call is its cold start
                self.start()
            process = self._process
            if process is None or process.stdin is None or process.stdout is None or process.poll() is not None:
                raise FunctionFailed(f"{self.function.name} is not running")
            process.stdin.write(json.dumps({"event": event, "request_id": str(uuid.uuid4())}) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            raise FunctionFailed(f"{self.function.name} exited during an invocation")
        reply = json.loads(line)
        if "error" in reply:
            raise FunctionFailed(f"{reply['error']['errorType']}: {reply['error']['errorMessage']}")
        return reply["result"]

    def stop(self) -> None:
        if self._process:  # a closed stdin ends the runtime's loop
            end_process(self._process, self._process.stdin.close if self._process.stdin else self._process.terminate)
            if self._process.stdout:
                self._process.stdout.close()


class QuietServer(ThreadingHTTPServer):
    """One that says nothing when a client's kept-alive connection ends under it (a function's
    extension, as its process stops): that is how such a connection ends, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ExtensionsApi:
    """Lambda's Extensions API as an internal extension uses it, on loopback: registration during
    init only, then each invocation's INVOKE event, handed over when an extension asks for its next.
    An invocation is complete once its response is sent and every extension has asked for its next
    event again; ``settled`` waits for that. Locally nothing is frozen meanwhile, and the next
    request does not wait (on AWS another environment would take it)."""

    def __init__(self, function: LocalFunction) -> None:
        self.function = function
        self.registering = True  # until the function is ready: the end of its init
        self._changed = threading.Condition()
        self._events: dict[str, list[dict[str, Any]]] = {}  # extension id -> events not yet handed over
        self._open: dict[str, set[str]] = {}  # request id -> extensions (and "response") it waits for
        self._holding: dict[str, str] = {}  # extension id -> the request id it is working on
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept alive: an extension's connection, one thread, many events

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.endswith("/extension/register"):
                    self._reply(202, {})  # init/error, exit/error: nothing to do locally
                elif not api.registering:
                    self._reply(403, {"errorType": "Extension.InvalidState",
                                      "errorMessage": "extensions register during init"})
                else:
                    self._reply(200, {"functionName": function.name, "functionVersion": "$LATEST",
                                      "handler": function.handler},
                                {"Lambda-Extension-Identifier": api.register()})

            def do_GET(self) -> None:
                if not self.path.endswith("/extension/event/next"):
                    self._reply(404, {"errorType": "NotFound", "errorMessage": self.path})
                    return
                self._reply(200, api.next_event(self.headers.get("Lambda-Extension-Identifier", "")))

            def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                                    **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name=f"extensions-{function.name}").start()

    @property
    def address(self) -> str:  # AWS_LAMBDA_RUNTIME_API
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def registered(self) -> int:
        with self._changed:
            return len(self._events)

    def register(self) -> str:
        identifier = str(uuid.uuid4())
        with self._changed:
            self._events[identifier] = []
        return identifier

    def next_event(self, identifier: str) -> dict[str, Any]:
        """The extension is done with its previous event; block until it has another."""
        with self._changed:
            if identifier in self._holding:
                self._open.get(self._holding.pop(identifier), set()).discard(identifier)
                self._changed.notify_all()
            self._changed.wait_for(lambda: bool(self._events.get(identifier)))
            event = self._events[identifier].pop(0)
            self._holding[identifier] = event["requestId"]
            return event

    def invoke(self, request_id: str, deadline_ms: int) -> None:
        with self._changed:
            self._open[request_id] = {"response", *self._events}
            for queue in self._events.values():
                queue.append({"eventType": "INVOKE", "deadlineMs": deadline_ms, "requestId": request_id,
                              "invokedFunctionArn": self.function_arn})
            self._changed.notify_all()

    def responded(self, request_id: str) -> None:
        with self._changed:
            self._open.get(request_id, set()).discard("response")
            self._changed.notify_all()

    def settled(self, timeout: float = 30.0, *, answered_only: bool = False) -> bool:
        """Every invocation so far complete, or with ``answered_only`` every one whose response has
        been sent (False: ``timeout`` seconds passed first)."""
        with self._changed:
            done = self._changed.wait_for(lambda: not any(
                v and not (answered_only and "response" in v) for v in self._open.values()), timeout)
            self._open = {k: v for k, v in self._open.items() if v}
            return done

    @property
    def function_arn(self) -> str:
        return function_arn(self.function.name)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class WebAdapterProcess:
    """A function behind the Lambda Web Adapter, started as its bootstrap starts it: execute
    ``${LAMBDA_TASK_ROOT}/${_HANDLER}`` with the function's environment, wait until the readiness
    path answers below 500, then forward each request to the port (``AWS_LWA_PORT``) and stream the
    response back, each invocation's context in ``x-amzn-lambda-context`` as the adapter sends it.
    Locally the port is a free one, not the template's 8080.

    ``await_records``: each request first waits until the answers already sent have had their
    records written (tests want that: a repeated question then finds its cache entry). Off, as on
    AWS, a request never waits for another's records."""

    def __init__(self, function: LocalFunction, sandbox: Sandbox, overrides: dict[str, str] | None = None,
                 *, port: int, await_records: bool = False) -> None:
        self.function, self.sandbox, self.port, self.await_records = function, sandbox, port, await_records
        self.log_subscriptions: list[LogDelivery] = []  # its log group's, set before it starts
        self.extensions = ExtensionsApi(function)
        self.env = sandbox.environment(function, {**(overrides or {}), "AWS_LWA_PORT": str(port),
                                                  "AWS_LAMBDA_RUNTIME_API": self.extensions.address})
        self._process: subprocess.Popen[bytes] | None = None
        # The forwarding pool, made on the serving event loop; aiohttp's C parser, not httpx: the
        # hop cost 1.5 ms with httpx, 0.4 with aiohttp (a proxy alone, bench-sized answers).
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> WebAdapterProcess:
        executable = self.sandbox.task_root / self.function.handler
        if not executable.is_file():
            raise FunctionFailed(f"{self.function.name}: the Web Adapter runs {executable}, which does not exist "
                                 f"(Handler {self.function.handler!r} is not a path in the code asset)")
        if not os.access(executable, os.X_OK):
            raise FunctionFailed(f"{self.function.name}: {executable} is not executable")
        log = self.sandbox.log  # None: ours, where a failure to start is seen as it happens
        tapped = bool(self.log_subscriptions)  # then its output is read as its log group receives it
        self._process = subprocess.Popen([str(executable)], env=self.env, cwd=self.sandbox.task_root,
                                         stdout=subprocess.PIPE if tapped else log,
                                         stderr=subprocess.STDOUT if tapped else log,
                                         preexec_fn=child_of_runner)  # noqa: PLW1509  # see HandlerProcess
        if tapped and self._process.stdout:
            LogTap(self._process.stdout, log, self.log_subscriptions, self.function.name).start()
        readiness = self.env.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        deadline = time.monotonic() + timeout
        while not self._ready(readiness):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FunctionFailed(f"{self.function.name} did not become ready on {self.url}{readiness}"
                                     f"{_tail(log) if log else ''}")
            time.sleep(0.05)
        self.extensions.registering = False  # init is over
        return self

    def _ready(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=1) as response:
                return int(response.status) < 500
        except urllib.error.HTTPError as error:
            return error.code < 500
        except OSError:
            return False

    def stop(self) -> None:
        if self._process:
            end_process(self._process, self._process.terminate)
        self.extensions.stop()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI: forward one HTTP request to the function's server, streaming the answer; on the
        server's shutdown (lifespan), close the forwarding pool."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self._session is None:
            # Idle connections let go before uvicorn's own 5 s keep-alive ends them under a request.
            self._session = aiohttp.ClientSession(
                self.url, timeout=aiohttp.ClientTimeout(total=self.function.timeout), auto_decompress=False,
                skip_auto_headers=NOT_ADDED, connector=aiohttp.TCPConnector(keepalive_timeout=4))
        path = scope.get("raw_path") or scope["path"].encode()
        url = path.decode() + (("?" + scope["query_string"].decode()) if scope.get("query_string") else "")
        if self.await_records:
            await asyncio.to_thread(self.extensions.settled, self.function.timeout, answered_only=True)
        request_id, deadline_ms = str(uuid.uuid4()), int((time.time() + self.function.timeout) * 1000)
        context = {"request_id": request_id, "deadline": deadline_ms,
                   "invoked_function_arn": self.extensions.function_arn}
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.lower() not in NOT_FORWARDED]
        headers.append(("x-amzn-lambda-context", json.dumps(context)))
        self.extensions.invoke(request_id, deadline_ms)
        try:
            await self._respond(scope["method"], url, bytes(body), headers, send)
        finally:
            self.extensions.responded(request_id)

    async def _respond(self, method: str, url: str, body: bytes, headers: list[tuple[str, str]], send: Any) -> None:
        assert self._session is not None
        try:
            response = await self._session.request(method, url, data=body, headers=headers, allow_redirects=False)
        except (aiohttp.ClientError, TimeoutError):  # the function crashed or timed out: API Gateway's 502
            await send_json(send, 502, {"message": "Internal server error"})
            return
        async with response:
            await send({"type": "http.response.start", "status": response.status, "headers": [
                (k, v) for k, v in response.raw_headers if k.lower() not in HOP_BY_HOP]})
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._session is not None:
                    await self._session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def end_process(process: subprocess.Popen[Any], ask: Callable[[], None]) -> None:
    """Ask a process (a function's, the emulator's) to end, then make sure it has."""
    if process.poll() is None:
        ask()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


async def send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _tail(log: IO[str], chars: int = 3000) -> str:
    with contextlib.suppress(OSError, ValueError):
        log.flush()
        log.seek(0)
        return "\n" + log.read()[-chars:]
    return ""


class QueuePoller(threading.Thread):
    """The SQS event source mapping: long-poll, invoke with a real SQS event, delete what succeeded.

    With a batching window (``MaximumBatchingWindowInSeconds``), records are gathered for up to
    that long after the first arrives, or until the batch is full, before one invocation, as
    Lambda's poller does. Failed records (``batchItemFailures``, or all of them when the handler
    raises) stay on the queue and come back after ``retry_delay`` seconds; SQS's redrive policy
    moves them to the DLQ after ``maxReceiveCount`` receives, as in AWS.
    """

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, function: HandlerProcess,
                 *, batch_size: int, report_failures: bool, retry_delay: int, log: Callable[[str], None],
                 batching_window: float = 0.0) -> None:
        super().__init__(daemon=True, name=f"sqs-{function.function.name}")
        self.sqs, self.queue_url, self.queue_arn = sqs, queue_url, queue_arn
        self.function = function
        self.batch_size, self.report_failures, self.retry_delay = batch_size, report_failures, retry_delay
        self.batching_window = batching_window
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

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        return list(self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=min(count, 10), WaitTimeSeconds=wait,
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", []))

    def poll_once(self) -> None:
        messages = self._receive(self.batch_size, wait=1)
        if not messages:
            return
        # Polled four times a window, not continuously: each poll is a call to the emulator, which
        # shares this machine's two cores with the requests being served.
        window_ends, interval = time.monotonic() + self.batching_window, max(0.1, self.batching_window / 4)
        while len(messages) < self.batch_size and (left := window_ends - time.monotonic()) > 0:
            if self.stopping.wait(min(interval, left)):
                break
            messages += self._receive(self.batch_size - len(messages), wait=0)
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": self.queue_arn,
            "awsRegion": REGION} for m in messages]}
        try:
            result = self.function(event) or {}
            failed = ({f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                      if self.report_failures else set())
        except Exception as exc:
            if not self.stopping.is_set():  # else the runner is stopping the function under it
                self.log(f"{self.function.function.name} failed on a batch of {len(messages)}: {exc!r}")
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
                 authorizer: tuple[Invoke, str, int] | None = None,
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
            authorize, header, ttl = self.authorizer
            token = dict(scope["headers"]).get(header.lower().encode(), b"").decode()
            if not token:
                await self._reply(send, "UNAUTHORIZED", 401, {"message": "Unauthorized"})
                return
            arn = (f"arn:aws:execute-api:{REGION}:{ACCOUNT}:local/{self.stage}/{scope['method']}"
                   f"{scope['path']}")
            decision = await self._authorize(authorize, token, arn, ttl)
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

    async def _authorize(self, authorize: Invoke, token: str, arn: str, ttl: int) -> dict[str, Any] | None:
        with self._lock:
            cached = self._decisions.get(token)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:  # in a thread: the other requests being served do not wait for this key's lookup
            policy = await asyncio.to_thread(
                authorize, {"type": "TOKEN", "authorizationToken": token, "methodArn": arn})
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
