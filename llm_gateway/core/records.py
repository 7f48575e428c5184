"""Durable records the pipeline writes besides the cache: guardrail incidents and eval events."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from llm_gateway.contract import ANSWER_EVENT, EVENT_SOURCE

EXCERPT_CHARS = 2000


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
    """Publishes every fresh answer to the eval bus (EventBridge -> SQS -> judge). If the bus
    refuses it (after botocore's retries), the event is kept in ``keep_queue`` (the eval loop's
    dead-letter queue), in the envelope the judge reads, so a redrive scores it later."""

    def __init__(self, bus_name: str, client: Any, *, keep_queue: str = "", sqs: Any = None) -> None:
        self._bus, self._events, self._keep, self._sqs = bus_name, client, keep_queue, sqs

    def answer_generated(self, event: AnswerEvent) -> None:
        entry = {"EventBusName": self._bus, "Source": EVENT_SOURCE, "DetailType": ANSWER_EVENT,
                 "Detail": json.dumps(asdict(event))}
        try:
            reply = self._events.put_events(Entries=[entry])
            if reply.get("FailedEntryCount"):
                raise RuntimeError(f"eval event rejected: {reply['Entries'][0].get('ErrorMessage')}")
        except Exception as exc:
            if not (self._keep and self._sqs):
                raise
            envelope = {"source": EVENT_SOURCE, "detail-type": ANSWER_EVENT, "detail": asdict(event)}
            self._sqs.send_message(QueueUrl=self._keep, MessageBody=json.dumps(envelope))
            raise EventKept(str(exc)) from exc


class EventKept(Exception):
    """The bus refused the event; it is in the keep queue (not judged until redriven)."""


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
