"""moto's S3 Vectors, completed with what the gateway calls and moto 5.2 lacks: ``QueryVectors``
(nearest neighbours with metadata filters), non-filterable metadata keys, and ``CreateIndex``
refusing an index that exists (moto would replace it, vectors and all). Applied once by
``vector_queries()``, before moto builds its URL maps (the local runner and the tests do).

Queries are exact (every vector of the index is compared): the emulator stands in for S3 Vectors'
approximate search, so local recall is an upper bound of the deployed one.
"""

from __future__ import annotations

import array
import json
import math
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.s3vectors import urls
from moto.s3vectors.exceptions import ValidationError
from moto.s3vectors.models import Index, S3VectorsBackend
from moto.s3vectors.responses import S3VectorsResponse

MAX_TOP_K = 100
_WRITES = threading.Lock()  # a write and a query never interleave
Filter = dict[str, Any]
ORDER = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


class IndexExists(ServiceException):
    code = "ConflictException"

    def __init__(self) -> None:
        super().__init__("An index with the specified name already exists")


def _compare(op: str, value: Any, arg: Any) -> bool:
    values = value if isinstance(value, list) else [value]  # a list value matches if any element does
    if op == "$eq":
        return bool(arg in values)
    if op == "$ne":
        return arg not in values
    if op == "$in":
        return any(v in arg for v in values)
    if op == "$nin":
        return not any(v in arg for v in values)
    if op in ORDER:
        if isinstance(arg, bool) or not isinstance(arg, (int, float)):
            raise ValidationError(f"Invalid query filter: {op} takes a number")
        return not isinstance(value, bool) and isinstance(value, (int, float)) and ORDER[op](value, arg)
    raise ValidationError(f"Invalid query filter: unknown operator {op}")


def matches(metadata: dict[str, Any], flt: Filter, unfilterable: frozenset[str] = frozenset()) -> bool:
    """S3 Vectors' filter language: ``$and``/``$or`` of per-key conditions, a bare value meaning
    ``$eq``; ``$exists`` tests presence; a missing key fails every other condition."""
    for key, condition in flt.items():
        if key == "$and":
            ok = all(matches(metadata, part, unfilterable) for part in condition)
        elif key == "$or":
            ok = any(matches(metadata, part, unfilterable) for part in condition)
        else:
            if key in unfilterable:
                raise ValidationError(f"Invalid query filter: metadata key {key} is not filterable")
            conditions = condition if isinstance(condition, dict) else {"$eq": condition}
            ok = all((key in metadata) == arg if op == "$exists" else
                     key in metadata and _compare(op, metadata[key], arg) for op, arg in conditions.items())
        if not ok:
            return False
    return True


class _Rows:
    """An index's vectors as a NumPy matrix kept in step with its writes: a put fills or appends a
    row (the matrix doubles when full), a delete moves the last row into the gap. So a query costs
    one matrix product, never a rebuild from the index's lists after each write."""

    def __init__(self, np: Any, dimension: int) -> None:
        self.np, self.keys, self.at = np, list[str](), dict[str, int]()
        self.matrix = np.zeros((16, dimension), np.float32)
        self.norms = np.zeros(16, np.float32)  # each row's length, kept with it: a query reads the matrix once

    def put(self, key: str, data: Sequence[float]) -> None:
        row = self.at.get(key)
        if row is None:
            row = self.at[key] = len(self.keys)
            self.keys.append(key)
            if row == len(self.matrix):
                self.matrix = self.np.concatenate([self.matrix, self.np.zeros_like(self.matrix)])
                self.norms = self.np.concatenate([self.norms, self.np.zeros_like(self.norms)])
        self.matrix[row] = data
        self.norms[row] = self.np.linalg.norm(self.matrix[row])

    def delete(self, key: str) -> None:
        row = self.at.pop(key, None)
        if row is None:
            return
        last = len(self.keys) - 1
        if row != last:
            moved = self.keys[row] = self.keys[last]
            self.matrix[row], self.norms[row], self.at[moved] = self.matrix[last], self.norms[last], row
        self.keys.pop()


