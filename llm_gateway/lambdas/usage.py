"""Usage function: SQS (usage records) -> the requests table and its counters.

Each record is written at most once (a transaction, conditional on the request id being new), so
SQS's at-least-once delivery never counts a request twice. A batch's records go in as few
transactions as fit, their counter updates merged (``UsageStore.write_batch``: each counter
added to once, not once a record); a run that cannot be written so (a redelivery among them, say)
is written a record at a time (``UsageStore.write``), where a record that fails is reported alone
(partial batch response) and comes back, the others stay written.

What the batch's new records came to is also emitted as metrics (``spend_metrics``): cost, savings
and tokens service-wide, blocks by reason, and spend by tenant for the tenants the stack names
(others together as "other": the metrics' cardinality stays bounded). Each record's line in the
log carries its tenant and cost, for a Contributor Insights top-tenants rule over all of them.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import (
    METRIC_COST,
    METRIC_GUARDRAIL_BLOCKS,
    METRIC_SAVED,
    METRIC_TENANT_COST,
    METRIC_TENANT_REQUESTS,
    METRIC_TOKENS,
    METRICS_NAMESPACE,
    OTHER_TENANTS,
    USAGE_SERVICE,
    Settings,
)
from llm_gateway.core.usage import UsageRecord, UsageStore
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(USAGE_SERVICE)
settings = Settings.from_env()
store = UsageStore(settings.usage_table, boto3.client("dynamodb"), retention_days=settings.usage_retention_days)
processor = BatchProcessor(event_type=EventType.SQS)
METRIC_TENANTS = frozenset(t for t in settings.usage_metric_tenants.split(",") if t)
written: list[UsageRecord] = []  # this batch's new records


@tracer.capture_method
def write_record(record: SQSRecord) -> None:  # BatchProcessor passes it as ``record``
    usage = UsageRecord.parse(record.body)
    logger.set_correlation_id(usage.request_id)
    if not store.write(usage):
        logger.info("usage record already written (a redelivery)")
        metrics.add_metric(name="UsageDuplicates", unit=MetricUnit.Count, value=1)
        return
    recorded(usage)


def recorded(usage: UsageRecord) -> None:
    written.append(usage)
    logger.info("usage recorded", extra={"tenant_id": usage.tenant_id, "status": usage.status,
                                         "cost_usd": usage.cost_usd, "model": usage.model,
                                         "request_id": usage.request_id,
                                         "tokens": usage.prompt_tokens + usage.completion_tokens})


Figures = dict[str, tuple[float, MetricUnit]]


def spend_metrics(records: list[UsageRecord]) -> list[tuple[dict[str, str], Figures]]:
    """The batch's records as metrics, by dimensions: service-wide, per block reason, per tenant
    (named tenants by name, the rest as "other")."""
    found: list[tuple[dict[str, str], Figures]] = [({}, {
        METRIC_COST: (sum(r.cost_usd for r in records), MetricUnit.NoUnit),
        METRIC_SAVED: (sum(r.saved_usd for r in records), MetricUnit.NoUnit),
        METRIC_TOKENS: (sum(r.prompt_tokens + r.completion_tokens for r in records), MetricUnit.Count)})]
    reasons: dict[str, int] = {}
    tenants: dict[str, list[UsageRecord]] = {}
    for record in records:
        if record.block_reason:
            reasons[record.block_reason] = reasons.get(record.block_reason, 0) + 1
        tenants.setdefault(record.tenant_id if record.tenant_id in METRIC_TENANTS else OTHER_TENANTS, []).append(record)
    found += [({"reason": reason}, {METRIC_GUARDRAIL_BLOCKS: (count, MetricUnit.Count)})
              for reason, count in sorted(reasons.items())]
    found += [({"tenant": tenant}, {METRIC_TENANT_COST: (sum(r.cost_usd for r in group), MetricUnit.NoUnit),
                                    METRIC_TENANT_REQUESTS: (len(group), MetricUnit.Count)})
              for tenant, group in sorted(tenants.items())]
    return found


def emit(dimensions: dict[str, str], figures: Figures) -> None:
    """One EMF document (Powertools), with the service dimension and these."""
    document = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=USAGE_SERVICE)
    for name, value in dimensions.items():
        document.add_dimension(name=name, value=value)
    for name, (amount, unit) in figures.items():
        document.add_metric(name=name, unit=unit, value=amount)
    document.flush_metrics()


def merged(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write the batch's records in as few transactions as fit, counters merged (``write_batch``);
    the messages of a run that could not be written so (a redelivery among them, a malformed body,
    an outage) are returned for ``write_record``, one at a time."""
    parsed: list[tuple[dict[str, Any], UsageRecord]] = []
    left: list[dict[str, Any]] = []
    for message in messages:
        try:
            parsed.append((message, UsageRecord.parse(message["body"])))
        except Exception:  # its own write reports it
            left.append(message)
    by_record = {id(usage): message for message, usage in parsed}  # by identity: a duplicate is two
    for run in store.chunks([usage for _, usage in parsed]):
        if len(run) > 1 and store.write_batch(run):
            for usage in run:
                recorded(usage)
        else:
            left += [by_record[id(usage)] for usage in run]
    return left


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_metric(name="UsageRecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    written.clear()
    try:
        left = merged(list(event.get("Records", [])))
        if not left:
            return {"batchItemFailures": []}
        return process_partial_response(event={**event, "Records": left}, record_handler=write_record,
                                        processor=processor, context=context)
    finally:
        for dimensions, figures in spend_metrics(written) if written else []:
            emit(dimensions, figures)
