"""Budgets in USD per tenant and per key, per day and per month (DESIGN.md section 12).

Before the model is called, the request's worst-case cost (its prompt, and every token
``max_tokens`` lets it get back) is reserved in each window's spend counter with one conditional
``ADD``: concurrent requests cannot all see room that only one of them fits in. After the answer
the reservation is replaced by the real cost. So a budget is overrun only by what a request costs
beyond its own estimate; a request larger than a whole budget still runs in an empty window (never
a dead end). Counters live in the rate limiter's table, beside the quotas.
"""

from __future__ import annotations

import calendar
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llm_gateway.core.usage import MICROS


@dataclass(frozen=True)
class Budget:
    """USD limits; None: no limit in that window."""

    tenant_day: float | None = None
    tenant_month: float | None = None
    key_day: float | None = None
    key_month: float | None = None

    def limits(self) -> dict[str, float]:
        return {name: limit for name, limit in vars(self).items() if limit is not None}


BUDGET_WINDOWS = ("tenant_day", "tenant_month", "key_day", "key_month")  # Budget's fields


@dataclass(frozen=True)
class Window:
    name: str  # tenant_day, key_month...
    counter: str  # its spend counter item
    limit_micros: int
    reset_seconds: int
    expires_at: int


@dataclass(frozen=True)
class Hold:
    """What a request reserved, and the tightest window's state after it."""

    counters: tuple[str, ...]
    reserved_micros: int
    limit_usd: float
    remaining_usd: float
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return budget_headers(self.limit_usd, self.remaining_usd, self.reset_seconds)


def budget_headers(limit_usd: float, remaining_usd: float, reset_seconds: int) -> dict[str, str]:
    """Like OpenAI's ``x-ratelimit-*``, for the budget nearest its end."""
    return {"x-ratelimit-limit-usd": f"{limit_usd:.6f}", "x-ratelimit-remaining-usd": f"{max(0.0, remaining_usd):.6f}",
            "x-ratelimit-reset-usd": f"{reset_seconds}s"}


class BudgetExceeded(Exception):
    def __init__(self, window: str, limit_usd: float, reset_seconds: int) -> None:
        scope, period = window.split("_")
        every = {"day": "daily", "month": "monthly"}[period]
        super().__init__(f"You exceeded your {'API key' if scope == 'key' else 'tenant'}'s {every} budget "
                         f"(${limit_usd:g}); it resets in {reset_seconds}s. Ask your platform team to raise it.")
        self.window, self.limit_usd, self.reset_seconds = window, limit_usd, reset_seconds

    def headers(self) -> dict[str, str]:
        return {**budget_headers(self.limit_usd, 0.0, self.reset_seconds), "x-should-retry": "false"}


class Budgets:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table, self._ddb = table_name, client
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="budgets")

    @staticmethod
    def windows(tenant_id: str, key_id: str, budget: Budget, now: float) -> list[Window]:
        moment = datetime.fromtimestamp(now, UTC)
        day, month = moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m")
        day_end = (int(now) // 86400 + 1) * 86400
        month_end = int(datetime(moment.year, moment.month, calendar.monthrange(moment.year, moment.month)[1],
                                 tzinfo=UTC).timestamp()) + 86400
        found = []
        for name, limit in budget.limits().items():
            scope, period = name.split("_")
            owner = f"tenant#{tenant_id}" if scope == "tenant" else f"key#{key_id}"
            if scope == "key" and not key_id:
                continue
            end = day_end if period == "day" else month_end
            found.append(Window(name, f"spend#{owner}#{day if period == 'day' else month}", round(limit * MICROS),
                                end - int(now), end + 86400))
        return found

    def reserve(self, tenant_id: str, key_id: str, budget: Budget, estimate_usd: float,
                now: float | None = None) -> Hold | None:
        """Reserve ``estimate_usd`` in every window with a limit, or raise BudgetExceeded (nothing
        stays reserved); None when there is no limit."""
        now = time.time() if now is None else now
        windows = self.windows(tenant_id, key_id, budget, now)
        if not windows:
            return None
        # Capped by the smallest limit: a request larger than a budget still runs in an empty window.
        reserve = min(max(1, round(estimate_usd * MICROS)), *(w.limit_micros for w in windows))
        results = list(self._pool.map(lambda w: self._reserve(w, reserve), windows))
        taken = [(w, spent) for w, spent in zip(windows, results, strict=True) if spent is not None]
        refused = [w for w, spent in zip(windows, results, strict=True) if spent is None]
        if refused:
            for window, _ in taken:
                self._add(window.counter, -reserve)
            first = min(refused, key=lambda w: w.reset_seconds)
            raise BudgetExceeded(first.name, first.limit_micros / MICROS, first.reset_seconds)
        tightest, spent = min(taken, key=lambda t: t[0].limit_micros - t[1])
        return Hold(tuple(w.counter for w in windows), reserve, tightest.limit_micros / MICROS,
                    (tightest.limit_micros - spent) / MICROS, tightest.reset_seconds)

    def _reserve(self, window: Window, reserve: int) -> int | None:
        """The window's spend after reserving, or None when it has no room."""
        try:
            item = self._ddb.update_item(
                TableName=self._table, Key={"pk": {"S": window.counter}},
                ConditionExpression="attribute_not_exists(spent) OR spent <= :room",
                UpdateExpression="ADD spent :reserve SET expires_at = if_not_exists(expires_at, :exp)",
                ExpressionAttributeValues={":room": {"N": str(window.limit_micros - reserve)},
                                           ":reserve": {"N": str(reserve)}, ":exp": {"N": str(window.expires_at)}},
                ReturnValues="UPDATED_NEW")
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return int(item["Attributes"]["spent"]["N"])

    def _add(self, counter: str, micros: int) -> None:
        self._ddb.update_item(TableName=self._table, Key={"pk": {"S": counter}}, UpdateExpression="ADD spent :n",
                              ExpressionAttributeValues={":n": {"N": str(micros)}})

    def settle(self, hold: Hold, cost_usd: float) -> None:
        """Replace the reservation with what the request cost (0: it never reached a model)."""
        change = round(cost_usd * MICROS) - hold.reserved_micros
        if change:
            for counter in hold.counters:
                self._add(counter, change)
