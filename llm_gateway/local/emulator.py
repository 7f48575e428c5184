"""moto's server, with the one guarantee of DynamoDB that the gateway's quotas rely on, a
DynamoDB ``Query`` whose cost is that of the partition it reads, as on DynamoDB, and S3 Vectors'
``QueryVectors`` (``local.s3vectors``)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.models.table import Table
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from llm_gateway.local.s3vectors import vector_queries

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
# SigV4 signing name -> moto backend, for the services the gateway uses.
SIGNED_SERVICES = {"dynamodb": "dynamodb", "sqs": "sqs", "events": "events", "secretsmanager": "secretsmanager",
                   "monitoring": "cloudwatch", "s3vectors": "s3vectors"}
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


class _Partition:
    """A table seen through one partition: what moto's ``Table.query`` iterates when it collects a
    base-table query's candidates (``all_items``) is that partition, not every item of the table."""

    def __init__(self, table: Table, hash_key: Any) -> None:
        self._table, self._hash_key = table, hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        partition = self._table.items.get(self._hash_key)
        return list(partition.values()) if isinstance(partition, dict) else []


def partitioned_queries() -> None:
    """moto 5.2 answers a base-table ``Query`` by filtering *every item of the table* on its
    partition key, so the semantic cache's lookups (and every other query) slowed down linearly as
    the local tables grew. This targets that one loop: the query runs unchanged against a view of
    the table whose ``all_items`` is the partition (moto keeps items in a dict by partition key).
    Index queries and scans are left to moto. Applied once, by the local runner."""
    original = Table.query
    if getattr(original, "partitioned", False):
        return

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")  # moto passes it 8th
        if index_name or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        return original(_Partition(self, hash_key), hash_key, *args, **kwargs)  # type: ignore[arg-type]

    query.partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


class Emulator(ThreadedMotoServer):
    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        partitioned_queries()
        vector_queries()

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