def _rows(index: Index) -> _Rows | None:
    """The index's matrix (built on first use), or None without NumPy (the local extra has it)."""
    rows: _Rows | None = getattr(index, "rows", None)
    if rows is None:
        try:
            import numpy as np
        except ImportError:
            return None
        rows = _Rows(np, index.dimension)
        for key, vector in index.vectors.items():
            rows.put(key, vector.data["float32"])
        index.rows = rows  # type: ignore[attr-defined]
    return rows


def _distances(index: Index, query: list[float]) -> Iterable[tuple[float, str]]:
    """(distance, key) for every vector of the index, nearest first."""
    cosine = index.distance_metric == "cosine"
    with _WRITES:
        rows = _rows(index)
        if rows is None:
            def distance(row: list[float]) -> float:
                if cosine:
                    norm = math.sqrt(sum(x * x for x in row)) * math.sqrt(sum(q * q for q in query))
                    return 1.0 - (sum(x * q for x, q in zip(row, query, strict=True)) / norm if norm else 0.0)
                return math.dist(row, query)
            return sorted((distance(v.data["float32"]), key) for key, v in index.vectors.items())
        np, keys, matrix = rows.np, list(rows.keys), rows.matrix[:len(rows.keys)]
        q = np.asarray(query, np.float32)
        if cosine:
            scale = rows.norms[:len(keys)] * float(np.linalg.norm(q))
            found = 1.0 - np.divide(matrix @ q, scale, out=np.zeros(len(keys), np.float32), where=scale > 0)
        else:
            found = np.linalg.norm(matrix - q, axis=1)
    return _nearest_first(np, found, keys)


def _nearest_first(np: Any, found: Any, keys: list[str]) -> Iterator[tuple[float, str]]:
    """(distance, key), nearest first: a partial sort for the first few (what a filtered top-k
    query usually reads), the full order only if the filter rejects more than that."""
    head = min(len(keys), 4 * MAX_TOP_K)
    part = np.argpartition(found, head - 1)[:head] if 0 < head < len(keys) else np.arange(len(keys))
    first = part[np.lexsort((part, found[part]))]
    yield from ((float(found[i]), keys[i]) for i in first)
    if head < len(keys):
        rest = np.setdiff1d(np.arange(len(keys)), part)
        yield from ((float(found[i]), keys[i]) for i in rest[np.lexsort((rest, found[rest]))])


def _changed(original: Callable[..., Any], *, delete: bool) -> Callable[..., Any]:
    """A write to an index updates its matrix, if it has one. A put's numbers are kept in an array
    (read back the same): moto's lists of Python floats took 123 MB for 1e4 vectors of 384, and the
    interpreter's full collections, which walk every list, stalled the emulator for up to 111 ms."""
    def write(self: S3VectorsBackend, vector_bucket_name: str, index_name: str, index_arn: str,
              **written: list[Any]) -> Any:  # moto passes them all by name: vectors=, or keys=
        with _WRITES:
            result = original(self, vector_bucket_name, index_name, index_arn, **written)
            index = self.get_index(vector_bucket_name, index_name=index_name, index_arn=index_arn)
            rows: _Rows | None = getattr(index, "rows", None)
            for key in written["keys"] if delete and rows else ():
                rows.delete(key)  # type: ignore[union-attr]
            for item in () if delete else written["vectors"]:
                compact = array.array("d", item["data"]["float32"])  # read back as any list is
                stored = index.vectors[item["key"]]
                stored.data = {**stored.data, "float32": compact}  # type: ignore[typeddict-item]
                if rows:
                    rows.put(item["key"], compact)
            return result
    return write


def query_vectors(index: Index, top_k: int, query: list[float],
                  flt: Filter | None) -> list[tuple[float, Any]]:
    """The ``top_k`` nearest vectors that pass the filter, nearest first."""
    if len(query) != index.dimension:
        raise ValidationError(f"Query vector must have length {index.dimension}, but has length {len(query)}")
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValidationError(f"topK must be between 1 and {MAX_TOP_K}")
    unfilterable = frozenset(getattr(index, "non_filterable", ()))
    found = []
    for distance, key in _distances(index, query):
        vector = index.vectors[key]
        if flt is None or matches(vector.metadata or {}, flt, unfilterable):
            found.append((distance, vector))
            if len(found) == top_k:
                break
    return found


