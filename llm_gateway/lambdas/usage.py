"""Usage function: SQS (usage records) -> the requests table and its counters.

Each record is written at most once (``UsageStore.write``: one transaction, conditional on the
request id being new), so SQS's at-least-once delivery never counts a request twice; a record
that fails is reported alone (partial batch response) and comes back, the others stay written.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import USAGE_SERVICE, Settings
from llm_gateway.core.usage import UsageRecord, UsageStore
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(USAGE_SERVICE)
settings = Settings.from_env()
store = UsageStore(settings.usage_table, boto3.client("dynamodb"), retention_days=settings.usage_retention_days)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def write_record(record: SQSRecord) -> None:  # BatchProcessor passes it as ``record``
    usage = UsageRecord.parse(record.body)
    logger.set_correlation_id(usage.request_id)
    if not store.write(usage):
        logger.info("usage record already written (a redelivery)")
        metrics.add_metric(name="UsageDuplicates", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_metric(name="UsageRecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=write_record, processor=processor, context=context)
