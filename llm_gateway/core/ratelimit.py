"""Per-tenant quotas on DynamoDB atomic counters.

Two counter items per tenant: this minute's (requests and tokens) and today's (requests). Both are
bumped with one conditional UpdateItem each, sent concurrently: one round trip on the hot path, and
exact under any concurrency because DynamoDB applies each conditional update atomically. A request
that one window refuses is given back to the other, so refused requests never count.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    counter: str = ""  # that minute's counter item

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
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ratelimit")

    def _bump(self, pk: str, limit: int, expires_at: int, token_limit: int | None = None,
              reserve: int = 0) -> dict[str, Any] | None:
        """Count one request in a window, and reserve its estimated tokens there if tokens are
        limited (in the same conditional write: concurrent requests cannot all see room that only
        one of them fits in): the counter item after it, or None when the window is full."""
        condition = "(attribute_not_exists(requests) OR requests < :limit)"
        values = {":one": {"N": "1"}, ":exp": {"N": str(expires_at)}, ":limit": {"N": str(limit)}}
        update = "ADD requests :one"
        if token_limit is not None:
            condition += " AND (attribute_not_exists(tokens) OR tokens <= :room)"
            values |= {":room": {"N": str(token_limit - reserve)}, ":reserve": {"N": str(reserve)}}
            update += ", tokens :reserve"
        try:
            return dict(self._ddb.update_item(
                TableName=self._table, Key={"pk": {"S": pk}}, ConditionExpression=condition,
                UpdateExpression=f"{update} SET expires_at = if_not_exists(expires_at, :exp)",
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW")["Attributes"])
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None

    def _give_back(self, pk: str, tokens: int = 0) -> None:
        self._ddb.update_item(TableName=self._table, Key={"pk": {"S": pk}},
                              UpdateExpression="ADD requests :minus, tokens :tokens",
                              ExpressionAttributeValues={":minus": {"N": "-1"}, ":tokens": {"N": str(-tokens)}})

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
        rpm, rpd = quotas.rpm or 0, quotas.rpd or 0
        now = time.time() if now is None else now
        minute, day = int(now // 60), int(now // 86400)
        minute_pk, day_pk = f"{tenant_id}#m#{minute}", f"{tenant_id}#d#{day}"
        minute_reset, day_reset = (minute + 1) * 60 - int(now), (day + 1) * 86400 - int(now)
        # A request larger than the whole limit still runs in an empty minute (never a dead end).
        reserve = min(max(1, estimate), quotas.tpm) if quotas.tpm is not None else 0
        in_minute = self._pool.submit(self._bump, minute_pk, rpm, (minute + 2) * 60, quotas.tpm, reserve)
        in_day = self._pool.submit(self._bump, day_pk, rpd, (day + 2) * 86400)
        minute_item, day_item = in_minute.result(), in_day.result()

        used = int(minute_item["requests"]["N"]) if minute_item else rpm
        tokens = int(minute_item.get("tokens", {}).get("N", "0")) if minute_item else (quotas.tpm or 0)
        admission = Admission(limit=rpm, remaining=rpm - used, reset_seconds=minute_reset, token_limit=quotas.tpm,
                              tokens_remaining=(quotas.tpm - tokens) if quotas.tpm else None,
                              reserved=reserve, counter=minute_pk)
        if minute_item and day_item:
            return admission
        if minute_item:  # refused by the other window: this request never happened
            self._give_back(minute_pk, reserve)
        if day_item:
            self._give_back(day_pk)
        if day_item is None:
            raise RateLimited("day", rpd, day_reset, admission)
        if quotas.tpm is not None and self._tokens_used(minute_pk) > quotas.tpm - reserve:
            raise RateLimited("tokens", quotas.tpm, minute_reset, admission)
        raise RateLimited("minute", rpm, minute_reset, admission)

    def _tokens_used(self, minute_pk: str) -> int:
        item = self._ddb.get_item(TableName=self._table, Key={"pk": {"S": minute_pk}}).get("Item", {})
        return int(item.get("tokens", {}).get("N", "0"))

    def settle(self, admission: Admission, tokens: int) -> None:
        """Replace the request's reservation with the tokens it used (0: it never reached a model)."""
        if admission.token_limit is None or tokens == admission.reserved:
            return
        self._ddb.update_item(TableName=self._table, Key={"pk": {"S": admission.counter}},
                              UpdateExpression="ADD tokens :n",
                              ExpressionAttributeValues={":n": {"N": str(tokens - admission.reserved)}})
