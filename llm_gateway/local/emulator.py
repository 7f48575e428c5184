"""moto's server, with the one guarantee of DynamoDB that the gateway's quotas rely on, a
DynamoDB ``Query`` whose cost is that of the partition it reads, as on DynamoDB, and S3 Vectors'
``QueryVectors`` (``local.s3vectors``)."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.comparisons import OpDefault
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
    """A table seen through one partition, or through a window of it: what moto's ``Table.query``
    iterates when it collects a base-table query's candidates (``all_items``)."""

    def __init__(self, table: Table, items: list[Any]) -> None:
        self._table, self._items = table, items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        return self._items


# Range-key conditions a window of the sorted keys can answer: (lower bound, upper bound) indexes.
_BOUNDS: dict[str, Callable[[list[Any], Any], tuple[int, int]]] = {
    ">=": lambda keys, x: (bisect.bisect_left(keys, x), len(keys)),
    ">": lambda keys, x: (bisect.bisect_right(keys, x), len(keys)),
    "<": lambda keys, x: (0, bisect.bisect_left(keys, x)),
    "<=": lambda keys, x: (0, bisect.bisect_right(keys, x)),
}
_BOUNDS |= {"GE": _BOUNDS[">="], "GT": _BOUNDS[">"], "LT": _BOUNDS["<"], "LE": _BOUNDS["<="]}


def _sorted_keys(table: Table, hash_key: Any) -> list[Any]:
    """The partition's range keys in order, kept up to date by the put/delete wrappers (and
    rebuilt if anything else changed the partition's size)."""
    index: dict[Any, list[Any]] = table.__dict__.setdefault("_sorted_ranges", {})
    partition: Any = table.items.get(hash_key)
    size = len(partition) if isinstance(partition, dict) else 0
    keys = index.get(hash_key)
    if keys is None or len(keys) != size:
        keys = index[hash_key] = sorted(partition) if size else []
    return keys


def partitioned_queries() -> None:
    """moto 5.2 answers a base-table ``Query`` by filtering *every item of the table* on its
    partition key, then sorting the partition: the semantic cache's lookups (and every other
    query) slowed down linearly as the local tables grew. This targets those loops: the query runs
    unchanged against a view of the table whose ``all_items`` is the partition, or, for a range
    condition with a ``Limit`` (what the cache's LSH lookups send), just the ``Limit + 1`` items a
    bisection of the partition's sorted keys finds (one more than asked, so moto still reports a
    LastEvaluatedKey when there is more). The sorted keys are maintained on put and delete. Index
    queries, filters, pages after the first and scans are left to moto. Applied once, by the
    local runner (and the benches)."""
    original, put, delete = Table.query, Table.put_item, Table.delete_item
    if getattr(original, "partitioned", False):
        return

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")  # moto passes it 8th
        if index_name or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        comparison, bounds, limit, start = args[0], args[1], args[2], args[3]
        forward, flt = args[4], (args[8] if len(args) > 8 else kwargs.get("filter_expression"))
        filtered = flt is not None and not isinstance(flt, OpDefault)  # OpDefault: no FilterExpression
        if comparison in _BOUNDS and limit and not start and not filtered and len(bounds) == 1:
            keys = _sorted_keys(self, hash_key)
            lo, hi = _BOUNDS[comparison](keys, bounds[0])
            window = keys[lo:min(hi, lo + limit + 1)] if forward is not False else keys[max(lo, hi - limit - 1):hi]
            partition: Any = self.items[hash_key]
            view = _Partition(self, [partition[k] for k in window])
        else:
            partition = self.items.get(hash_key)
            view = _Partition(self, list(partition.values()) if isinstance(partition, dict) else [])
        return original(view, hash_key, *args, **kwargs)  # type: ignore[arg-type]

    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = put(self, item_attrs, *args, **kwargs)
        keys = self.__dict__.get("_sorted_ranges", {}).get(item.hash_key)
        if keys is not None and item.range_key is not None:
            at = bisect.bisect_left(keys, item.range_key)
            if at == len(keys) or keys[at] != item.range_key:
                keys.insert(at, item.range_key)
        return item

    def delete_item(self: Table, hash_key: Any, range_key: Any = None) -> Any:
        item = delete(self, hash_key, range_key)
        keys = self.__dict__.get("_sorted_ranges", {}).get(hash_key)
        if keys is not None and range_key is not None:
            at = bisect.bisect_left(keys, range_key)
            if at < len(keys) and keys[at] == range_key:
                del keys[at]
        return item

    query.partitioned = True  # type: ignore[attr-defined]
    Table.query, Table.put_item, Table.delete_item = query, put_item, delete_item  # type: ignore[method-assign]


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
