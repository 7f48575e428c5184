"""Answering before the records are written (issue 12): the gateway function's internal extension
holds each Lambda invocation open until the answer's records are written, against the local
emulation of Lambda's Extensions API (the one the runner gives the deployed artifact)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from llm_gateway.core.background import AfterResponse, Background, others_in_flight
from llm_gateway.lambdas.after_response import ExtensionsClient, hold_invocations
from llm_gateway.local import LocalGateway
from llm_gateway.local.cloudformation import LocalFunction
from llm_gateway.local.lambda_emulation import ExtensionsApi

FUNCTION = LocalFunction("Gateway", "gateway-fn", "llm_gateway/lambdas/run.sh", {}, 30, 512)


def answer_then_record(background: Background, release: threading.Event, recorded: list[str]) -> Any:
    """An app like the gateway's: it answers at once and writes its record in the background."""

    def record() -> None:
        release.wait(10)
        recorded.append("record")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        background.run([record])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"answer"})

    return app


def invoke(api: ExtensionsApi, app: Any, request_id: str) -> None:
    """What the Web Adapter does for one invocation: the INVOKE event, then the request."""
    api.invoke(request_id, int((time.time() + 30) * 1000))
    context = json.dumps({"request_id": request_id}).encode()
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"x-amzn-lambda-context", context)]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))
    api.responded(request_id)


def test_an_invocation_stays_open_until_its_records_are_written() -> None:
    api, background, release = ExtensionsApi(FUNCTION), Background(), threading.Event()
    recorded: list[str] = []
    background.detached = False  # as in Lambda until the extension registers
    try:
        app = hold_invocations(answer_then_record(background, release, recorded), background, api.address)
        assert api.registered == 1 and background.detached
        invoke(api, app, "req-1")  # the response is complete while the record is still being written
        assert recorded == [] and not api.settled(timeout=0.3)
        release.set()
        assert api.settled(timeout=10) and recorded == ["record"]
        release.clear()
        invoke(api, app, "req-2")  # and so on for the next invocation
        assert not api.settled(timeout=0.3)
        release.set()
        assert api.settled(timeout=10) and recorded == ["record", "record"]
    finally:
        release.set()
        api.stop()


def test_without_the_extension_the_records_are_written_before_the_response() -> None:
    api, background, release = ExtensionsApi(FUNCTION), Background(), threading.Event()
    background.detached = False
    api.registering = False  # init is over: Lambda refuses a late registration
    try:
        app = answer_then_record(background, release, [])
        assert hold_invocations(app, background, api.address) is app and not background.detached
        threading.Timer(0.2, release.set).start()
        background.run([lambda: release.wait(10)])
        assert release.is_set()  # run() returned only once the work had finished
    finally:
        api.stop()


def serve(app: Any) -> list[bytes]:
    """One request to an ASGI app: the bodies it sent."""
    bodies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        bodies.append(message.get("body", b""))

    asyncio.run(app({"type": "http", "method": "POST", "path": "/", "headers": []}, receive, send))
    return bodies


def test_a_requests_records_start_once_its_last_byte_is_sent() -> None:
    """Started at once, the records' AWS calls took the interpreter lock from the response. The
    request counts as in flight until then, and its records see no other beside them (so their
    writes wait for none: ``GroupCommit``)."""
    background, seen, flying = Background(), list[list[bytes]](), list[bool]()
    background.detached = True
    bodies: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        flying.append(others_in_flight())
        background.run([lambda: seen.append(list(bodies)), lambda: flying.append(others_in_flight())])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"an", "more_body": True})
        await asyncio.sleep(0.2)  # time enough for a record started already to have run
        await send({"type": "http.response.body", "body": b"swer"})

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def sending(message: dict[str, Any]) -> None:
            bodies.append(message.get("body", b""))
            await send(message)
        await AfterResponse(app)(scope, receive, sending)

    serve(recording)
    assert background.wait(10) and seen == [[b"", b"an", b"swer"]]
    assert flying == [True, False]


def test_a_request_that_fails_before_responding_still_writes_its_records() -> None:
    background, ran = Background(), threading.Event()
    background.detached = True

    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        background.run([ran.set])
        raise RuntimeError("the door failed")

    with pytest.raises(RuntimeError):
        serve(AfterResponse(failing))
    assert background.wait(10) and ran.is_set() and not others_in_flight()


def test_the_deployed_function_registers_its_extension_and_settles(gateway: LocalGateway) -> None:
    assert gateway.dev_key and gateway.extensions is not None
    assert gateway.extensions.registered == 1  # registered during the function's init
    auth = {"Authorization": f"Bearer {gateway.dev_key}"}
    question = {"question": "How do I append to a python list in place?"}
    first = httpx.post(f"{gateway.url}/ask", json=question, headers=auth, timeout=30).json()
    assert gateway.settled(timeout=30)  # every invocation complete: its records are written
    again = httpx.post(f"{gateway.url}/ask", json=question, headers=auth, timeout=30).json()
    assert first["cache_hit"] is False and again["cache_hit"] is True


def test_the_extension_keeps_its_connection_and_reconnects_when_the_api_drops_it() -> None:
    """One connection for every event; if the API side ends it without a word (an idle timeout),
    the next call finds it closed and goes again on a new one."""
    ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            body = json.dumps({"n": len(ports)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = len(ports) == 2  # closed after the second answer, unannounced

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ExtensionsClient(f"127.0.0.1:{server.server_address[1]}")
        answers = [client.call("event/next", headers={})[0]["n"] for _ in range(4)]
        assert answers == [1, 2, 3, 4]
        assert ports[0] == ports[1] != ports[2] == ports[3]  # kept alive, then one new connection
    finally:
        server.shutdown()
        server.server_close()
