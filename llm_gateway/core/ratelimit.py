"""Per-tenant quotas on DynamoDB atomic counters.

One counter item per tenant and day holds the day's requests and the current minute's requests and
tokens (``Counter``). A request is counted in both windows by one conditional UpdateItem: one
round trip and one write unit on the hot path, exact under any concurrency because DynamoDB applies
each conditional update atomically, and a request that either window refuses counts in neither.
The first request of a minute takes a second UpdateItem, which starts the minute's counters again.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from llm_gateway.contract import QUOTA_STORE_FAILURE, check_choice
from llm_gateway.core.degraded import degraded
from llm_gateway.core.tenants import Quotas


@dataclass(frozen=True)
class Admission:
    limit: int
    remaining: int
    reset_seconds: int
    token_limit: int | None = None
    tokens_remaining: int | None = None
    reserved: int = 0  # tokens held for this request in its minute, until it is settled
    counter: str = ""  # the tenant's counter item for the day
    minute: int = 0  # the minute it was counted in

    def headers(self) -> dict[str, str]:
        """OpenAI's rate-limit headers, for the requests-per-minute window (and tokens, if limited)."""
        headers = {"x-ratelimit-limit-requests": str(self.limit),
                   "x-ratelimit-remaining-requests": str(max(0, self.remaining)),
                   "x-ratelimit-reset-requests": f"{self.reset_seconds}s"}
        if self.token_limit is not None:
            headers |= {"x-ratelimit-limit-tokens": str(self.token_limit),
                        "x-ratelimit-remaining-tokens": str(max(0, self.tokens_remaining or 0)),
                        "x-ratelimit-reset-tokens": f"{self.reset_seconds}s"}
        return headers


class RateLimited(Exception):
    def __init__(self, window: str, limit: int, retry_after: int, admission: Admission) -> None:
        unit = {"minute": "requests per minute", "day": "requests per day", "tokens": "tokens per minute"}[window]
        super().__init__(f"Rate limit reached for {unit} (limit {limit}). Retry after {retry_after}s.")
        self.window, self.limit, self.retry_after, self.admission = window, limit, retry_after, admission

    @property
    def retryable(self) -> bool:
        """A per-minute limit clears soon; an exhausted daily quota does not."""
        return self.window != "day"


class QuotaStoreUnavailable(Exception):
    """The counters table failed and the policy is to fail closed."""


