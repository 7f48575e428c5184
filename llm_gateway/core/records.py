"""Durable records the pipeline writes besides the cache: guardrail incidents and eval events."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

from llm_gateway.contract import ANSWER_EVENT, EVENT_SOURCE
from llm_gateway.core.background import others_in_flight

EXCERPT_CHARS = 2000
# While other requests are in flight, how long a send waits for their records to join it
# (PostgreSQL's commit_delay, with commit_siblings): at 100 requests a second, about a PutEvents'
# 10 entries. Records are off the response's path; in Lambda nothing else is in flight, no wait.
LINGER_SECONDS = 0.15


class GroupCommit:
    """Work from concurrent callers, sent together. A caller that finds no send under way sends
    its item (alone, a request waits for nothing more); items that arrive meanwhile go out together
    in the next send, at most ``limit`` of them and ``budget`` by ``weight``, sent by the caller
    already sending, while any are left. While ``busy`` (other requests in flight) a send first
    waits up to ``linger`` seconds for a whole send's worth. Each caller returns its own item's
    result once it is sent, or raises what failed it. ``send`` returns, item by item, its result
    (None for a write) or the exception that item failed with.

    A long-lived server under load so makes one ``PutEvents`` or ``BatchWriteItem`` call for
    several answers where it made one each (and one round trip to the local encoder for several
    questions); a Lambda environment serves one request at a time, so there each goes alone and
    at once, as before (its duration is billed)."""

    def __init__(self, send: Callable[[list[Any]], Sequence[Any]], *, limit: int,
                 budget: int = 0, weight: Callable[[Any], int] = lambda _: 0, linger: float = LINGER_SECONDS,
                 busy: Callable[[], bool] = others_in_flight) -> None:
        self._send, self._limit, self._budget, self._weight = send, limit, budget, weight
        self._linger, self._busy = linger, busy
        self._lock, self._queue, self._sending = threading.Lock(), list[tuple[Any, int, Future[Any]]](), False
        self._arrived = threading.Condition(self._lock)

    def __call__(self, item: Any) -> Any:
        done: Future[Any] = Future()
        weight = self._weight(item)
        with self._lock:
            self._queue.append((item, weight, done))
            self._arrived.notify()
            lead, self._sending = not self._sending, True
        if lead:
            self._drain()
        return done.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if self._queue and self._linger and not self._full() and self._busy():
                    self._arrived.wait_for(self._full, self._linger)
                batch = self._next()
                if not batch:
                    self._sending = False
                    return
            try:
                results = list(self._send([item for item, _, _ in batch]))
            except Exception as exc:
                results = [exc] * len(batch)
            for (_, _, done), result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    def _full(self) -> bool:
        """Whether the queue holds a whole send: ``limit`` items, or ``budget`` by weight."""
        return len(self._queue) >= self._limit or bool(
            self._budget and sum(weight for _, weight, _ in self._queue) >= self._budget)

    def _next(self) -> list[tuple[Any, int, Future[Any]]]:
        """The queue's head, within the limits (its first item always: one too heavy fails alone)."""
        taken, total = 0, 0
        for _, weight, _ in self._queue[:self._limit]:
            total += weight
            if taken and self._budget and total > self._budget:
                break
            taken += 1
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch


class IncidentLog:
    """One row per guardrail block: pk ``request_id``, sk ``stage``; a ``by_tenant`` index lists them."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table, self._ddb = table_name, client

    def record(self, *, request_id: str, tenant_id: str, stage: str, reason: str, text: str,
               signals: tuple[str, ...] = ()) -> None:
        """``signals``: which detectors fired, so an operator can see why."""
        self._ddb.put_item(TableName=self._table, Item={
            "request_id": {"S": request_id},
            "stage": {"S": stage},
            "tenant_id": {"S": tenant_id},
            "reason": {"S": reason},
            "signals": {"L": [{"S": signal} for signal in signals]},
            "excerpt": {"S": text[:EXCERPT_CHARS]},
            "created_at": {"N": str(int(time.time()))},
        })


@dataclass(frozen=True)
class AnswerEvent:
    request_id: str
    tenant_id: str
    model_alias: str
    model_id: str
    question: str
    answer: str
    cache_ref: dict[str, Any] | None = None  # where the answer was cached, for eviction by the judge


class EvalEvents:
    """Publishes fresh answers to the eval bus (EventBridge -> SQS -> judge): ``sample_rate`` of
    them, chosen here, at the source, so an answer not to be judged costs no event, queue message or
    judge invocation. If the bus refuses one (after botocore's retries), the event is kept in
    ``keep_queue`` (the eval loop's dead-letter queue), in the envelope the judge reads, so a
    redrive scores it later. Each event names its eval ``loop`` (``detail.loop``), which its rule
    matches: on a bus other gateways also publish to, each judge scores its own gateway's answers."""

    MAX_ENTRIES, MAX_BYTES = 10, 256 * 1024  # a PutEvents call's limits

    def __init__(self, bus_name: str, client: Any, *, keep_queue: str = "", sqs: Any = None,
                 sample_rate: float = 1.0, loop: str = "") -> None:
        self._bus, self._events, self._keep, self._sqs = bus_name, client, keep_queue, sqs
        self._sample_rate, self._loop = sample_rate, loop
        self._put = GroupCommit(self._put_events, limit=self.MAX_ENTRIES, budget=self.MAX_BYTES,
                                weight=lambda entry: sum(len(str(v).encode()) for v in entry.values()))

    def _put_events(self, entries: list[dict[str, str]]) -> list[Exception | None]:
        reply = self._events.put_events(Entries=entries)
        return [RuntimeError(f"eval event rejected: {result.get('ErrorMessage')}") if result.get("ErrorCode") else None
                for result in reply["Entries"]]

    def sampled(self) -> bool:
        """Whether the next answer is to be judged."""
        return random.random() < self._sample_rate

    def answer_generated(self, event: AnswerEvent) -> None:
        detail = {**asdict(event), "loop": self._loop} if self._loop else asdict(event)
        entry = {"EventBusName": self._bus, "Source": EVENT_SOURCE, "DetailType": ANSWER_EVENT,
                 "Detail": json.dumps(detail)}
        try:
            self._put(entry)
        except Exception as exc:
            if not (self._keep and self._sqs):
                raise
            envelope = {"source": EVENT_SOURCE, "detail-type": ANSWER_EVENT, "detail": detail}
            self._sqs.send_message(QueueUrl=self._keep, MessageBody=json.dumps(envelope))
            raise EventKept(str(exc)) from exc


class EventKept(Exception):
    """The bus refused the event; it is in the keep queue (not judged until redriven)."""


MAX_BATCH_WRITE = 25  # requests in a BatchWriteItem call


def batch_write(client: Any, requests: dict[str, list[dict[str, Any]]], attempts: int = 4) -> dict[str, Any]:
    """``BatchWriteItem`` until DynamoDB has taken every request (at most 25), or ``attempts``
    calls, backing off between them; what it never took (its ``UnprocessedItems``, empty if all)."""
    pending = {table: items for table, items in requests.items() if items}
    for attempt in range(attempts):
        if not pending:
            break
        if attempt:
            time.sleep(0.05 * 2 ** (attempt - 1))
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return pending
