"""Judge function: SQS batch of answer events -> scores table (one write for the batch) +
``JudgeScore`` metric.

Partial batch responses: a record whose judging fails, or whose score DynamoDB did not take, is
reported back and retried by SQS (then dead-lettered); the rest of the batch is kept. The metric
goes out as EMF in the function's log, so a CloudWatch API outage cannot lose a score.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import JUDGE_SERVICE, METRIC_JUDGE_SCORE, Settings
from llm_gateway.core.judge import Score
from llm_gateway.core.wiring import build_judge
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(JUDGE_SERVICE)
settings = Settings.from_env()
judge = build_judge(settings)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def score_record(record: SQSRecord) -> Score | None:
    envelope = json.loads(record.body)
    detail = envelope.get("detail", envelope)  # EventBridge envelope, or a bare detail replayed by hand
    logger.set_correlation_id(detail.get("request_id"))
    return judge.score(detail)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_metric(name="AnswersReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    with processor(event["Records"], score_record, context):
        outcomes = processor.process()
    scored = {record["messageId"]: score for status, score, record in outcomes if status == "success" and score}
    try:
        unsaved = judge.save(list(scored.values()))
    except Exception:
        logger.exception("scores not saved: their answers go back to the queue")
        unsaved = {score.request_id for score in scored.values()}
    response = processor.response()
    for message_id, score in scored.items():
        if score.request_id in unsaved:
            response["batchItemFailures"].append({"itemIdentifier": message_id})
            continue
        logger.set_correlation_id(score.request_id)
        metrics.add_metric(name=METRIC_JUDGE_SCORE, unit=MetricUnit.NoUnit, value=score.score)
        logger.info("answer scored", extra={"score": score.score, "rubric": score.rubric})
    return response
