"""Semantic cache on DynamoDB (DESIGN.md section 6): correctness before hit rate, no scans.

An entry is only ever compared with entries of the same *scope* (tenant, model alias, system
prompt, earlier turns, non-text content, output shape) and embedding model, so no answer crosses
tenants or contexts. An exact repeat is one item read under the normalised question's key; other
questions go through an LSH forest (``SemanticCache``) whose lookups read a fixed number of items
however large the scope grows. A candidate is served only if its cosine similarity reaches the
threshold calibrated for the embedding model *and* it passes ``same_question``, which catches what
embeddings miss: opposite operations, swapped operands, other names and numbers, negation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import re
import struct
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from llm_gateway.contract import CACHE_PURGE_INDEX as PURGE_INDEX
from llm_gateway.contract import cache_threshold_for
from llm_gateway.core.chat import text_of
from llm_gateway.core.records import MAX_BATCH_WRITE, GroupCommit, batch_write
from llm_gateway.core.vector_wire import fast_vectors
from llm_gateway.core.verify import same_question

# Request parameters that change what a right answer is (not merely how it is sampled).
SHAPING = ("response_format", "tools", "tool_choice", "functions", "function_call", "stop", "logit_bias",
           "modalities", "audio", "prediction")


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    model_alias: str
    system_prompt: str = ""
    history: tuple[tuple[str, str], ...] = field(default=())  # earlier turns: (role, content)
    context: str = ""  # a hash of what else shapes the answer: non-text content, output format, tools

    @classmethod
    def of(cls, tenant_id: str, model_alias: str, messages: Sequence[dict[str, Any]],
           params: dict[str, Any] | None = None, documents: str = "") -> Scope:
        """Everything that changes the answer besides the question's words: tenant, alias, system
        prompt, every turn before the newest user one, the non-text parts of any turn (images,
        audio, files: by content), the request's ``SHAPING`` parameters, and retrieved documents."""
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        history = tuple((str(m.get("role")), text_of(m.get("content"))) for i, m in enumerate(messages)
                        if i < last_user and m.get("role") not in ("system", "developer"))
        parts = [part for m in messages if isinstance(m.get("content"), list) for part in m["content"]
                 if not (isinstance(part, dict) and part.get("type") in ("text", "input_text"))]
        shaping = {k: (params or {})[k] for k in SHAPING if (params or {}).get(k) is not None}
        shaped = [parts, shaping, documents] if documents else [parts, shaping]
        context = hashlib.sha256(json.dumps(shaped, sort_keys=True, default=str).encode()).hexdigest()
        return cls(tenant_id, model_alias, system, history, context if parts or shaping or documents else "")

    @property
    def key(self) -> str:
        canonical = json.dumps([self.tenant_id, self.model_alias, self.system_prompt, self.history, self.context])
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class EntryRef:
    """Where one cached answer lives: the (pk, sk) of its entry item, then of its LSH index items;
    with an S3 Vectors index instead, the (index ARN, key) of its vector."""

    keys: tuple[tuple[str, str], ...]
    vectors: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"keys": [list(key) for key in self.keys],
                **({"vectors": [list(v) for v in self.vectors]} if self.vectors else {})}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> EntryRef:
        if "keys" not in raw:  # an event written before the LSH forest: one sort key, a pk per band
            return cls(tuple((str(pk), str(raw["sk"])) for pk in raw["pks"]))
        return cls(tuple((str(pk), str(sk)) for pk, sk in raw["keys"]),
                   tuple((str(index), str(key)) for index, key in raw.get("vectors", ())))


@dataclass(frozen=True)
class Embedding:
    """A vector and the model that made it: vectors of different models are never compared."""

    vector: Sequence[float]
    model: str = ""


@dataclass(frozen=True)
class CacheHit:
    answer: str
    similarity: float
    question: str
    request_id: str
    model_id: str = ""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


def normalised(question: str) -> str:
    """The question as an exact repeat is matched: case, spacing and closing punctuation aside."""
    return " ".join(re.findall(r"\S+", question.lower())).rstrip(" ?!.")


def _key_of(request: dict[str, Any]) -> tuple[str, str]:
    """The (pk, sk) a ``BatchWriteItem`` put or delete request names."""
    key = request["PutRequest"]["Item"] if "PutRequest" in request else request["DeleteRequest"]["Key"]
    return key["pk"]["S"], key["sk"]["S"]


