"""moto's server, with the one guarantee of DynamoDB that the gateway's quotas rely on, a
DynamoDB ``Query`` whose cost is that of the partition it reads, as on DynamoDB, and S3 Vectors'
``QueryVectors`` (``local.s3vectors``).

More targeted patches: a transaction that backs up the items it writes rather than every table
it touches (``item_undo_transactions``), an item's size summed once (``items_sized_once``),
counter updates applied directly (``local.counter_updates``), work moto repeats on every call done once
(``per_call_work_once``), SQS calls whose cost no longer grows with the backlog
(``cheap_queue_scans``), S3 Vectors' queries and puts served from their JSON bodies
(``DirectVectorCalls``); served by a lean HTTP/1.1 server that keeps connections alive
(``wsgi_server``), in place of werkzeug's development server.

It runs in a process of its own (``EmulatorProcess``; ``python -m llm_gateway.local.emulator``), so
moto's request handling never competes with the gateway's own code for one interpreter lock, and
keeps connections alive (HTTP/1.1), as AWS's endpoints do. ``GET /_local/calls`` lists the calls
it served (operation, start and end times, bytes), for the benches' round-trip and cost counts.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import copy
import functools
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from moto.dynamodb.comparisons import OpDefault
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from llm_gateway.local import iam_audit
from llm_gateway.local.cloudformation import ACCOUNT, REGION
from llm_gateway.local.counter_updates import direct_counter_updates
from llm_gateway.local.lambda_emulation import child_of_runner, end_process
from llm_gateway.local.s3vectors import DIRECT_OPERATIONS, direct_call, vector_queries
from llm_gateway.local.wsgi_server import WSGIServer

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
                app = self.create_app(backend)  # type: ignore[arg-type]
                # moto makes its apps Flask debug apps, whose every request's form data gets a debug
                # wrapper (2.6% of the emulator's time); errors still reach the server as in debug mode.
                app.debug, app.config["PROPAGATE_EXCEPTIONS"] = False, True
                self.app_instances[backend] = app
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


# DynamoDB's item operations, whose results are already DynamoDB JSON but for binary values.
ITEM_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem",
                             "BatchWriteItem"})


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"no DynamoDB JSON for {type(value).__name__}")


def direct_item_responses() -> None:
    """moto 5.2 writes every response by walking botocore's shape model, value by value: about half
    of a local ``Query``'s time (3 of 6.5 ms). An item operation's result is already DynamoDB JSON
    (binary values aside, which go out base64-encoded, as the shape walk does): write it with
    ``json.dumps``. Other operations and errors are left to moto. tests/test_emulator.py checks
    both writers give the same answers."""
    original = DynamoResult.execute_result
    if getattr(original, "direct", False):
        return

    def execute_result(self: DynamoResult, context: Any) -> Any:
        if context.operation_model.name not in ITEM_OPERATIONS or isinstance(self.result, Exception):
            return original(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(self.result, default=_wire)

    execute_result.direct, execute_result.moto = True, original  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign,assignment]


def operation_of(environ: dict[str, Any]) -> str:
    """``service.Operation`` of a request: the JSON protocols' target header, else the signing
    service and the REST path's first segment (S3 Vectors), else the query protocol's action."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        service, _, name = target.rpartition(".")
        return f"{service.split('_')[0]}.{name}"
    match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else "?"
    return f"{service}.{environ.get('PATH_INFO', '/').strip('/').split('/')[0] or '?'}"


WRITES = {"DynamoDB.PutItem", "DynamoDB.UpdateItem", "DynamoDB.DeleteItem", "DynamoDB.BatchWriteItem",
          "DynamoDB.TransactWriteItems"}


