"""The usage ledger (DESIGN.md section 12): one record per request, what it cost, and the counters
the billing endpoint reads.

The gateway writes each record as one line of its log after the response (``UsageLedger``): no
AWS call of its own. The ledger's CloudWatch Logs subscription hands the lines to the usage
function, which writes each record (``UsageStore.write``) in one DynamoDB transaction with the
counters it adds to, on the condition that the record is new, so a redelivery never counts twice
and a failed write counts nothing. Counters are pre-aggregated per tenant (and for all tenants), per day, in total and
per model: a billing query reads a few items per day, never the records.

Money is counted in micro-dollars (integers): DynamoDB's ADD is exact on them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from llm_gateway.contract import Target
    from llm_gateway.core.routing import Served

MICROS = 1_000_000
ALL_TENANTS = "*"
TOTAL = "*"  # the counter of a day's every model
NO_MODEL = "(none)"  # requests that never reached a model: blocked, refused, over quota
_PRICES = json.loads((resources.files("llm_gateway.core") / "prices.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Price:
    input: float  # USD per million tokens
    output: float
    checked: str = ""  # when the figure was read from the provider's price list
    unit: float = 0.0  # media models: USD per image made, per minute heard, per million characters spoken

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / MICROS


FREE = Price(0.0, 0.0, "")


class Prices:
    """USD per million tokens by provider model: the shipped table (``prices.json``) under the
    deployment's overrides. A versioned name (``gpt-4o-mini-2024-07-18``) takes the price of the
    longest listed name it starts with; an unlisted model costs 0 and says so (``known``)."""

    def __init__(self, overrides: str | dict[str, Any] = "") -> None:
        extra = json.loads(overrides) if isinstance(overrides, str) and overrides else overrides or {}
        table = {**_PRICES, **extra}
        self.table = {model: Price(float(p.get("input", 0)), float(p.get("output", 0)), str(p.get("checked", "")),
                                   float(p.get("unit", 0)))
                      for model, p in table.items() if not model.startswith("_")}

    def of(self, model: str) -> Price:
        if model in self.table:
            return self.table[model]
        listed = [m for m in self.table if model.startswith(m)]
        return self.table[max(listed, key=len)] if listed else FREE

    def known(self, model: str) -> bool:
        return self.of(model) is not FREE

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        return self.of(model).cost(prompt_tokens, completion_tokens)

    def for_target(self, target: Target) -> Price:
        """A route target's own prices where the route gives them, else the table's."""
        if target.input_price or target.output_price:
            return Price(target.input_price, target.output_price, "route")
        return self.of(target.model)

    def answering(self, model: str, target: Target | None) -> Price:
        """What answered: the model the provider names, else (a stand-in, a name not listed) the
        target it answered for."""
        return self.of(model) if self.known(model) or target is None else self.for_target(target)

    def for_served(self, served: Served) -> Price:
        return self.answering(served.model, served.target)


USAGE_LINE = "usage_record"  # the key of a usage record's log line
USAGE_LINE_PATTERN = f"{{ $.{USAGE_LINE}.request_id EXISTS }}"  # CloudWatch Logs' filter for those lines
MAX_LINE_BYTES = 250_000  # CloudWatch Logs cuts an event at 256 KB: a record's bodies give way first


# What became of a request, as the ledger counts it.
STATUSES = ("answered", "cached", "blocked", "refused", "over_quota", "over_budget", "rejected", "failed")
SUCCEEDED = ("answered", "cached")
BLOCKED = ("blocked", "refused")  # by a guardrail: the question before the model, or its answer after


@dataclass(frozen=True)
class UsageRecord:
    request_id: str
    tenant_id: str
    status: str  # a STATUSES name
    http_status: int
    at: float = field(default_factory=time.time)  # when the request arrived (epoch seconds)
    key_id: str = ""
    door: str = ""  # the path asked
    alias: str = ""
    provider: str = ""
    model: str = ""  # the provider's model that answered
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the provider served from its own prompt cache
    latency_ms: int = 0
    overhead_ms: int = 0  # the gateway's own share: latency minus the wait for providers
    stages_ms: dict[str, float] = field(default_factory=dict)
    guardrail: str = "allowed"  # allowed | anonymized | blocked | refused
    reason: str = ""  # a block's reason, an error's code
    cache_hit: bool = False
    cost_usd: float = 0.0
    saved_usd: float = 0.0  # what a cache hit would have cost from the model
    prompt: str | None = None  # the bodies, for tenants that opted in only
    answer: str | None = None

    @property
    def block_reason(self) -> str | None:
        """Why a guardrail blocked it (None: it was not blocked)."""
        return (self.reason or "policy_violation") if self.status in BLOCKED else None

    @cached_property  # counting a batch reads it for each of the record's four counters
    def day(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%d")

    @property
    def counters(self) -> list[tuple[str, str]]:
        """The counters (pk, sk) it adds to: its tenant's and all tenants', in total and for its model."""
        return [(f"usage#{tenant}", f"{self.day}#{model}") for tenant in (self.tenant_id, ALL_TENANTS)
                for model in (TOTAL, self.model or NO_MODEL)]

    def message(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v not in (None, "", {}, 0, 0.0, False)
                           or k in ("request_id", "tenant_id", "status", "http_status", "at")})

    def line(self) -> str:
        """The record as its log line: ``{"usage_record": {...}}``, what the ledger's subscription matches."""
        return f'{{"{USAGE_LINE}": {self.message()}}}'

    @classmethod
    def parse(cls, body: str) -> UsageRecord:
        """A record from its message, or from its log line."""
        data = json.loads(body)
        data = data.get(USAGE_LINE, data) if isinstance(data, dict) else data
        if not isinstance(data, dict) or data.get("status") not in STATUSES:
            raise ValueError(f"not a usage record: {body[:200]!r}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class UsageLedger:
    """The gateway's side: one line per request on the function's standard output, after the
    response, outside the logger (whatever its level, the line is written). Lambda sends the line to
    the function's log group, whose subscription filter (``UsageLedger.record_from``, the construct)
    hands it to the usage function: no AWS call here, so nothing on or after the request's path
    waits for one, and nothing is lost with the environment (the line is out when written)."""

    def __init__(self, *, bodies_for: frozenset[str] = frozenset(), stream: TextIO | None = None) -> None:
        self.bodies_for, self._stream = bodies_for, stream

    def send(self, record: UsageRecord) -> None:
        if record.tenant_id not in self.bodies_for:
            record = replace(record, prompt=None, answer=None)
        line = record.line()
        if len(line.encode()) > MAX_LINE_BYTES:
            line = replace(record, prompt=None, answer=None).line()
        stream = self._stream or sys.stdout  # looked up each time: the one the process has now
        stream.write(line + "\n")  # one write: a line no other thread's output splits
        stream.flush()


def _increments(record: UsageRecord) -> dict[str, int]:
    return {"requests": 1, "succeeded": int(record.status in SUCCEEDED), "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens, "cached_tokens": record.cached_tokens,
            "cost_micros": round(record.cost_usd * MICROS), "cache_hits": int(record.cache_hit),
            "saved_micros": round(record.saved_usd * MICROS),
            "blocks": int(record.status in BLOCKED),
            "errors": int(record.status == "failed"), "latency_ms": record.latency_ms,
            "overhead_ms": record.overhead_ms}


TRANSACTION_ITEMS = 100  # DynamoDB's limit on one TransactWriteItems


class UsageStore:
    """The requests table: a record per request (pk ``request#<tenant>``, sk ``<time>#<request
    id>``, expiring after the retention), and counters (pk ``usage#<tenant or *>``, sk
    ``<day>#<model or *>``) that never expire."""

    def __init__(self, table_name: str, client: Any, *, retention_days: int = 90) -> None:
        self._table, self._ddb, self.retention_days = table_name, client, retention_days

    def _item(self, record: UsageRecord) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(record.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
            "pk": {"S": f"request#{record.tenant_id}"}, "sk": {"S": f"{stamp}#{record.request_id}"},
            "expires_at": {"N": str(int(record.at) + self.retention_days * 86400)},
            "record": {"S": record.message()}}}}

    @staticmethod
    def _counts(records: Iterable[UsageRecord]) -> dict[tuple[str, str], dict[str, int]]:
        """What the records add to each counter (key: pk, sk), summed."""
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for record in records:
            added = {k: v for k, v in _increments(record).items() if v}
            if record.block_reason:
                added[f"block:{record.block_reason}"] = 1
            for counter in record.counters:
                counts[counter] = _sum(counts.get(counter, {}), added)
        return counts

    def _updates(self, counts: dict[tuple[str, str], dict[str, int]]) -> list[dict[str, Any]]:
        updates = []
        for (pk, sk), added in counts.items():
            names = {f"#n{i}": name for i, name in enumerate(added)}
            updates.append({"Update": {
                "TableName": self._table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD " + ", ".join(f"#n{i} :v{i}" for i in range(len(added))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {f":v{i}": {"N": str(v)} for i, v in enumerate(added.values())}}})
        return updates

    def write(self, record: UsageRecord) -> bool:
        """Store the record and count it, at most once: False if it was already there."""
        try:
            self._ddb.transact_write_items(
                TransactItems=[self._item(record), *self._updates(self._counts([record]))])
        except self._ddb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # counted when it was first delivered
            raise
        return True

    def chunks(self, records: Sequence[UsageRecord]) -> list[list[UsageRecord]]:
        """The records in runs that ``write_batch`` takes in one transaction (100 items: a record's
        own, and one for each counter the run adds to)."""
        chunks: list[list[UsageRecord]] = [[]]
        counters: set[tuple[str, str]] = set()
        for record in records:
            adds = set(record.counters)
            if chunks[-1] and len(chunks[-1]) + 1 + len(counters | adds) > TRANSACTION_ITEMS:
                chunks.append([])
                counters = set()
            chunks[-1].append(record)
            counters |= adds
        return [chunk for chunk in chunks if chunk]

    def write_batch(self, records: Sequence[UsageRecord]) -> bool:
        """Store and count new records with their counter updates merged, in one transaction (a
        ``chunks`` run): each counter is added to once, where ``write`` costs five writes a record.
        All or nothing: False when a record was already there (a redelivery), two were one, or
        anything else refused it; then none was written, and ``write`` takes them one at a time."""
        try:
            self._ddb.transact_write_items(
                TransactItems=[*map(self._item, records), *self._updates(self._counts(records))])
        except self._ddb.exceptions.ClientError:  # TransactionCanceledException is one
            return False
        return True

    def usage(self, tenant: str, first: date, last: date) -> dict[str, Any]:
        """Totals, per day and per model over ``first``..``last`` (inclusive), from the counters."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {":pk": {"S": f"usage#{tenant}"}, ":from": {"S": f"{first.isoformat()}#"},
                                          ":to": {"S": f"{last.isoformat()}#~"}}}
        while True:
            page = self._ddb.query(**request)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        days: dict[str, dict[str, Any]] = {}
        models: dict[str, dict[str, Any]] = {}
        for item in items:
            day, model = item["sk"]["S"].split("#", 1)
            counts = {k: int(v["N"]) for k, v in item.items() if "N" in v}
            if model == TOTAL:
                days[day] = counts
            else:
                models[model] = _sum(models.get(model, {}), counts)
        per_day = [{"date": day.isoformat(), **_figures(days.get(day.isoformat(), {}))}
                   for day in (first + timedelta(days=n) for n in range((last - first).days + 1))]
        total: dict[str, int] = {}
        for counts in days.values():
            total = _sum(total, counts)
        return {"tenant": tenant, "from": first.isoformat(), "to": last.isoformat(), "totals": _figures(total),
                "days": per_day,
                "models": sorted(({"model": m, **_figures(c)} for m, c in models.items()),
                                 key=lambda m: -float(m["cost_usd"]))}


def _sum(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    """Counters as the billing endpoint shows them: dollars, rates and averages."""
    requests = counts.get("requests", 0)
    blocks = {k.removeprefix("block:"): v for k, v in counts.items() if k.startswith("block:")}
    return {"requests": requests, "succeeded": counts.get("succeeded", 0),
            "success_rate": round(counts.get("succeeded", 0) / requests, 4) if requests else None,
            "prompt_tokens": counts.get("prompt_tokens", 0), "completion_tokens": counts.get("completion_tokens", 0),
            "cached_tokens": counts.get("cached_tokens", 0),
            "cost_usd": counts.get("cost_micros", 0) / MICROS, "cache_hits": counts.get("cache_hits", 0),
            "cache_hit_rate": round(counts.get("cache_hits", 0) / requests, 4) if requests else None,
            "saved_usd": counts.get("saved_micros", 0) / MICROS, "guardrail_blocks": counts.get("blocks", 0),
            "blocks_by_reason": blocks, "errors": counts.get("errors", 0),
            "avg_latency_ms": round(counts.get("latency_ms", 0) / requests, 1) if requests else None,
            "avg_overhead_ms": round(counts.get("overhead_ms", 0) / requests, 1) if requests else None}
