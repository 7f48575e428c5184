"""moto's server, with the one guarantee of DynamoDB that the gateway's quotas rely on."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
# SigV4 signing name -> moto backend, for the services the gateway uses.
SIGNED_SERVICES = {"dynamodb": "dynamodb", "sqs": "sqs", "events": "events", "secretsmanager": "secretsmanager",
                   "monitoring": "cloudwatch"}
READS = (".GetItem", ".BatchGetItem", ".Query", ".Scan", ".DescribeTable", ".ListTables")
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher works the service out by scanning every backend's URL patterns for each
    request (milliseconds); the signature's credential scope names it directly."""

    def get_application(self, environ: dict[str, Any]) -> Any:
        match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        backend = SIGNED_SERVICES.get(match.group(1)) if match else None
        if backend is None or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return super().get_application(environ)
        with self.lock:
            if backend not in self.app_instances:
                self.app_instances[backend] = self.create_app(backend)  # type: ignore[arg-type]
            return self.app_instances[backend]


def atomic_dynamodb(app: WSGIApp) -> WSGIApp:
    """DynamoDB applies each (conditional) write atomically; moto's handlers do not lock, so
    concurrent UpdateItems could both pass one condition. Serialize DynamoDB writes, and only those
    (reads and SQS long polls must not queue behind them)."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "")
        if not operation.startswith("DynamoDB_") or operation.endswith(READS):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serialized


class Emulator(ThreadedMotoServer):
    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)

    def _server_entry(self) -> None:
        app = atomic_dynamodb(Dispatcher(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