def _item_bytes(value: Any) -> int:
    """An item's size as DynamoDB counts it, near enough: attribute names and values, in bytes."""
    if isinstance(value, dict):
        return sum(len(str(k).encode()) + _item_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(map(_item_bytes, value))
    return len(str(value).encode())


def write_units(operation: str, request: bytes) -> int:
    """The write request units a DynamoDB write consumes: one per KB of each item written (an
    update's: what it writes), twice that inside a transaction."""
    try:
        body = json.loads(request or b"{}")
    except ValueError:
        return 0

    def units(item: Any) -> int:
        return max(1, -(-_item_bytes(item) // 1024))

    if operation == "DynamoDB.TransactWriteItems":
        return 2 * sum(units(next(iter(entry.values())).get("Item") or next(iter(entry.values())))
                       for entry in body.get("TransactItems", []))
    if operation == "DynamoDB.BatchWriteItem":
        return sum(units((entry.get("PutRequest") or {}).get("Item") or entry.get("DeleteRequest"))
                   for entries in body.get("RequestItems", {}).values() for entry in entries)
    return units(body.get("Item") or body)


PUT_EVENTS = "AWSEvents.PutEvents"


def event_units(request: bytes) -> int:
    """The events an EventBridge ``PutEvents`` is billed for: each entry's 64 KB chunks, its size
    its time (14 bytes if given), source, detail type, detail and resources, in UTF-8."""
    try:
        entries = json.loads(request or b"{}").get("Entries", [])
    except (ValueError, AttributeError):
        return 0

    def size(entry: dict[str, Any]) -> int:
        texts = [entry.get(name, "") for name in ("Source", "DetailType", "Detail")] + entry.get("Resources", [])
        return 14 * ("Time" in entry) + sum(len(str(text).encode()) for text in texts)

    return sum(max(1, -(-size(entry) // (64 * 1024))) for entry in entries)


def billed_units(operation: str, request: bytes) -> int:
    """What a call is billed by where that is not the call itself: a DynamoDB write's write units,
    an EventBridge ``PutEvents``' events; 0 for any other."""
    if operation in WRITES:
        return write_units(operation, request)
    return event_units(request) if operation == PUT_EVENTS else 0


class DirectVectorCalls:
    """S3 Vectors' ``QueryVectors`` and ``PutVectors`` served without moto's request and response
    machinery where they can be (``local.s3vectors.direct_call``); every other call, and any one
    it cannot serve, goes to moto."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        service, _, operation = operation_of(environ).partition(".")
        if service == "s3vectors" and operation in DIRECT_OPERATIONS:
            request = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(request)
            answer = direct_call(operation, request)
            if answer is not None:
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
                return [answer]
        return self._app(environ, start_response)


class CallLedger:
    """Every AWS call served: its start and end (wall clock, comparable across processes), the
    bytes of its request and response, and a DynamoDB write's request units (what prices count).
    Auditing (``iam_audit.AUDIT_ENV``), also each (caller's access key, IAM action, resource) seen,
    kept apart from the calls (clearing them leaves it)."""

    def __init__(self, app: WSGIApp, *, audit: bool = False) -> None:
        self._app, self._lock, self._audit = app, threading.Lock(), audit
        # The newest calls only: a long `make dev` session must not grow without bound.
        self.calls: deque[tuple[str, float, float, int, int, int]] = deque(maxlen=100_000)
        self.audited: set[tuple[str, str, str]] = set()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ("/_local/calls", "/_local/iam"):
            with self._lock:
                listed: list[Any] = sorted(self.audited) if environ["PATH_INFO"] == "/_local/iam" else [
                    {"operation": o, "start": a, "end": b, "sent": sent, "received": received,
                     **({"units": units} if units else {})}
                    for o, a, b, sent, received, units in self.calls]
                if environ["REQUEST_METHOD"] == "DELETE":
                    self.calls.clear()
            listing = json.dumps(listed).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(listing)))])
            return [listing]
        started, operation = time.time(), operation_of(environ)
        units = 0
        if operation in WRITES or operation == PUT_EVENTS or self._audit:  # read here, handed on unchanged
            request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(request)
            units = billed_units(operation, request)
            if self._audit:
                caller = iam_audit.caller_of(environ)
                needed = {(caller, *need) for need in iam_audit.needs(operation, request, REGION, ACCOUNT)}
                with self._lock:
                    self.audited |= needed
        body = list(self._app(environ, start_response))
        with self._lock:
            self.calls.append((operation, started, time.time(), int(environ.get("CONTENT_LENGTH") or 0),
                               sum(map(len, body)), units))
        return body


class _TablesKept:
    """``copy`` as moto's DynamoDB backend sees it: a Table is "copied" as itself (the transaction
    keeps its own undo log instead); anything else is deep-copied as before."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def item_undo_transactions() -> None:
    """moto 5.2 backs up a ``TransactWriteItems`` by deep-copying each table it touches, once per
    item: the usage ledger's five-item transaction got slower with every record the table held.
    Here the transaction saves only the items it is about to write and puts them back if it is
    cancelled; DynamoDB writes are serialized (``atomic_dynamodb``), so nothing else sees between."""
    from moto.dynamodb import models

    backend_class = models.DynamoDBBackend
    original = backend_class.transact_write_items
    if getattr(original, "undoes_items", False):
        return
    models.copy = _TablesKept  # type: ignore[attr-defined,assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], Any]] = []
        for entry in transact_items[:100]:
            operation, request = next(iter(entry.items()))
            if request.get("TableName") not in self.tables or operation == "ConditionCheck":
                continue
            table = self.tables[request["TableName"]]
            key = request.get("Key") or {name: request.get("Item", {}).get(name)
                                         for name in (table.hash_key_attr, table.range_key_attr) if name}
            with contextlib.suppress(Exception):  # a malformed key: moto's own validation answers it
                item = self.get_item(table.name, key)
                saved.append((table.name, key, item and copy.deepcopy(item.to_json()["Attributes"])))
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(saved):
                if attributes is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise

    transact_write_items.undoes_items = True  # type: ignore[attr-defined]
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]


def items_sized_once() -> None:
    """moto 5.2 checks DynamoDB's 400 KB item limit as it builds an item, attribute by attribute,
    by summing the sizes of every attribute already set, each time: quadratic in the attributes,
    three quarters of a put of the cache's twelve-attribute entries (0.18 ms each). Here an item
    is built and its size summed once; the limit, the sizes counted and the error are moto's (the
    last of its running sums is the whole item's, so it refuses exactly what moto refuses)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    original = Item.__init__
    if getattr(original, "motos", None):
        return

    def __init__(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
        self.hash_key, self.range_key = hash_key, range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, converted)  # LimitedSizeDict's own update adds no check either

    __init__.motos = original  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


ITEM_SIZE_LIMIT = 405_000  # moto's: "the actual limit is between 409 and 410KB"


def per_call_work_once() -> None:
    """Things moto 5.2 redoes on every call though their answer never changes: listing a response
    class's methods by introspection (each call), building a JSONPath parser (ply reads its
    tables) for each input path of an EventBridge target's input transformer (each event), and
    turning names from camel case to snake case with regular expressions (an action's name each
    call; every queue attribute's name each SQS send, 7% of the emulator's time on the pass-through
    path). All are memoized; the names are a bounded set. And no CORS headers: no browser calls the
    emulator, and flask-cors's work on every response was 4% of its time."""
    import jsonpath_ng.ext
    import moto.core.responses
    import moto.moto_server.werkzeug_app
    import moto.sqs.models

    memoized = ((moto.core.responses, "method_names_from_class"), (jsonpath_ng.ext, "parse"),
                (moto.core.responses, "camelcase_to_underscores"), (moto.sqs.models, "camelcase_to_underscores"))
    for module, name in memoized:
        setattr(module, name, functools.lru_cache(maxsize=4096)(getattr(module, name)))
    setattr(moto.moto_server.werkzeug_app, "DISABLE_GLOBAL_CORS", True)  # noqa: B010  # read by create_backend_app


class _RecentlyDeleted:
    """The receipt handles of a queue's latest deleted messages, so that deleting one again
    succeeds, as on SQS. moto keeps every handle ever deleted: a long `make dev` session grew
    by two handles a request, without end."""

    def __init__(self, size: int = 10_000) -> None:
        self._order: deque[str] = deque()
        self._handles: set[str] = set()
        self._size = size

    def __contains__(self, handle: object) -> bool:
        return handle in self._handles

    def add(self, handles: Iterable[str]) -> None:
        for handle in handles:
            self._order.append(handle)
            self._handles.add(handle)
        while len(self._order) > self._size:
            self._handles.discard(self._order.popleft())


def cheap_queue_scans() -> None:
    """moto 5.2's SQS walks a queue's messages on every call, several times, and asks the clock
    for each message it looks at through datetime arithmetic (about 10 µs a message): a send
    computes every queue attribute to read one (three counts over the messages), a receive does
    the same for each message it returns (to read the retention period), a delete scans twice. So
    every call slowed down with the backlog: with 1,000 messages queued a send took 34 ms and a
    receive of ten 0.9 s, and a backlog, once formed under load, fed itself. Here moto's SQS reads
    the clock as ``time.time()`` (the same epoch seconds), once a scan; the retention check reads
    the queue's setting, and a delete finds its message in one pass: the scans left cost a tenth
    of a microsecond a message. A delete also remembers only the latest handles (``_RecentlyDeleted``)."""
    import moto.sqs.models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    models: Any = moto.sqs.models  # its clock functions are imported names, not exports
    if getattr(models.unix_time, "cheap", False):
        return
    exact_seconds, exact_millis = models.unix_time, models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(exact_seconds(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(exact_millis(dt))

    def retained(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > time.time())

    def delete_message(self: Any, receipt_handle: str) -> None:
        deleted = self.__dict__.setdefault("recently_deleted", _RecentlyDeleted())
        if receipt_handle in deleted:
            return  # already deleted: SQS accepts it again
        messages = self._messages
        for at, message in enumerate(messages):
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                self._messages = messages[:at] + messages[at + 1:]  # a new list, as moto swaps it in
                self.pending_messages.discard(message)
                deleted.add(message.all_receipt_handles)
                return
        raise ReceiptHandleIsInvalid()

    def ready(now: float, message: Any) -> bool:  # moto's Message.visible and not Message.delayed
        return bool(now > message.visible_at and not now < message.delayed_until)

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if ready(now, m)]

    def counted(test: Callable[[float, Any], bool]) -> property:
        def count(self: Any) -> int:
            now = unix_time_millis()
            return sum(1 for m in self._messages if test(now, m))
        return property(count)

    unix_time.cheap = True  # type: ignore[attr-defined]
    queue = models.Queue
    queue.messages = property(messages)
    queue.approximate_number_of_messages = counted(ready)
    queue.approximate_number_of_messages_delayed = counted(lambda now, m: bool(now < m.delayed_until))
    queue.approximate_number_of_messages_not_visible = counted(lambda now, m: not now > m.visible_at)
    queue.delete_message = delete_message
    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = retained


def serve(host: str = "127.0.0.1", port: int = 0) -> Any:
    """moto's apps with the patches above, served by ``wsgi_server`` (a thread per connection,
    kept alive)."""
    partitioned_queries()
    direct_item_responses()
    vector_queries()
    item_undo_transactions()
    items_sized_once()
    direct_counter_updates()
    per_call_work_once()
    cheap_queue_scans()
    app = CallLedger(atomic_dynamodb(DirectVectorCalls(Dispatcher(create_backend_app))),
                     audit=os.environ.get(iam_audit.AUDIT_ENV) == "1")
    return WSGIServer((host, port), app)


class EmulatorProcess:
    """The emulator in a process of its own, ended with its parent."""

    def __init__(self, host: str = "127.0.0.1", *, audit_iam: bool = False) -> None:
        self.host, self.endpoint, self.audit_iam = host, "", audit_iam
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from llm_gateway.local.emulator import main; main()", "--host", self.host],
            # One BLAS thread for QueryVectors' product over an index: a second one spins against the
            # gateway's processes on a small machine (the 1e4-entry row read 1.28x the 1e3 one with two).
            env={**os.environ, iam_audit.AUDIT_ENV: "1" if self.audit_iam else "", "OPENBLAS_NUM_THREADS": "1"},
            stdout=subprocess.PIPE, text=True, preexec_fn=child_of_runner)  # noqa: PLW1509  # see HandlerProcess
        assert self._process.stdout is not None
        ready = threading.Timer(timeout, self._process.kill)
        ready.start()
        line = self._process.stdout.readline().strip()  # "ready http://host:port", or EOF if it died
        ready.cancel()
        if not line.startswith("ready "):
            raise RuntimeError("the AWS emulator did not start")
        self.endpoint = line.removeprefix("ready ")
        return self

    def calls(self, *, clear: bool = False) -> list[dict[str, Any]]:
        """The calls served so far (and forget them, with ``clear``)."""
        request = urllib.request.Request(f"{self.endpoint}/_local/calls", method="DELETE" if clear else "GET")
        with urllib.request.urlopen(request) as response:
            return list(json.load(response))

    def audited(self) -> list[tuple[str, str, str]]:
        """Each (caller's access key, IAM action, resource) served so far (``audit_iam``)."""
        with urllib.request.urlopen(f"{self.endpoint}/_local/iam") as response:
            return [(caller, action, resource) for caller, action, resource in json.load(response)]

    def stop(self) -> None:
        if self._process:
            end_process(self._process, self._process.terminate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = serve(args.host, args.port)
    print(f"ready http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