def exact_key(scope: Scope, question: str) -> str:
    return f"{scope.key}#q#{hashlib.sha256(normalised(question).encode()).hexdigest()[:32]}"


@cache
def _hyperplanes(dim: int, band: int, bits: int) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """Very sparse random hyperplanes (Li, Hastie and Church, 2006): about sqrt(dim) coordinates
    each, weighted +1 or -1, as (plus, minus) index lists. The sign of a projection on them
    approximates dense random-hyperplane LSH on dense vectors, at a twentieth of the arithmetic:
    a 384-d signature set costs about 0.2 ms in pure Python (the Lambda bundle has no NumPy)."""
    rng = random.Random(f"llm-gateway-lsh:{dim}:{band}")  # fixed: positions must survive restarts
    planes = []
    for _ in range(bits):
        chosen = rng.sample(range(dim), min(dim, max(8, math.isqrt(dim))))
        signs = [rng.random() < 0.5 for _ in chosen]
        planes.append((tuple(i for i, s in zip(chosen, signs, strict=True) if s),
                       tuple(i for i, s in zip(chosen, signs, strict=True) if not s)))
    return tuple(planes)


def signatures(vector: Sequence[float], bands: int, bits: int) -> list[int]:
    """One ``bits``-bit random-hyperplane signature per band: similar vectors share long prefixes."""
    at = vector.__getitem__
    out = []
    for band in range(bands):
        sig = 0
        for plus, minus in _hyperplanes(len(vector), band, bits):
            sig = (sig << 1) | (sum(map(at, plus)) >= sum(map(at, minus)))
        out.append(sig)
    return out


def _f16(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}e", *vector)


