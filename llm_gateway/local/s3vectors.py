"""moto's S3 Vectors, completed with what the gateway calls and moto 5.2 lacks: ``QueryVectors``
(nearest neighbours with metadata filters), non-filterable metadata keys, and ``CreateIndex``
refusing an index that exists (moto would replace it, vectors and all). Applied once by
``vector_queries()``, before moto builds its URL maps (the local runner and the tests do).

Queries are exact (every vector of the index is compared; past a few thousand, through int8 codes
first, see ``_Rows``): the emulator stands in for S3 Vectors' approximate search, so local recall
is an upper bound of the deployed one.
"""

from __future__ import annotations

import array
import functools
import json
import math
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec
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
    one matrix product, never a rebuild from the index's lists after each write.

    Beside it, each vector's direction in int8, one a column (``codes``): a cosine query reads
    that quarter of the bytes first, to find the few rows that can be among the nearest, then
    scores only those from the float32 matrix (``cosine_head``). At 1e4 vectors of 384 the matrix
    is 15 MB, mostly out of cache between queries: reading it was 1.1 of a query's 1.4 ms, and
    what made a 1e4-entry cache slower than a 1e3 one."""

    STEP = 1024  # the codes grow by this many columns: a query reads at most STEP - 1 unused ones
    INT8_FROM = 4096  # rows; below, the float32 matrix (6 MB at 384) is read whole faster than in two passes

    def __init__(self, np: Any, dimension: int) -> None:
        self.np, self.keys, self.at = np, list[str](), dict[str, int]()
        self.matrix = np.zeros((16, dimension), np.float32)
        self.norms = np.zeros(16, np.float32)  # each row's length, kept with it: a query reads the matrix once
        self.codes = np.zeros((dimension, 0), np.int8)  # row / norm, quantized by its own step
        self.steps = np.zeros(0, np.float32)
        # Each code's distance from its unit vector and its own length: the terms of its error bound.
        self.residual, self.length = np.zeros(0, np.float32), np.zeros(0, np.float32)
        self.sums = np.zeros(0, np.int32)  # each code's sum: what a query's zero point takes off its product

    def put(self, key: str, data: Sequence[float]) -> None:
        np, row = self.np, self.at.get(key)
        if row is None:
            row = self.at[key] = len(self.keys)
            self.keys.append(key)
            if row == len(self.matrix):
                self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
                self.norms = np.concatenate([self.norms, np.zeros_like(self.norms)])
            if row == len(self.steps):
                self.codes = np.concatenate([self.codes, np.zeros((len(self.codes), self.STEP), np.int8)], axis=1)
                self.steps = np.concatenate([self.steps, np.zeros(self.STEP, np.float32)])
                self.residual = np.concatenate([self.residual, np.zeros(self.STEP, np.float32)])
                self.length = np.concatenate([self.length, np.zeros(self.STEP, np.float32)])
                self.sums = np.concatenate([self.sums, np.zeros(self.STEP, np.int32)])
        self.matrix[row] = data
        norm = self.norms[row] = np.linalg.norm(self.matrix[row])
        unit = self.matrix[row] / norm if norm else self.matrix[row]
        step = float(np.abs(unit).max()) / 127 or 1.0
        code = np.clip(np.round(unit / step), -127, 127).astype(np.int8)
        self.codes[:, row], self.steps[row], self.sums[row] = code, step, int(code.sum(dtype=np.int32))
        self.residual[row] = np.linalg.norm(unit - code * np.float32(step))
        self.length[row] = np.linalg.norm(code * np.float32(step))

    def delete(self, key: str) -> None:
        row = self.at.pop(key, None)
        if row is None:
            return
        last = len(self.keys) - 1
        if row != last:
            moved = self.keys[row] = self.keys[last]
            self.matrix[row], self.norms[row], self.at[moved] = self.matrix[last], self.norms[last], row
            self.codes[:, row], self.steps[row], self.sums[row] = self.codes[:, last], self.steps[last], self.sums[last]
            self.residual[row], self.length[row] = self.residual[last], self.length[last]
        self.keys.pop()

    def cosine(self, q: Any, rows: Any = None) -> Any:
        """Exact cosine distances of ``rows`` (all by default) to ``q``."""
        np = self.np
        matrix, norms = self.matrix[:len(self.keys)], self.norms[:len(self.keys)]
        if rows is not None:
            matrix, norms = matrix[rows], norms[rows]
        scale = norms * float(np.linalg.norm(q))
        return 1.0 - np.divide(matrix @ q, scale, out=np.zeros(len(scale), np.float32), where=scale > 0)

    def cosine_head(self, q: Any, head: int) -> tuple[Any, Any] | None:
        """The ``head`` rows nearest ``q`` and their exact distances, nearest first (ties by row),
        or None where one pass over the float32 matrix is as fast (or ONNX Runtime is missing).
        An int8 score is off by at most its ``bound`` (Cauchy-Schwarz on the code's rounding and
        the query's), so a row whose best case is beyond the ``head``-th smallest worst case cannot
        be among the nearest: only the rest are scored exactly."""
        np, n = self.np, len(self.keys)
        norm = float(np.linalg.norm(q))
        products = _int8_products() if n >= self.INT8_FROM and norm else None
        if products is None:
            return None
        unit = q / norm
        # The query in uint8 over its range, zero included: its error is known exactly, for the bound.
        low, high = min(float(unit.min()), 0.0), max(float(unit.max()), 0.0)
        q_step = (high - low) / 255
        zero = round(-low / q_step)
        levels = np.clip(np.round(unit / q_step) + zero, 0, 255)
        q_error = float(np.linalg.norm(unit - (levels - zero) * q_step))
        integers = products(levels.astype(np.uint8), self.codes)[:n] - zero * self.sums[:n]
        approx = 1.0 - integers * (self.steps[:n] * np.float32(q_step))
        bound = self.residual[:n] + self.length[:n] * q_error + 1e-4  # 1e-4: float32 rounding, generously
        worst = np.partition(approx + bound, head - 1)[head - 1] if head < n else np.inf
        rows = np.flatnonzero(approx - bound <= worst)
        exact = self.cosine(q, rows)
        order = np.lexsort((rows, exact))[:head]
        return rows[order], exact[order]


@functools.cache
def _int8_products() -> Callable[[Any, Any], Any] | None:
    """``products(levels, codes)``: the integer inner products of a uint8 query with each column
    of int8 codes (ONNX Runtime's ``MatMulInteger``); None without ONNX Runtime. The query's zero
    point is taken off afterwards, with each code's sum: given to ONNX Runtime, as to its
    ``DynamicQuantizeMatMul``, it cost 0.41 to 0.44 ms at 1e4 columns, without it 0.09."""
    try:
        from onnx import TensorProto, helper

        from llm_gateway.core.providers.minilm import session
    except ImportError:
        return None
    node = helper.make_node("MatMulInteger", ["levels", "codes"], ["products"])
    products = session(helper.make_graph([node], "int8_products", [
        helper.make_tensor_value_info("levels", TensorProto.UINT8, [1, None]),
        helper.make_tensor_value_info("codes", TensorProto.INT8, [None, None])],
        [helper.make_tensor_value_info("products", TensorProto.INT32, None)]))
    return lambda levels, codes: products.run(None, {"levels": levels[None], "codes": codes})[0][0]


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


def _distances(index: Index, query: list[float], head: int) -> Iterator[tuple[float, str]]:
    """(distance, key) for every vector of the index, nearest first: the first ``head`` from a
    partial sort (what a filtered top-k query usually reads), the full order only if the filter
    rejects more than that. Called holding ``_WRITES``."""
    cosine = index.distance_metric == "cosine"
    rows = _rows(index)
    if rows is None:
        def distance(row: list[float]) -> float:
            if cosine:
                norm = math.sqrt(sum(x * x for x in row)) * math.sqrt(sum(q * q for q in query))
                return 1.0 - (sum(x * q for x, q in zip(row, query, strict=True)) / norm if norm else 0.0)
            return math.dist(row, query)
        yield from sorted((distance(v.data["float32"]), key) for key, v in index.vectors.items())
        return
    np, keys = rows.np, rows.keys
    q = np.asarray(query, np.float32)
    head = min(len(keys), head)
    nearest = rows.cosine_head(q, head) if cosine and head else None
    if nearest is not None:
        taken, distances = nearest
        yield from ((float(d), keys[i]) for i, d in zip(taken, distances, strict=True))
        if head == len(keys):
            return
    found = rows.cosine(q) if cosine else np.linalg.norm(rows.matrix[:len(keys)] - q, axis=1)
    if nearest is None:
        taken = np.argpartition(found, head - 1)[:head] if 0 < head < len(keys) else np.arange(len(keys))
        yield from ((float(found[i]), keys[i]) for i in taken[np.lexsort((taken, found[taken]))])
    rest = np.setdiff1d(np.arange(len(keys)), taken)
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
    with _WRITES:  # the walk reads the matrix as it goes
        for distance, key in _distances(index, query, 4 * top_k):
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
    25 vectors 25 times that (``local.emulator.DirectVectorCalls``). The body is read by msgspec:
    a query 0.12 ms sooner than with ``json.loads``."""
    from moto.s3vectors.models import s3vectors_backends

    try:
        params = msgspec.json.decode(body)
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
