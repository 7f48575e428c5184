"""Model aliases -> weighted provider targets, with retries, fallbacks and cooldowns.

Routes come from code/props (``ROUTES_JSON``) and are overridden live by rows of the routes table
(``alias``, ``targets``, ``fallbacks``, ``strategy``, ``enabled``, ...), cached for ``ttl`` seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer

from llm_gateway.contract import Route, Target, parse_routes
from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, UpstreamError
from llm_gateway.core.degraded import degraded
from llm_gateway.core.media import MediaRequest, MediaResult
from llm_gateway.core.providers import MediaProvider, Providers
from llm_gateway.core.usage import Prices

__all__ = ["Route", "RouteTable", "Router", "Served", "Target", "parse_routes"]

T = TypeVar("T")
log = logging.getLogger(__name__)
# What parsing a 2xx body that is not what the provider's API promises raises (no "choices", not
# JSON, a string where an object belongs): an upstream fault like any 5xx, retried then fallen back.
MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def malformed(target: Target, exc: Exception) -> UpstreamError:
    log.warning("malformed response from %s %s: %r", target.provider, target.model, exc)
    return UpstreamError(502, "sent a malformed response")


class RouteTable:
    def __init__(self, defaults: dict[str, Route], table: str = "", client: Any = None, ttl: float = 30.0) -> None:
        self.defaults, self._table, self._ddb, self._ttl = defaults, table, client, ttl
        self._cache: dict[str, tuple[float, Route | None]] = {}
        self._listed: tuple[float, dict[str, Route]] | None = None
        self._lock = threading.Lock()

    def _row(self, item: dict[str, Any]) -> Route | None:
        """A table row as a route; None (logged and counted) if it is not a valid one: a bad row
        must not take down the alias, let alone every alias."""
        try:
            plain = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
            return Route.parse(str(plain.pop("alias")), plain)
        except Exception as exc:
            degraded("route_row", exc, alias=str(item.get("alias", {}).get("S", "?")))
            return None

    def get(self, alias: str) -> Route | None:
        """The enabled route for an alias, or None. The table's row wins over code; without the
        table (an outage) the code's route serves."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(alias)
        if cached and cached[0] > now:
            route = cached[1]
        else:
            route = self.defaults.get(alias)
            if self._table:
                try:
                    item = self._ddb.get_item(TableName=self._table, Key={"alias": {"S": alias}}).get("Item")
                except Exception as exc:
                    degraded("routes_table", exc)
                    item = None
                route = (self._row(item) or route) if item else route
            with self._lock:
                self._cache[alias] = (now + self._ttl, route)
        return route if route and route.enabled else None

    def all(self) -> dict[str, Route]:
        """Every enabled route (for /v1/models): the table is small config, so a scan is fine here."""
        now = time.monotonic()
        if self._listed and self._listed[0] > now:
            return self._listed[1]
        routes = dict(self.defaults)
        if self._table:
            try:
                items = [item for page in self._ddb.get_paginator("scan").paginate(TableName=self._table)
                         for item in page["Items"]]
            except Exception as exc:
                degraded("routes_table", exc)
                items = []
            routes |= {route.alias: route for route in map(self._row, items) if route}
        enabled = {alias: route for alias, route in routes.items() if route.enabled}
        self._listed = (now + self._ttl, enabled)
        return enabled


@dataclass(frozen=True)
class Served:
    """Which provider and model answered, after how many attempts, and how long the gateway spent
    waiting on providers (every attempt and backoff, not only the one that answered)."""

    target: Target
    provider: str
    model: str
    attempts: int
    upstream_ms: float = 0.0


