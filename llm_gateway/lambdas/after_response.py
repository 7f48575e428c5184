"""An internal Lambda extension that keeps each invocation alive until its answer's records are
written, so the response never waits for them.

Lambda freezes the environment once the response is sent and every extension has asked for its
next event; until then the process runs (and is billed). This extension registers for INVOKE
events during init; on each one it waits until the app has finished that request (the Web Adapter
forwards its id in ``x-amzn-lambda-context``) and the pipeline's background work is done, then asks
for the next. See https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html.

If registration fails, nothing is detached: the pipeline awaits its records before responding.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

from llm_gateway.core.background import Background

NAME = "llm-gateway-after-response"
EXTENSIONS_API = "2020-01-01/extension"
ARRIVAL_SECONDS = 10.0  # an INVOKE whose request never reaches the app (the adapter failed) is let go
MARGIN_SECONDS = 0.5  # ask for the next event before the invocation's deadline, whatever is left

log = logging.getLogger(__name__)


class Invocations:
    """ASGI middleware: which Lambda invocations the app has begun and finished serving."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._seen: OrderedDict[str, bool] = OrderedDict()  # request id -> finished; the newest few
        self._changed = threading.Condition()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = _request_id(scope) if scope["type"] == "http" else None
        if not request_id:
            await self.app(scope, receive, send)
            return
        self._mark(request_id, finished=False)
        try:
            await self.app(scope, receive, send)
        finally:
            self._mark(request_id, finished=True)

    def _mark(self, request_id: str, *, finished: bool) -> None:
        with self._changed:
            self._seen[request_id] = finished
            while len(self._seen) > 256:
                self._seen.popitem(last=False)
            self._changed.notify_all()

    def wait_finished(self, request_id: str, deadline: float) -> None:
        """Until the app has served ``request_id`` (or it never arrived, or the deadline passed)."""
        arrival = min(deadline, time.monotonic() + ARRIVAL_SECONDS)
        with self._changed:
            if self._changed.wait_for(lambda: request_id in self._seen, max(0.0, arrival - time.monotonic())):
                self._changed.wait_for(lambda: self._seen.get(request_id, True),
                                       max(0.0, deadline - time.monotonic()))


def _request_id(scope: dict[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-amzn-lambda-context":
            try:
                return str(json.loads(value)["request_id"])
            except (ValueError, KeyError, TypeError):
                return None
    return None


class ExtensionsClient:
    """The Lambda service's loopback Extensions API, over one kept-alive connection (a new one per
    event cost a connect, and a server thread, per invocation). One thread uses it at a time."""

    def __init__(self, runtime_api: str) -> None:
        self._host, _, port = runtime_api.rpartition(":")
        self._port = int(port)
        self._connection: http.client.HTTPConnection | None = None

    def call(self, path: str, *, body: bytes | None = None,
             headers: dict[str, str]) -> tuple[dict[str, Any], http.client.HTTPMessage]:
        """JSON from ``POST`` (with a body) or ``GET`` of ``path``; an ``OSError`` if it failed."""
        for attempt in (1, 2):  # a kept-alive connection found closed is retried once on a new one
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port)
            try:
                self._connection.request("POST" if body is not None else "GET", f"/{EXTENSIONS_API}/{path}",
                                         body=body, headers=headers)
                response = self._connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise OSError(f"{path}: {exc!r}") from exc
                continue
            if response.status >= 400:
                raise OSError(f"{path}: HTTP {response.status} {payload[:200]!r}")
            return json.loads(payload or b"{}"), response.headers
        raise AssertionError("unreachable")


def hold_invocations(app: Any, background: Background, runtime_api: str | None = None) -> Any:
    """Register the extension (during init, as Lambda requires) and return the app wrapped to track
    invocations. Without the Extensions API (not in Lambda) or if registration fails, ``app`` is
    returned as it is."""
    runtime_api = runtime_api or os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not runtime_api:
        return app
    api = ExtensionsClient(runtime_api)
    try:
        _, headers = api.call("register", body=json.dumps({"events": ["INVOKE"]}).encode(),
                              headers={"Lambda-Extension-Name": NAME, "Content-Type": "application/json"})
        identifier = headers["Lambda-Extension-Identifier"]
    except (OSError, KeyError, ValueError) as exc:
        log.warning("the after-response extension did not register; records are written before responding",
                    extra={"error": repr(exc)})
        return app
    invocations = Invocations(app)

    def serve() -> None:
        while True:
            try:
                event, _ = api.call("event/next", headers={"Lambda-Extension-Identifier": identifier})
            except OSError as exc:  # the environment is going away, or a transient hiccup
                log.warning("the after-response extension could not get its next event", extra={"error": repr(exc)})
                time.sleep(0.1)
                continue
            if event.get("eventType") != "INVOKE":
                continue
            # The invocation's deadline, on our monotonic clock.
            deadline = time.monotonic() + float(event["deadlineMs"]) / 1000 - time.time() - MARGIN_SECONDS
            invocations.wait_finished(str(event["requestId"]), deadline)
            background.wait(max(0.0, deadline - time.monotonic()))

    threading.Thread(target=serve, name=NAME, daemon=True).start()
    background.detached = True
    return invocations
