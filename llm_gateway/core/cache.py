"""Semantic cache on DynamoDB (DESIGN.md section 6): correctness before hit rate, no scans.

An entry is only ever compared with entries of the same *scope* (tenant, model alias, system
prompt, earlier turns), so no answer crosses tenants or contexts. Within a scope, random-hyperplane
LSH puts each embedding in one bucket per band; a lookup queries those buckets (newest first,
``candidates`` at most each), so its cost stays flat however large the table grows. A candidate is
served only if its cosine similarity reaches the threshold *and* it passes ``same_question``, which
catches what embeddings miss: swapped operands around to/from/than..., other numbers, negation.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from llm_gateway.core.chat import text_of

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
           params: dict[str, Any] | None = None) -> Scope:
        """Everything that changes the answer besides the question's words: tenant, alias, system
        prompt, every turn before the newest user one, the non-text parts of any turn (images,
        audio, files: by content), and the request's ``SHAPING`` parameters."""
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        history = tuple((str(m.get("role")), text_of(m.get("content"))) for i, m in enumerate(messages)
                        if i < last_user and m.get("role") not in ("system", "developer"))
        parts = [part for m in messages if isinstance(m.get("content"), list) for part in m["content"]
                 if not (isinstance(part, dict) and part.get("type") in ("text", "input_text"))]
        shaping = {k: (params or {})[k] for k in SHAPING if (params or {}).get(k) is not None}
        context = hashlib.sha256(json.dumps([parts, shaping], sort_keys=True, default=str).encode()).hexdigest()
        return cls(tenant_id, model_alias, system, history, context if parts or shaping else "")

    @property
    def key(self) -> str:
        canonical = json.dumps([self.tenant_id, self.model_alias, self.system_prompt, self.history, self.context])
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class EntryRef:
    """Where one cached answer lives (one item per LSH band), so the judge can evict it."""

    pks: tuple[str, ...]
    sk: str

    def as_dict(self) -> dict[str, Any]:
        return {"pks": list(self.pks), "sk": self.sk}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> EntryRef:
        return cls(tuple(str(pk) for pk in raw["pks"]), str(raw["sk"]))


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


STOPWORDS = frozenset("""
    a an the to of in on for with by from at as and or is are was were be been do does did how what which
    who whom whose when where why can could should would will shall may might i me my we our you your it
    its this that these those there here into about way please""".split())  # noqa: SIM905
NEGATIONS = frozenset("not no never cannot can't don't doesn't isn't aren't won't shouldn't".split())  # noqa: SIM905
# Operations and qualities whose opposite is a different question, however close the embeddings.
OPPOSITES = [pair.split("/") for pair in (  # noqa: SIM905
    "add/remove add/delete create/delete create/destroy insert/delete start/stop enable/disable "
    "allow/deny allow/block grant/revoke encrypt/decrypt encode/decode compress/decompress "
    "upload/download import/export increase/decrease increment/decrement raise/lower ascending/descending "
    "asc/desc min/max minimum/maximum first/last before/after open/close connect/disconnect mount/unmount "
    "attach/detach install/uninstall lock/unlock show/hide push/pull send/receive read/write get/set "
    "serialize/deserialize zip/unzip enter/exit login/logout log-in/log-out sign-in/sign-out "
    "subscribe/unsubscribe follow/unfollow include/exclude with/without accept/reject approve/reject "
    "merge/split join/split scale-up/scale-down upgrade/downgrade expand/collapse freeze/unfreeze "
    "pause/resume suspend/resume public/private inbound/outbound ingress/egress upper/lower "
    "uppercase/lowercase left/right horizontal/vertical sync/async synchronous/asynchronous true/false "
    "on/off yes/no success/failure valid/invalid positive/negative inner/outer input/output server/client "
    "source/destination forward/backward faster/slower larger/smaller bigger/smaller more/less "
    "older/newer oldest/newest earliest/latest enqueue/dequeue wrap/unwrap backup/restore "
    "mutable/immutable static/dynamic global/local"
).split()]
OPPOSITE: dict[str, set[str]] = {}
for _a, _b in OPPOSITES:
    OPPOSITE.setdefault(_a, set()).add(_b)
    OPPOSITE.setdefault(_b, set()).add(_a)