class RateLimiter:
    """``on_store_failure``: what happens when the counters table itself fails (not a full
    window): "open" admits the request uncounted (a ``counters_table`` degradation, counted and
    alarmed), "closed" refuses it with a 503."""

    def __init__(self, table_name: str, client: Any, defaults: Quotas, *, on_store_failure: str = "open") -> None:
        check_choice("on_store_failure", on_store_failure, QUOTA_STORE_FAILURE)
        self._table, self._ddb, self.defaults = table_name, client, defaults
        self.fail_open = on_store_failure == "open"

    def admit(self, tenant_id: str, overrides: Quotas | None = None, now: float | None = None, *,
              estimate: int = 0) -> Admission | None:
        """Count the request against the tenant's quotas, reserving ``estimate`` tokens where
        tokens are limited (``settle`` replaces the estimate with what was used), or raise
        RateLimited; None when the counters are down and the policy admits uncounted."""
        try:
            return self._admit(tenant_id, overrides, now, estimate)
        except RateLimited:
            raise
        except Exception as exc:  # the store failed (a full window is RateLimited, not an exception)
            if not self.fail_open:
                raise QuotaStoreUnavailable(str(exc)) from exc
            degraded("counters_table", exc, tenant_id=tenant_id)
            return None

    def _admit(self, tenant_id: str, overrides: Quotas | None, now: float | None, estimate: int) -> Admission:
        quotas = (overrides or Quotas()).over(self.defaults)
        now = time.time() if now is None else now
        minute, day = int(now // 60), int(now // 86400)
        # A request larger than the whole limit still runs in an empty minute (never a dead end).
        reserve = min(max(1, estimate), quotas.tpm) if quotas.tpm is not None else 0
        counter = Counter(f"{tenant_id}#d#{day}", quotas, reserve, (day + 2) * 86400)
        counted, item, minute = counter.bump(self._ddb, self._table, minute)
        state = counter.state(item, minute)
        admission = Admission(
            limit=counter.rpm, remaining=counter.rpm - state["requests"], reset_seconds=(minute + 1) * 60 - int(now),
            token_limit=quotas.tpm, tokens_remaining=None if quotas.tpm is None else quotas.tpm - state["tokens"],
            reserved=reserve, counter=counter.pk, minute=minute)
        if counted:
            return admission
        if state["day"] >= counter.rpd:
            raise RateLimited("day", counter.rpd, (day + 1) * 86400 - int(now), admission)
        if quotas.tpm is not None and state["tokens"] > quotas.tpm - reserve:
            raise RateLimited("tokens", quotas.tpm, admission.reset_seconds, admission)
        raise RateLimited("minute", counter.rpm, admission.reset_seconds, admission)

    def settle(self, admission: Admission, tokens: int) -> None:
        """Replace the request's reservation with the tokens it used (0: it never reached a model),
        in the minute it was counted in; once that minute is over, its tokens no longer matter."""
        if admission.token_limit is None or tokens == admission.reserved:
            return
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.update_item(TableName=self._table, Key={"pk": {"S": admission.counter}},
                                  UpdateExpression="ADD minute_tokens :n", ConditionExpression="#minute = :minute",
                                  ExpressionAttributeNames={"#minute": "minute"},
                                  ExpressionAttributeValues={":n": {"N": str(tokens - admission.reserved)},
                                                             ":minute": {"N": str(admission.minute)}})


@dataclass(frozen=True)
class Counter:
    """A tenant's quota counters for one day, in one item: the day's requests, and the current
    minute's number, requests and tokens. One conditional ``UpdateItem`` counts a request in both
    windows at once, atomically (a request one window refuses counts in neither): one write unit
    and one round trip, where an item per window took two of each."""

    pk: str
    quotas: Quotas
    reserve: int
    expires_at: int

    @property
    def rpm(self) -> int:
        return self.quotas.rpm or 0

    @property
    def rpd(self) -> int:
        return self.quotas.rpd or 0

    def bump(self, ddb: Any, table: str, minute: int) -> tuple[bool, dict[str, Any], int]:
        """Count the request: (counted, the item after it, the minute it counted in), or (False,
        the item as it was, the minute) when a window is full. Within the item's minute its
        counters are added to; a later minute starts them again."""
        tokens = self.quotas.tpm is not None
        values = {":one": {"N": "1"}, ":rpd": {"N": str(self.rpd)}, ":exp": {"N": str(self.expires_at)},
                  **({":reserve": {"N": str(self.reserve)}} if tokens else {})}
        day_has_room = "(attribute_not_exists(requests) OR requests < :rpd)"
        same = Bump(f"#minute = :minute AND minute_requests < :rpm AND {day_has_room}"
                    + (" AND minute_tokens <= :room" if tokens else ""),
                    "ADD requests :one, minute_requests :one" + (", minute_tokens :reserve" if tokens else "")
                    + " SET expires_at = if_not_exists(expires_at, :exp)",
                    {":rpm": {"N": str(self.rpm)},
                     **({":room": {"N": str((self.quotas.tpm or 0) - self.reserve)}} if tokens else {})})
        later = Bump(f"(attribute_not_exists(#minute) OR #minute < :minute) AND {day_has_room}",
                     "ADD requests :one SET #minute = :minute, minute_requests = :one"
                     + (", minute_tokens = :reserve" if tokens else "")
                     + ", expires_at = if_not_exists(expires_at, :exp)")
        item, opened = {}, minute  # first guess: the item is already in this minute (all but its first request)
        for _ in range(4):  # another request may open the minute between two tries: rarely more than two
            minute = max(minute, opened)  # a clock ahead of ours opened a later minute: count in it
            bump = same if opened == minute else later
            try:
                return True, dict(ddb.update_item(
                    TableName=table, Key={"pk": {"S": self.pk}}, ConditionExpression=bump.condition,
                    UpdateExpression=bump.update, ExpressionAttributeNames={"#minute": "minute"},  # a reserved word
                    ExpressionAttributeValues=values | bump.values | {":minute": {"N": str(minute)}},
                    ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")["Attributes"]), minute
            except ddb.exceptions.ConditionalCheckFailedException as refused:
                item = refused.response.get("Item", {})
            opened = minute_of(item)
            if (opened == minute) == (bump is same):  # the item was in the minute we thought: a window is full
                break
        return False, item, minute

    @staticmethod
    def state(item: dict[str, Any], minute: int) -> dict[str, int]:
        """The day's requests and ``minute``'s requests and tokens, as ``item`` has them."""
        def number(name: str) -> int:
            return int(item.get(name, {}).get("N", "0"))
        in_minute = minute_of(item) == minute
        return {"day": number("requests"), "requests": number("minute_requests") if in_minute else 0,
                "tokens": number("minute_tokens") if in_minute else 0}


@dataclass(frozen=True)
class Bump:
    """One way to count a request: its condition, its update, the values only it uses."""

    condition: str
    update: str
    values: dict[str, Any] = field(default_factory=dict)


def minute_of(item: dict[str, Any]) -> int:
    """The minute a counter item is in; -1 before its first request."""
    return int(item.get("minute", {}).get("N", "-1"))
