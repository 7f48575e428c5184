"""Usage function: the gateway's usage lines (a CloudWatch Logs subscription) -> the requests table
and its counters.

CloudWatch Logs invokes it asynchronously with the lines the ledger's subscription filter matched
(``{"usage_record": ...}``, see ``core/usage.py``), gzipped and base64-encoded. Each record is
written at most once (a transaction, conditional on the request id being new), so a delivery that
comes again never counts a request twice. A batch's records go in as few transactions as fit,
their counter updates merged (``UsageStore.write_batch``: each counter added to once, not once a
record); a run that cannot be written so (a redelivery among them, say) is written a record at a
time (``UsageStore.write``), up to three times for one that fails (a throttled table). If any
record is still not written, the invocation fails: Lambda retries the whole delivery (what was
written is skipped), then hands it to the dead-letter queue.

What the batch's new records came to is also emitted as metrics (``spend_metrics``): cost, savings
and tokens service-wide, blocks by reason, and spend by tenant for the tenants the stack names
(others together as "other": the metrics' cardinality stays bounded). Each record's line in the
log carries its tenant and cost, for a Contributor Insights top-tenants rule over all of them.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
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
from llm_gateway.core import aws
from llm_gateway.core.usage import UsageRecord, UsageStore
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(USAGE_SERVICE)
settings = Settings.from_env()
store = UsageStore(settings.usage_table, aws.client("dynamodb"), retention_days=settings.usage_retention_days)
METRIC_TENANTS = frozenset(t for t in settings.usage_metric_tenants.split(",") if t)
written: list[UsageRecord] = []  # this batch's new records
WRITE_PASSES = 3  # over the records a batch's transactions did not take, before the delivery fails


class RecordsNotWritten(RuntimeError):
    """Some of a delivery's records could not be written: the delivery is to come again."""


def stored(usage: UsageRecord) -> bool:
    """Written now or before; False if this attempt failed (the others still go in)."""
    try:
        write_record(usage)
    except Exception:
        logger.exception("usage record not written", extra={"request_id": usage.request_id})
        return False
    return True


@tracer.capture_method
def write_record(usage: UsageRecord) -> None:
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


def usage_lines(event: dict[str, Any]) -> list[str]:
    """The log lines a subscription delivered (none in CloudWatch Logs' CONTROL_MESSAGE, its check
    that the destination answers)."""
    data = CloudWatchLogsEvent(event).parse_logs_data()
    return [e.message for e in data.log_events] if data.message_type == "DATA_MESSAGE" else []


def merged(records: list[UsageRecord]) -> list[UsageRecord]:
    """Write the records in as few transactions as fit, counters merged (``write_batch``); those of
    a run that could not be written so (a redelivery among them, an outage) are returned for
    ``write_record``, one at a time."""
    left: list[UsageRecord] = []
    for run in store.chunks(records):
        if len(run) > 1 and store.write_batch(run):
            for usage in run:
                recorded(usage)
        else:
            left += run
    return left


def parsed(lines: list[str]) -> list[UsageRecord]:
    """The records among the lines; a line that is none (the filter matched something else) is
    logged whole and counted, not retried: it would fail the same way again."""
    records = []
    for line in lines:
        try:
            records.append(UsageRecord.parse(line))
        except (ValueError, TypeError):
            logger.error("not a usage record", extra={"line": line[:2000]})
            metrics.add_metric(name="UsageLinesMalformed", unit=MetricUnit.Count, value=1)
    return records


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    records = parsed(usage_lines(event))
    metrics.add_metric(name="UsageRecordsReceived", unit=MetricUnit.Count, value=len(records))
    written.clear()
    left: list[UsageRecord] = []
    try:
        left = merged(records)
        for attempt in range(WRITE_PASSES):  # a throttled write goes again, a little later
            if attempt and left:
                time.sleep(0.1 * 2 ** attempt)
            left = [usage for usage in left if not stored(usage)]
    finally:
        for dimensions, figures in spend_metrics(written) if written else []:
            emit(dimensions, figures)
    if left:
        raise RecordsNotWritten(f"{len(left)} of {len(records)} usage records were not written: "
                                "the delivery is retried")
    return {"received": len(records), "written": len(written)}