# Names that make a question about something else: clouds, services, languages, stores, tools.
ENTITIES = frozenset("""
    aws azure gcp s3 ec2 lambda dynamodb rds aurora sqs sns kinesis eks ecs fargate cloudfront route53 iam
    cloudwatch cloudformation cdk terraform pulumi ansible kubernetes k8s docker podman helm
    python java javascript typescript go golang rust ruby php c# c++ kotlin swift scala bash powershell
    postgres postgresql mysql sqlite mongodb redis elasticsearch opensearch cassandra kafka rabbitmq
    react vue angular svelte django flask fastapi rails spring express nextjs node nodejs deno
    linux windows macos ubuntu debian alpine ios android git github gitlab bitbucket jenkins
    pandas polars numpy scipy pytorch tensorflow spark airflow json yaml xml csv toml protobuf graphql
    rest grpc http https tcp udp
    ssh ssl tls dns nginx apache""".split())  # noqa: SIM905


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_.+#'-]+", text.lower())


DIRECTIONAL = frozenset("to from into onto than vs versus before after over".split())  # noqa: SIM905


def _relations(tokens: list[str]) -> set[tuple[str, str, str]]:
    """(left, preposition, right) around each directional word, nearest content words each side:
    "convert a string to an int" -> {("string", "to", "int")}."""
    relations = set()
    for i, token in enumerate(tokens):
        if token not in DIRECTIONAL:
            continue
        left = next((t for t in reversed(tokens[:i]) if t not in STOPWORDS and t not in DIRECTIONAL), None)
        right = next((t for t in tokens[i + 1:] if t not in STOPWORDS and t not in DIRECTIONAL), None)
        if left and right:
            relations.add((left, token, right))
    return relations


def _numbers(tokens: list[str]) -> set[str]:
    """Quantities: numbers standing alone ("3 replicas", "port 8080"), not names that contain digits
    (S3, EC2, utf8, python3) — those are entities, compared as such."""
    return {t for t in tokens if re.fullmatch(r"[0-9][0-9.,:x%]*", t)}


def same_question(a: str, b: str) -> bool:
    """The verification step beyond cosine: reject pairs that differ in what embeddings blur:
    negation, quantities, named things, opposite operations, and operands swapped around a
    directional word."""
    ta, tb = _tokens(a), _tokens(b)
    if {t for t in ta if t in NEGATIONS} != {t for t in tb if t in NEGATIONS}:
        return False
    if _numbers(ta) != _numbers(tb):
        return False
    if {t for t in ta if t in ENTITIES} != {t for t in tb if t in ENTITIES}:
        return False
    sa, sb = set(ta), set(tb)
    if any(other in sb and other not in sa and word not in sb for word in sa & OPPOSITE.keys()
           for other in OPPOSITE[word]):
        return False
    # "string to int" is not "int to string", although every sentence encoder puts them side by side.
    ra, rb = _relations(ta), _relations(tb)
    return not any((right, word, left) in other and (left, word, right) not in other
                   for mine, other in ((ra, rb), (rb, ra)) for left, word, right in mine)


def exact_key(scope: Scope, question: str) -> str:
    """The key of the question itself, normalised (case, spacing, closing punctuation)."""
    normalised = " ".join(re.findall(r"\S+", question.lower())).rstrip(" ?!.")
    return f"{scope.key}#q#{hashlib.sha256(normalised.encode()).hexdigest()[:32]}"


@cache
def _hyperplanes(dim: int, band: int, bits: int) -> tuple[tuple[float, ...], ...]:
    rng = random.Random(f"llm-gateway-lsh:{dim}:{band}")  # fixed: buckets must survive restarts
    return tuple(tuple(rng.gauss(0.0, 1.0) for _ in range(dim)) for _ in range(bits))


def buckets(embedding: Sequence[float], bands: int, bits: int) -> list[str]:
    signatures = []
    for band in range(bands):
        sig = 0
        for plane in _hyperplanes(len(embedding), band, bits):
            sig = (sig << 1) | (sum(x * p for x, p in zip(embedding, plane, strict=True)) >= 0.0)
        signatures.append(f"{band}.{sig:x}")
    return signatures