def _from_f16(blob: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(blob) // 2}e", blob)


Verifier = Callable[[str, str], bool]


@dataclass(frozen=True, order=True)
class Candidate:
    """An entry an index found near the question: how similar, where its item is, what it asked."""

    similarity: float
    entry: tuple[str, str]
    question: str


class VectorBucketIndex:
    """Semantic candidates from Amazon S3 Vectors, for scopes larger than the LSH forest serves
    well: its fixed read window finds fewer true neighbours as a scope passes about 1e4 entries,
    while S3 Vectors' own approximate search keeps recall and items read per lookup flat (at about
    100 ms a query, against DynamoDB's 10). One vector index per embedding model in the cache's
    vector bucket, created on first write (its dimension is the model's); each vector is keyed by
    its entry item and carries scope and expiry as filterable metadata, the question as
    non-filterable. Expired vectors are filtered out, not deleted: ``cache purge`` removes them."""

    MAX_QUESTION_BYTES = 30_000  # under S3 Vectors' 40 KB of metadata; longer ones match exactly only

    def __init__(self, bucket_arn: str, client: Any, *, top_k: int = 8, batch: int = 1, linger_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._bucket, self._client, self._top_k = bucket_arn, fast_vectors(client), top_k
        self._batch, self._linger, self._clock = batch, linger_seconds, clock
        self._pending: list[tuple[tuple[str, str], Scope, str, Embedding, int]] = []
        self._since, self._lock = 0.0, threading.Lock()

    def index_arn(self, model: str) -> str:
        return f"{self._bucket}/index/cache-{hashlib.sha256(model.encode()).hexdigest()[:12]}"

    @staticmethod
    def key(entry: tuple[str, str]) -> str:
        return "/".join(entry)  # scope keys have no "/": the first one splits it back

    def nearest(self, scope: Scope, embedding: Embedding, now: int) -> list[Candidate]:
        try:
            found = self._client.query_vectors(
                indexArn=self.index_arn(embedding.model), topK=self._top_k,
                queryVector={"float32": [float(x) for x in embedding.vector]},
                filter={"$and": [{"scope": scope.key}, {"expires_at": {"$gt": now}}]},
                returnMetadata=True, returnDistance=True)["vectors"]
        except self._client.exceptions.NotFoundException:
            return []  # nothing cached with this embedding model yet
        return [Candidate(1.0 - float(v["distance"]), tuple(v["key"].split("/", 1)),
                          str(v["metadata"]["question"])) for v in found]

    def add(self, vectors: Sequence[tuple[tuple[str, str], Scope, str, Embedding, int]]) -> None:
        """Put (where: (index ARN, key), scope, question, embedding, expires_at) vectors. With
        ``batch`` above 1 they are held until that many are pending, or the oldest has waited
        ``linger_seconds`` when the next arrives: a PutVectors call is billed for at least 128 KB,
        so 25 vectors (4 KB each at 1,024 dimensions) cost what one does put alone. Held vectors are
        not searchable yet (their answers still hit exactly), and are lost if the process ends
        first: Lambda gives an internal extension no shutdown event to flush on."""
        if self._batch > 1:
            with self._lock:
                if not self._pending:
                    self._since = self._clock()
                self._pending += vectors
                due = len(self._pending) >= self._batch or self._clock() - self._since >= self._linger
                vectors, self._pending = (self._pending, []) if due else ([], self._pending)
        if vectors:
            self._put(vectors)

    def flush(self) -> None:
        """Put whatever is held now."""
        with self._lock:
            vectors, self._pending = self._pending, []
        if vectors:
            self._put(vectors)

    def _put(self, vectors: Sequence[tuple[tuple[str, str], Scope, str, Embedding, int]]) -> None:
        """500 to a call (PutVectors' limit), creating an embedding model's index on its first vector."""
        by_index: dict[str, list[dict[str, Any]]] = {}
        for (index, key), scope, question, embedding, expires_at in vectors:
            if len(question.encode()) <= self.MAX_QUESTION_BYTES:
                by_index.setdefault(index, []).append({
                    "key": key, "data": {"float32": [float(x) for x in embedding.vector]},
                    "metadata": {"scope": scope.key, "expires_at": expires_at, "question": question}})
        for index, items in by_index.items():
            for at in range(0, len(items), 500):
                request = {"indexArn": index, "vectors": items[at:at + 500]}
                try:
                    self._client.put_vectors(**request)
                except self._client.exceptions.NotFoundException:
                    self._create(index, len(items[0]["data"]["float32"]))
                    self._client.put_vectors(**request)

    def _create(self, index: str, dimension: int) -> None:
        bucket, name = index.split("/index/")
        with contextlib.suppress(self._client.exceptions.ConflictException):  # another writer was first
            self._client.create_index(vectorBucketArn=bucket, indexName=name, dataType="float32",
                                      dimension=dimension, distanceMetric="cosine",
                                      metadataConfiguration={"nonFilterableMetadataKeys": ["question"]})

    def remove(self, vectors: Sequence[tuple[str, str]]) -> None:
        by_index: dict[str, list[str]] = {}
        for index, key in vectors:
            by_index.setdefault(index, []).append(key)
        for index, keys in by_index.items():
            self._client.delete_vectors(indexArn=index, keys=keys)


class SemanticCache:
    """An LSH forest on DynamoDB. Each band's signature splits into a short *prefix*, which picks
    the partition (``pk``: scope, embedding model, band, prefix), and the rest, which starts the sort
    key. Sort keys order entries by signature, so the entries nearest a question's own position in
    each band are the ones sharing the longest signature prefix with it: a lookup reads the
    ``candidates`` entries on either side of that position (two ``Query`` calls per band), a fixed
    number of items however many entries the scope holds. Index items carry the question and a
    half-precision embedding; the answer lives once, in the entry item, under the exact-question key.
    With ``vectors`` (a ``VectorBucketIndex``) the semantic candidates come from S3 Vectors instead
    and no index items are written; exact repeats and answers stay in DynamoDB.
    """

    def __init__(self, table_name: str, client: Any, *, threshold: float | None = None,
                 ttl_seconds: int = 7 * 24 * 3600, bands: int = 8, prefix_bits: int = 4, bits: int = 24,
                 candidates: int = 4, vectors: VectorBucketIndex | None = None) -> None:
        self._table, self._ddb, self._vectors = table_name, client, vectors
        self._threshold, self._ttl = threshold, ttl_seconds
        self._bands, self._prefix_bits, self._bits, self._candidates = bands, prefix_bits, bits, candidates
        self._pool = ThreadPoolExecutor(max_workers=2 * bands + 1, thread_name_prefix="cache")
        self._writes = GroupCommit(self._write_batch, limit=MAX_BATCH_WRITE, budget=MAX_BATCH_WRITE, weight=len)

    def threshold(self, model: str) -> float:
        """The configured threshold, else the one calibrated for the embedding model."""
        return self._threshold if self._threshold is not None else cache_threshold_for(model)

    def _positions(self, scope: Scope, embedding: Embedding) -> list[tuple[str, str]]:
        """Where the embedding sits in each band: (partition key, sort-key position)."""
        model = hashlib.sha256(embedding.model.encode()).hexdigest()[:8]
        rest = self._bits - self._prefix_bits
        return [(f"{scope.key}#{model}#{band}.{sig >> rest:x}", f"{sig & ((1 << rest) - 1):0{(rest + 3) // 4}x}")
                for band, sig in enumerate(signatures(embedding.vector, self._bands, self._bits))]

    def _query(self, pk: str, position: str | None, forward: bool) -> list[dict[str, Any]]:
        """The ``candidates`` items from ``position`` on (forward) or before it; the newest item of
        ``pk`` when there is no position (the exact key)."""
        request: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": forward,
                                   "ExpressionAttributeValues": {":pk": {"S": pk}}}
        if position is None:
            request.update(KeyConditionExpression="pk = :pk", Limit=1)
        else:
            request["ExpressionAttributeValues"][":at"] = {"S": position}
            request.update(KeyConditionExpression=f"pk = :pk AND sk {'>=' if forward else '<'} :at",
                           Limit=self._candidates)
        return list(self._ddb.query(**request).get("Items", []))

    def lookup(self, scope: Scope, question: str, embedding: Embedding, *,
               verify: Verifier | None = None) -> CacheHit | None:
        """An exact repeat (one item, however large the cache), else the most similar verified
        candidate the index finds. Every read goes out at once: one round trip, and a second one
        (the answer) only for a semantic hit. ``verify``, if given, has the last word on the best
        candidate the rules let through (a model asked, for routes that want it)."""
        exact = self._pool.submit(self.exact, scope, question)
        similar = self.similar(scope, question, embedding, verify=verify, exact=exact)
        return exact.result() or similar

    def exact(self, scope: Scope, question: str) -> CacheHit | None:
        """An exact repeat (its normalised words): one item read, no embedding needed."""
        now = int(time.time())
        fresh = [item for item in self._query(exact_key(scope, question), None, False)
                 if int(item["expires_at"]["N"]) > now]
        return self._hit(fresh[0], 1.0) if fresh else None

    def similar(self, scope: Scope, question: str, embedding: Embedding, *, verify: Verifier | None = None,
                exact: Future[CacheHit | None] | None = None) -> CacheHit | None:
        """The most similar verified candidate the index finds; None without reading an answer if
        ``exact`` (the exact read, running meanwhile) found one."""
        now = int(time.time())
        near = (self._vectors.nearest(scope, embedding, now) if self._vectors
                else self._lsh_nearest(scope, embedding, now))
        if exact is not None and exact.result() is not None:
            return None
        threshold = self.threshold(embedding.model)
        scored = [c for c in near if c.similarity >= threshold and same_question(question, c.question)]
        if not scored:
            return None
        best = max(scored)
        if verify and not verify(question, best.question):
            return None
        pk, sk = best.entry
        item = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")
        return self._hit(item, best.similarity) if item and int(item["expires_at"]["N"]) > now else None

    def _lsh_nearest(self, scope: Scope, embedding: Embedding, now: int) -> list[Candidate]:
        """The entries nearest the question's position in each band, once each, unexpired."""
        queries = [(pk, position, forward) for pk, position in self._positions(scope, embedding)
                   for forward in (True, False)]
        seen, found = set(), []
        for item in (item for items in self._pool.map(lambda q: self._query(*q), queries) for item in items):
            entry = (item["entry_pk"]["S"], item["entry_sk"]["S"])
            if entry in seen or int(item["expires_at"]["N"]) <= now:  # TTL deletion lags; expired is expired
                continue
            seen.add(entry)
            found.append(Candidate(cosine(embedding.vector, _from_f16(item["embedding"]["B"])), entry,
                                   item["question"]["S"]))
        return found

    @staticmethod
    def _hit(item: dict[str, Any], similarity: float) -> CacheHit:
        return CacheHit(answer=item["answer"]["S"], similarity=similarity, question=item["question"]["S"],
                        request_id=item["request_id"]["S"], model_id=item.get("model_id", {}).get("S", ""))

    def ref(self, scope: Scope, embedding: Embedding, request_id: str, question: str) -> EntryRef:
        """Where the entry for this answer goes (its entry item first, then its index items): known
        before it is written, so it can travel with the answer's eval event."""
        stamp = f"{int(time.time() * 1000):013d}#{request_id}"
        entry = (exact_key(scope, question), stamp)
        if self._vectors:
            return EntryRef((entry,), ((self._vectors.index_arn(embedding.model), VectorBucketIndex.key(entry)),))
        return EntryRef((entry, *((pk, f"{position}#{stamp}") for pk, position in self._positions(scope, embedding))))

    def evict(self, ref: EntryRef) -> None:
        """Remove a cached answer (the judge scored it too low, or an operator purged it)."""
        self._write([{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in ref.keys])
        if ref.vectors and self._vectors:
            self._vectors.remove(ref.vectors)

    def store(self, scope: Scope, question: str, answer: str, embedding: Embedding, *,
              request_id: str, model_id: str = "", ref: EntryRef | None = None) -> None:
        now = int(time.time())
        ref = ref or self.ref(scope, embedding, request_id, question)
        (entry_pk, entry_sk), index = ref.keys[0], ref.keys[1:]
        common = {"question": {"S": question}, "expires_at": {"N": str(now + self._ttl)}}
        entry = {
            "pk": {"S": entry_pk}, "sk": {"S": entry_sk}, **common,
            # What the purge index (by tenant) and eviction need, besides the answer itself.
            "tenant_id": {"S": scope.tenant_id}, "model_alias": {"S": scope.model_alias},
            "index_keys": {"L": [{"L": [{"S": pk}, {"S": sk}]} for pk, sk in index]},
            "vectors": {"L": [{"L": [{"S": arn}, {"S": key}]} for arn, key in ref.vectors]},
            "answer": {"S": answer},
            "request_id": {"S": request_id}, "model_id": {"S": model_id}, "created_at": {"N": str(now)},
        }
        pointer = {"entry_pk": {"S": entry_pk}, "entry_sk": {"S": entry_sk},
                   "embedding": {"B": _f16(embedding.vector)}, **common}
        items = [entry] + [{"pk": {"S": pk}, "sk": {"S": sk}, **pointer} for pk, sk in index]
        self._write([{"PutRequest": {"Item": item}} for item in items])
        if ref.vectors and self._vectors:
            self._vectors.add([(ref.vectors[0], scope, question, embedding, now + self._ttl)])

    def purge(self, *, tenant_id: str | None = None, model_alias: str | None = None,
              question: str | None = None) -> int:
        """Remove every entry of a tenant, alias or question (normalised), any combination; returns
        how many. Reads the sparse ``by-tenant`` index (entry items only): a ``Query`` for one
        tenant, a ``Scan`` of the index across all of them. An operator's tool, never on the
        request path."""
        request: dict[str, Any] = {"TableName": self._table, "IndexName": PURGE_INDEX}
        if tenant_id:
            request.update(KeyConditionExpression="tenant_id = :t",
                           ExpressionAttributeValues={":t": {"S": tenant_id}})
        purged = 0
        while True:
            page = (self._ddb.query if tenant_id else self._ddb.scan)(**request)
            for item in page.get("Items", []):
                if model_alias and item["model_alias"]["S"] != model_alias:
                    continue
                if question and normalised(item["question"]["S"]) != normalised(question):
                    continue
                keys = [(item["pk"]["S"], item["sk"]["S"])]
                keys += [(k["L"][0]["S"], k["L"][1]["S"]) for k in item.get("index_keys", {}).get("L", [])]
                vectors = [(v["L"][0]["S"], v["L"][1]["S"]) for v in item.get("vectors", {}).get("L", [])]
                self.evict(EntryRef(tuple(keys), tuple(vectors)))
                purged += 1
            if "LastEvaluatedKey" not in page:
                return purged
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _write(self, requests: list[dict[str, Any]]) -> None:
        """Put or delete items, in one ``BatchWriteItem`` with other writers' (``GroupCommit``)."""
        self._writes(requests)

    def _write_batch(self, writes: list[list[dict[str, Any]]]) -> list[Exception | None]:
        """One ``BatchWriteItem`` for the writers' requests, or more where two touch one item (an
        entry evicted twice at once): DynamoDB refuses a batch that names a key twice."""
        batches: list[list[dict[str, Any]]] = [[]]
        keys: set[tuple[str, str]] = set()
        for requests in writes:
            touched = {_key_of(r) for r in requests}
            if keys & touched:
                batches.append([])
                keys = set()
            batches[-1] += requests
            keys |= touched
        left = [r for batch in batches for r in batch_write(self._ddb, {self._table: batch}).get(self._table, [])]
        # What DynamoDB throttled, still throttled after retries: those writers fail.
        return [RuntimeError("semantic cache write throttled") if any(r in left for r in requests) else None
                for requests in writes]
