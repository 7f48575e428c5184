"""Judge function: SQS batch of answer events -> scores table + ``JudgeScore`` metric.

Partial batch responses: a record whose judging fails is reported back and retried by SQS (then
dead-lettered); the rest of the batch is kept. The metric goes out as EMF in the function's log,
so a CloudWatch API outage cannot lose a score.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import JUDGE_SERVICE, METRIC_JUDGE_SCORE, Settings
from llm_gateway.core.wiring import build_judge
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(JUDGE_SERVICE)
settings = Settings.from_env()
judge = build_judge(settings)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def score_record(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    detail = envelope.get("detail", envelope)  # EventBridge envelope, or a bare detail replayed by hand
    logger.set_correlation_id(detail.get("request_id"))
    score = judge.score(detail)
    if score is not None:
        metrics.add_metric(name=METRIC_JUDGE_SCORE, unit=MetricUnit.NoUnit, value=score.score)
        logger.info("answer scored", extra={"score": score.score, "rubric": score.rubric})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_metric(name="AnswersReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=score_record, processor=processor,
                                    context=context)