class SemanticCache:
    def __init__(self, table_name: str, client: Any, *, threshold: float = 0.92,
                 ttl_seconds: int = 7 * 24 * 3600, bands: int = 2, bits: int = 4,
                 candidates: int = 20) -> None:
        self._table, self._ddb = table_name, client
        self.threshold, self._ttl = threshold, ttl_seconds
        self._bands, self._bits, self._candidates = bands, bits, candidates
        self._pool = ThreadPoolExecutor(max_workers=bands + 1, thread_name_prefix="cache")

    def _keys(self, scope: Scope, embedding: Sequence[float], question: str) -> list[str]:
        """The exact-question key first, then one LSH bucket per band."""
        return [exact_key(scope, question), *(f"{scope.key}#{b}" for b in buckets(embedding, self._bands, self._bits))]

    def _query(self, pk: str, limit: int) -> list[dict[str, Any]]:
        reply = self._ddb.query(
            TableName=self._table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}}, ScanIndexForward=False, Limit=limit)
        return list(reply.get("Items", []))

    def lookup(self, scope: Scope, question: str, embedding: Sequence[float]) -> CacheHit | None:
        """An exact repeat (one item read, however large the cache) or the best verified candidate
        of the question's LSH buckets: all read concurrently, in one round trip."""
        now = int(time.time())
        pks = self._keys(scope, embedding, question)
        limits = [1] + [self._candidates] * (len(pks) - 1)
        replies = list(self._pool.map(self._query, pks, limits))
        fresh = [item for item in replies[0] if int(item["expires_at"]["N"]) > now]
        if fresh:
            return self._hit(fresh[0], 1.0)
        best: CacheHit | None = None
        for items in replies[1:]:
            for item in items:
                if int(item["expires_at"]["N"]) <= now:  # TTL deletion lags; expired is expired
                    continue
                similarity = cosine(embedding, array("f", item["embedding"]["B"]))
                if similarity < self.threshold or (best and similarity <= best.similarity):
                    continue
                if same_question(question, item["question"]["S"]):
                    best = self._hit(item, similarity)
        return best

    @staticmethod
    def _hit(item: dict[str, Any], similarity: float) -> CacheHit:
        return CacheHit(answer=item["answer"]["S"], similarity=similarity, question=item["question"]["S"],
                        request_id=item["request_id"]["S"], model_id=item.get("model_id", {}).get("S", ""))

    def ref(self, scope: Scope, embedding: Sequence[float], request_id: str, question: str) -> EntryRef:
        """Where the entry for this answer goes: known before it is written, so it can travel with
        the answer's eval event."""
        return EntryRef(tuple(self._keys(scope, embedding, question)), f"{int(time.time() * 1000):013d}#{request_id}")

    def evict(self, ref: EntryRef) -> None:
        """Remove a cached answer (the judge scored it too low)."""
        self._write({self._table: [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": ref.sk}}}}
                                   for pk in ref.pks]})

    def store(self, scope: Scope, question: str, answer: str, embedding: Sequence[float], *,
              request_id: str, model_id: str = "", ref: EntryRef | None = None) -> None:
        now = time.time()
        ref = ref or self.ref(scope, embedding, request_id, question)
        entry = {
            "sk": {"S": ref.sk},
            "tenant_id": {"S": scope.tenant_id},
            "model_alias": {"S": scope.model_alias},
            "question": {"S": question},
            "answer": {"S": answer},
            "embedding": {"B": array("f", embedding).tobytes()},
            "request_id": {"S": request_id},
            "model_id": {"S": model_id},
            "created_at": {"N": str(int(now))},
            "expires_at": {"N": str(int(now) + self._ttl)},
        }
        self._write({self._table: [{"PutRequest": {"Item": {"pk": {"S": pk}, **entry}}} for pk in ref.pks]})

    def _write(self, pending: dict[str, Any]) -> None:
        for attempt in range(4):  # BatchWriteItem may hand back what it throttled
            pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.05 * 2**attempt)
        raise RuntimeError("semantic cache write throttled")
