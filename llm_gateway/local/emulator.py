"""moto's server, with the one guarantee of DynamoDB that the gateway's quotas rely on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import MotoRequestHandler, ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def atomic_dynamodb(app: WSGIApp) -> WSGIApp:
    """DynamoDB applies each (conditional) write atomically; moto's handlers do not lock, so
    concurrent UpdateItems could both pass one condition. Serialize DynamoDB calls, and only those
    (SQS long polls must not hold anything up)."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serialized


class Emulator(ThreadedMotoServer):
    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)

    def _server_entry(self) -> None:
        app = atomic_dynamodb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