@dataclass
class Router:
    routes: RouteTable
    providers: Providers
    cooldown_seconds: float = 30.0
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    prices: Prices = field(default_factory=Prices)  # the cost strategy's, the ledger's: one table
    _cool_until: dict[str, float] = field(default_factory=dict)  # target name -> monotonic time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- which targets, in which order --------------------------------------------------------
    def _cooling(self, target: Target) -> bool:
        return self._cool_until.get(target.name, 0.0) > time.monotonic()

    def _price(self, target: Target) -> float:
        """USD per million tokens in and out: the route's figures, else the price table's."""
        price = self.prices.for_target(target)
        return price.input + price.output

    def _order(self, route: Route) -> list[Target]:
        healthy = [t for t in route.targets if not self._cooling(t)]
        pool = healthy or list(route.targets)  # all cooling: try them anyway rather than fail outright
        if route.strategy == "cost":
            return sorted(pool, key=lambda t: (self._price(t), -t.weight))
        ordered, remaining = [], list(pool)  # cooling targets, if any healthy one exists, go last
        while remaining:  # weighted draw without replacement
            pick = self.rng.uniform(0, sum(t.weight for t in remaining))
            for target in remaining:
                pick -= target.weight
                if pick <= 0:
                    break
            ordered.append(target)
            remaining.remove(target)
        return ordered + [t for t in route.targets if t not in pool]

    def plan(self, route: Route) -> list[tuple[Route, Target]]:
        """The primary route's targets, then its fallback aliases' (each alias once)."""
        plan, seen, queue = [], set(), [route]
        while queue:
            current = queue.pop(0)
            if current.alias in seen:
                continue
            seen.add(current.alias)
            plan += [(current, target) for target in self._order(current)]
            queue += [r for r in (self.routes.get(a) for a in current.fallbacks) if r]
        return plan

    def _succeeded(self, target: Target) -> None:
        with self._lock:
            self._cool_until.pop(target.name, None)

    def _failed(self, target: Target) -> None:
        with self._lock:
            self._cool_until[target.name] = time.monotonic() + self.cooldown_seconds

    def _backoff(self, attempt: int, error: UpstreamError) -> float:
        if error.retry_after is not None:
            return min(float(error.retry_after), self.backoff_cap)
        return min(self.backoff_cap, self.backoff_base * 2.0**attempt) * self.rng.uniform(0.5, 1.5)  # jitter

    # -- calling ------------------------------------------------------------------------------
    def _attempt(self, route: Route, call: Callable[[Route, Target], T]) -> tuple[T, Served]:
        last: UpstreamError | None = None
        attempts, started = 0, time.perf_counter()
        for current, target in self.plan(route):
            for attempt in range(current.retries + 1):
                attempts += 1
                try:
                    result = call(current, target)
                except (UpstreamError, *MALFORMED) as raised:
                    error = raised if isinstance(raised, UpstreamError) else malformed(target, raised)
                    error.provider = error.provider or target.provider
                    last = error
                    if not error.fallback:
                        raise  # the provider rejected the request itself: another one would too
                    if error.retryable and attempt < current.retries:
                        self.sleep(self._backoff(attempt, error))
                        continue
                    break
                self._succeeded(target)
                provider = self.providers.get(target.provider)
                return result, Served(target, getattr(provider, "label", target.provider),
                                      getattr(provider, "model_label", None) or target.model, attempts,
                                      (time.perf_counter() - started) * 1000)
            self._failed(target)
        raise last or UpstreamError(503, f"route {route.alias} has no targets")

    def _key(self, target: Target) -> str | None:
        return self.providers.keys.key(target.provider, target.key_id)

    def complete(self, route: Route, request: ChatRequest) -> tuple[ChatResult, Served]:
        return self._attempt(route, lambda r, t: self.providers.get(t.provider).complete(
            request, t.model, self._key(t), r.timeout))

    def embed(self, route: Route, inputs: list[str]) -> tuple[Embeddings, Served]:
        return self._attempt(route, lambda r, t: self.providers.get(t.provider).embed(
            inputs, t.model, self._key(t), r.timeout))

    def media(self, route: Route, request: MediaRequest) -> tuple[MediaResult, Served]:
        def call(r: Route, t: Target) -> MediaResult:
            provider = self.providers.get(t.provider)
            if not isinstance(provider, MediaProvider):
                raise UpstreamError(400, f"{t.provider} targets serve no {request.operation}")
            return provider.media(request, t.model, self._key(t), r.timeout)

        return self._attempt(route, call)

    def stream(self, route: Route, request: ChatRequest) -> tuple[Iterator[Delta], Served]:
        """Retries and fallbacks apply until the first delta arrives; after that the stream is the
        client's, and a failure surfaces to it (never a silent switch to another model)."""

        def first(r: Route, t: Target) -> tuple[Delta, Iterator[Delta]]:
            deltas = iter(self.providers.get(t.provider).stream(request, t.model, self._key(t), r.timeout))
            try:
                return next(deltas), deltas
            except StopIteration:
                raise UpstreamError(502, "upstream stream was empty") from None

        (head, rest), served = self._attempt(route, first)

        def chained() -> Iterator[Delta]:
            yield head
            yield from rest

        return chained(), served
