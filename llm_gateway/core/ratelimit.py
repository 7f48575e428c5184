"""Per-tenant quotas on DynamoDB atomic counters.

One counter item per tenant and day holds the day's requests and the current minute's requests and
tokens (``Counter``). A request is counted in both windows by one conditional UpdateItem: one
round trip and one write unit on the hot path, exact under any concurrency because DynamoDB applies
each conditional update atomically, and a request that either window refuses counts in neither.
The first request of a minute takes a second UpdateItem, which starts the minute's counters again.

A busy tenant's requests are counted ahead a few at a time (``Lease``): one conditional ``ADD k``
admits the next k requests this process receives in the minute, so a tenant sending hundreds a
second costs a write every few dozen of them, and no longer meets DynamoDB's limit of 1,000 writes
a second on one item. A lease never admits more than the quota (it is counted before any request
uses it, and refused whole if it does not fit), is taken only while both windows have room for
``LEASE_HEADROOM`` times it, and is sized to what this process admitted for the tenant in about a
second. Near a limit, or for a tenant limited by tokens, every request is counted on its own, as
above. What a lease costs: another process may be refused up to the requests a lease holds unused
(about a second of one process's traffic), and a lease left unused at the minute's end stays in
the day's count until this process next counts the tenant's requests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

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


LEASE_HEADROOM = 16  # a lease of k requests is taken only while both windows have room for 16k
LEASE_SECONDS = 1.0  # a lease used up sooner than this after it was taken is followed by a larger one


@dataclass
class Lease:
    """Requests of one tenant counted ahead by this process: ``left`` of them in ``minute``, whose
    count stood at ``minute_count`` (and the day's at ``day_count``) after this process's last
    count. A lease's size doubles while each is used up within ``LEASE_SECONDS`` of the count
    before it, and halves otherwise; it starts at one (a single count)."""

    pk: str = ""  # the counter item (tenant and day) the rest is about
    minute: int = -1
    left: int = 0
    minute_count: int = 0
    day_count: int = 0
    counted_at: float = float("-inf")
    size: int = 1
    unreturned: int = 0  # unused requests of an earlier minute's lease, still in the day's count
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, pk: str, minute: int) -> bool:
        """One request admitted from the lease, if it has one left in this minute."""
        if self.pk != pk:  # a new day, a new counter item: what the old one holds no longer matters
            self.pk, self.minute, self.left, self.unreturned, self.minute_count, self.day_count = pk, -1, 0, 0, 0, 0
        if self.left and self.minute >= minute:  # a clock behind ours counts in the minute it opened
            self.left -= 1
            return True
        return False

    def next_size(self, counter: Counter, now: float, maximum: int) -> int:
        """How many requests the next count should add: more than one only while requests come
        quickly and both windows have ``LEASE_HEADROOM`` times as much room as it would take."""
        if self.left:  # a lease of an earlier minute: what it did not use goes back with the next count
            self.unreturned, self.left = self.unreturned + self.left, 0
        quick = now - self.counted_at < LEASE_SECONDS
        self.size = min(maximum, 2 * self.size) if quick else max(1, self.size // 2)
        minute_room = counter.rpm - (self.minute_count if self.minute >= int(now // 60) else 0)
        day_room = counter.rpd - self.day_count + self.unreturned
        return max(1, min(self.size, minute_room // LEASE_HEADROOM, day_room // LEASE_HEADROOM))

    def give_back(self) -> int:
        """What an earlier minute's lease left unused: taken off the day's count by the next count."""
        returned, self.unreturned = self.unreturned, 0
        return returned

    def noted(self, counted: bool, item: dict[str, Any], minute: int, *, size: int, returned: int,
              now: float) -> None:
        """After a count of ``size`` (a lease when above one), or its refusal (``item`` as the
        count found it) or failure (no ``item``)."""
        if not counted:
            self.unreturned += returned  # it was not taken off: the next count gives it back
            if size > 1:
                self.size = 1  # a lease that did not fit: one by one from here
        if item and minute >= self.minute:
            state = Counter.state(item, minute)
            self.minute_count, self.day_count = state["requests"], state["day"]
            if minute > self.minute:
                self.minute, self.left = minute, 0
            if counted and size > 1:
                self.left = size - 1
        if counted:
            self.counted_at = now


class QuotaStoreUnavailable(Exception):
    """The counters table failed and the policy is to fail closed."""


class RateLimiter:
    """``on_store_failure``: what happens when the counters table itself fails (not a full
    window): "open" admits the request uncounted (a ``counters_table`` degradation, counted and
    alarmed), "closed" refuses it with a 503. ``max_lease``: the most requests of a tenant one
    count admits ahead (``Lease``); 1 counts every request with its own write."""

    def __init__(self, table_name: str, client: Any, defaults: Quotas, *, on_store_failure: str = "open",
                 max_lease: int = 64) -> None:
        check_choice("on_store_failure", on_store_failure, QUOTA_STORE_FAILURE)
        self._table, self._ddb, self.defaults = table_name, client, defaults
        self.fail_open, self.max_lease = on_store_failure == "open", max_lease
        self._leases: dict[str, Lease] = {}  # by tenant

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

    def from_lease(self, tenant_id: str, overrides: Quotas | None = None) -> Admission | None:
        """The request admitted from this process's lease for the tenant, without waiting: None
        when there is none left, or another request is counting one (``admit`` it)."""
        lease = self._leases.get(tenant_id)
        if lease is None or not lease.lock.acquire(blocking=False):
            return None
        try:
            counter, now = self._counter(tenant_id, overrides, None, 0)
            if self._leasable(counter) and lease.take(counter.pk, int(now // 60)):
                return self._admission(counter, True, {}, lease.minute, now, lease=lease)
            return None
        finally:
            lease.lock.release()

    def _leasable(self, counter: Counter) -> bool:
        """Leases are on, and the tenant is not limited by tokens (reserved request by request)."""
        return self.max_lease > 1 and counter.quotas.tpm is None

    def _counter(self, tenant_id: str, overrides: Quotas | None, now: float | None,
                 estimate: int) -> tuple[Counter, float]:
        quotas = (overrides or Quotas()).over(self.defaults)
        now = time.time() if now is None else now
        day = int(now // 86400)
        # A request larger than the whole limit still runs in an empty minute (never a dead end).
        reserve = min(max(1, estimate), quotas.tpm) if quotas.tpm is not None else 0
        return Counter(f"{tenant_id}#d#{day}", quotas, reserve, (day + 2) * 86400), now

    def _admit(self, tenant_id: str, overrides: Quotas | None, now: float | None, estimate: int) -> Admission:
        counter, now = self._counter(tenant_id, overrides, now, estimate)
        minute = int(now // 60)
        if not self._leasable(counter):
            counted, item, minute = counter.bump(self._ddb, self._table, minute)
            return self._admission(counter, counted, item, minute, now)
        lease = self._leases.setdefault(tenant_id, Lease())
        with lease.lock:  # held while a lease is counted: the requests arriving meanwhile share it
            if lease.take(counter.pk, minute):
                return self._admission(counter, True, {}, lease.minute, now, lease=lease)
            size = lease.next_size(counter, now, self.max_lease)
            if size > 1:
                counted, item, minute = self._count(lease, counter, minute, now, size)
                if counted:
                    return self._admission(counter, True, item, minute, now, lease=lease)
        # Counted on its own, beside the tenant's other requests, as without leases.
        counted, item, minute = self._count(lease, counter, minute, now, 1)
        return self._admission(counter, counted, item, minute, now)

    def _count(self, lease: Lease, counter: Counter, minute: int, now: float,
               size: int) -> tuple[bool, dict[str, Any], int]:
        """One count of ``size`` requests, which gives back what an earlier minute's lease left
        unused. A lease (``size`` above one) is counted with the lease's lock held, a single count
        without it, beside the tenant's other requests."""
        held = contextlib.nullcontext() if size > 1 else lease.lock
        with held:
            returned = lease.give_back()
        counted, item = False, cast(dict[str, Any], {})
        try:
            counted, item, minute = counter.bump(self._ddb, self._table, minute, size=size, returned=returned)
        finally:
            with held:
                lease.noted(counted, item, minute, size=size, returned=returned, now=now)
        return counted, item, minute

    def _admission(self, counter: Counter, counted: bool, item: dict[str, Any], minute: int, now: float, *,
                   lease: Lease | None = None) -> Admission:
        """The request's admission after a count (or from ``lease``, whose unused requests are its
        own to come), or the RateLimited of the window that refused it."""
        quotas = counter.quotas
        state = (counter.state(item, minute) if lease is None else
                 {"requests": lease.minute_count - lease.left, "day": lease.day_count, "tokens": 0})
        admission = Admission(
            limit=counter.rpm, remaining=counter.rpm - state["requests"], reset_seconds=(minute + 1) * 60 - int(now),
            token_limit=quotas.tpm, tokens_remaining=None if quotas.tpm is None else quotas.tpm - state["tokens"],
            reserved=counter.reserve, counter=counter.pk, minute=minute)
        if counted:
            return admission
        if state["day"] >= counter.rpd:
            raise RateLimited("day", counter.rpd, (int(now // 86400) + 1) * 86400 - int(now), admission)
        if quotas.tpm is not None and state["tokens"] > quotas.tpm - counter.reserve:
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

    def bump(self, ddb: Any, table: str, minute: int, *, size: int = 1,
             returned: int = 0) -> tuple[bool, dict[str, Any], int]:
        """Count ``size`` requests (the request and a lease's others): (counted, the item after it,
        the minute it counted in), or (False, the item as it was, the minute) when a window has no
        room for them. Within the item's minute its counters are added to; a later minute starts
        them again. ``returned``: an earlier lease's unused requests, taken off the day's count."""
        tokens = self.quotas.tpm is not None
        values = {":n": {"N": str(size)}, ":day_n": {"N": str(size - returned)},
                  ":day_room": {"N": str(self.rpd - size + returned)}, ":exp": {"N": str(self.expires_at)},
                  **({":reserve": {"N": str(self.reserve)}} if tokens else {})}
        day_has_room = "(attribute_not_exists(requests) OR requests <= :day_room)"
        same = Bump(f"#minute = :minute AND minute_requests <= :minute_room AND {day_has_room}"
                    + (" AND minute_tokens <= :room" if tokens else ""),
                    "ADD requests :day_n, minute_requests :n" + (", minute_tokens :reserve" if tokens else "")
                    + " SET expires_at = if_not_exists(expires_at, :exp)",
                    {":minute_room": {"N": str(self.rpm - size)},
                     **({":room": {"N": str((self.quotas.tpm or 0) - self.reserve)}} if tokens else {})})
        later = Bump(f"(attribute_not_exists(#minute) OR #minute < :minute) AND {day_has_room}",
                     "ADD requests :day_n SET #minute = :minute, minute_requests = :n"
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