def query_result(index: Index, params: dict[str, Any]) -> dict[str, Any]:
    """``QueryVectors``' answer to its request's parameters (``topK``, ``queryVector``, ``filter``,
    ``returnDistance``, ``returnMetadata``)."""
    found = query_vectors(index, int(params["topK"]), list(params["queryVector"]["float32"]), params.get("filter"))
    with_distance, with_metadata = params.get("returnDistance") is True, params.get("returnMetadata") is True
    return {"distanceMetric": index.distance_metric, "vectors": [
        {"key": vector.key, **({"distance": distance} if with_distance else {}),
         **({"metadata": vector.metadata} if with_metadata else {})} for distance, vector in found]}


def _query_response(self: S3VectorsResponse) -> ActionResult:
    bucket, name, arn = (self._get_param(p) for p in ("vectorBucketName", "indexName", "indexArn"))
    self._validate_index_params(arn, name, bucket)
    index = self.s3vectors_backend.get_index(bucket, index_name=name, index_arn=arn)
    return ActionResult(query_result(index, {
        "topK": self._get_param("topK"), "queryVector": self._get_param("queryVector"),
        "filter": self._get_param("filter"), "returnDistance": self._get_bool_param("returnDistance", False),
        "returnMetadata": self._get_bool_param("returnMetadata", False)}))


DIRECT_OPERATIONS = ("QueryVectors", "PutVectors")


def direct_call(operation: str, body: bytes) -> bytes | None:
    """A ``QueryVectors`` or ``PutVectors`` that names its index by ARN (as the gateway's do),
    answered from its JSON body; None for anything else, or anything that fails, which moto then
    answers (its validation, its errors; a put is idempotent). moto parses a request and writes
    its response by walking the service's shape model, value by value: a query's 384 numbers made
    it about 3.7 ms of the emulator's CPU, on the semantic cache's critical path, and a batch of
    25 vectors 25 times that (``local.emulator.DirectVectorCalls``)."""
    from moto.s3vectors.models import s3vectors_backends

    try:
        params = json.loads(body)
        arn = params["indexArn"]
        _, partition, _, _, account, _ = arn.split(":", 5)  # moto keeps a backend per partition
        backend = s3vectors_backends[account][partition]
        if operation == "QueryVectors":
            return json.dumps(query_result(backend.get_index("", index_name="", index_arn=arn), params)).encode()
        if operation == "PutVectors":
            backend.put_vectors("", index_name="", index_arn=arn, vectors=params["vectors"])
            return b"{}"
    except Exception:
        return None
    return None


def _create_index(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_index(self: S3VectorsResponse) -> Any:
        bucket = self.s3vectors_backend.get_vector_bucket(
            vector_bucket_name=self._get_param("vectorBucketName"),
            vector_bucket_arn=self._get_param("vectorBucketArn"))
        name = self._get_param("indexName")
        if any(index.index_name == name for index in bucket.indexes.values()):
            raise IndexExists
        result = original(self)
        config = self._get_param("metadataConfiguration") or {}
        for index in bucket.indexes.values():
            if index.index_name == name:
                index.non_filterable = tuple(config.get("nonFilterableMetadataKeys", ()))  # type: ignore[attr-defined]
        return result
    return create_index


def vector_queries() -> None:
    if getattr(S3VectorsResponse, "query_vectors", None):
        return
    S3VectorsResponse.query_vectors = _query_response  # type: ignore[attr-defined]
    S3VectorsBackend.put_vectors = _changed(S3VectorsBackend.put_vectors, delete=False)  # type: ignore[method-assign]
    S3VectorsBackend.delete_vectors = _changed(S3VectorsBackend.delete_vectors, delete=True)  # type: ignore[method-assign]
    S3VectorsResponse.create_index = _create_index(S3VectorsResponse.create_index)  # type: ignore[method-assign]
    urls.url_paths["{0}/QueryVectors$"] = S3VectorsResponse.dispatch
