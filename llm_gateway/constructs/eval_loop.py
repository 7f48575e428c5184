"""``EvalLoop``: answer events -> EventBridge -> SQS (with DLQ) -> judge Lambda -> scores table + metric."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from llm_gateway.constructs._lambda import (
    dead_letters_alarm,
    grant_table,
    python_function,
    queue_depth,
    queue_for_function,
    table_props,
)
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.constructs.models import ModelAccess
from llm_gateway.constructs.semantic_cache import SemanticCache
from llm_gateway.contract import ANSWER_EVENT, EVENT_SOURCE, JUDGE_SERVICE, METRIC_JUDGE_SCORE, Settings


class EvalLoop(Construct):
    """Scores the answers the gateway gives (all, or a sample), off the hot path.

    :param sample_rate: share of answers judged (1.0 judges all; lower it to bound the judge's bill).
        The publisher samples (``environment`` carries the rate): an answer not judged costs no
        event, queue message or judge invocation. The judge scores every event that reaches it.
    :param max_receive_count: deliveries before a message goes to the dead-letter queue.
    :param batch_size: answers a judge invocation takes at most; :param batching_window: how long
        Lambda gathers them first, 1 s by default (one invocation, one poll and one delete for a
        batch, rather than for each answer under load; a score, and a low-scored answer's eviction
        from the cache, arrive up to that much later).
    :param score_alarm_threshold: the average ``JudgeScore`` below which ``score_alarm`` fires.
    :param alarm_topic: where both alarms notify, if anywhere.
    :param cache: the ``SemanticCache`` whose answers the judge evicts when it scores them below
        ``evict_below``.
    :param event_bus: bring your own bus (the rule is added to it); :param scores_table: your own
        scores table (string partition key ``request_id``).
    """

    def __init__(self, scope: Construct, id: str, *, model: ModelAccess | None = None,
                 sample_rate: float = Settings.sample_rate, max_receive_count: int = 3, batch_size: int = 10,
                 batching_window: cdk.Duration | None = None,
                 score_alarm_threshold: float = 0.6, alarm_topic: sns.ITopic | None = None,
                 event_bus: events.IEventBus | None = None, scores_table: ddb.ITable | None = None,
                 cache: SemanticCache | None = None, evict_below: float = Settings.cache_evict_below,
                 encryption_key: kms.IKey | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate}")
        if max_receive_count < 1 or not 1 <= batch_size <= 10000:
            raise ValueError("max_receive_count must be at least 1 and batch_size within 1..10000")
        model = model or ModelAccess()
        self.sample_rate = sample_rate
        self.bus: events.IEventBus = event_bus or events.EventBus(self, "Bus")
        # What its publishers' events name, and all its rule matches: another gateway's answers on a
        # shared bus (bring your own) are its own judge's, not scored twice.
        self.loop_id = cdk.Names.unique_id(self)
        judge_timeout = cdk.Duration.seconds(60)
        self.queue, self.dead_letter_queue = queue_for_function(self, consumer_timeout=judge_timeout,
                                                                max_receive_count=max_receive_count)
        self.rule = events.Rule(
            self, "AnswerRule", event_bus=self.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[ANSWER_EVENT],
                                              detail={"loop": [self.loop_id]}),
            # EventBridge retries a failed delivery for a day, then keeps the event in the DLQ.
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue, retry_attempts=185,
                                      max_event_age=cdk.Duration.hours(24))])
        self.scores_table: ddb.ITable = scores_table or ddb.Table(
            self, "Scores", partition_key=ddb.Attribute(name="request_id", type=ddb.AttributeType.STRING),
            **table_props(removal_policy, encryption_key))
        self.judge_function = python_function(
            self, "Judge", handler="llm_gateway.lambdas.judge.handler", timeout=judge_timeout,
            description="Scores gateway answers with a second model call", vpc=vpc, vpc_subnets=vpc_subnets,
            log_retention=log_retention, removal_policy=removal_policy,
            environment={"POWERTOOLS_SERVICE_NAME": JUDGE_SERVICE, **model.environment,
                         **Settings.env(scores_table=self.scores_table.table_name),
                         **(Settings.env(cache_table=cache.table.table_name, cache_evict_below=evict_below)
                            if cache else {})})
        self.judge_function.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=batch_size, max_batching_window=batching_window or cdk.Duration.seconds(1),
            report_batch_item_failures=True))
        grant_table(self.judge_function, self.scores_table, "BatchWriteItem")
        if cache:
            cache.grant_evict(self.judge_function)
        model.grant_invoke(self.judge_function)

        self.dlq_alarm = dead_letters_alarm(
            self, self.metric_dead_letters(), "Answer events the judge could not score are in the dead-letter queue")
        self.score_alarm = self.metric_score().create_alarm(
            self, "ScoreAlarm", threshold=score_alarm_threshold, evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Average judge score of gateway answers dropped")
        if alarm_topic:
            for alarm in (self.dlq_alarm, self.score_alarm):
                alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))

    @property
    def environment(self) -> dict[str, str]:
        """What a function publishing answer events needs in its environment: the bus, the loop its
        events name, the share of answers to publish, and the dead-letter queue that keeps an event
        the bus refused."""
        return Settings.env(event_bus_name=self.bus.event_bus_name, eval_loop=self.loop_id,
                            sample_rate=self.sample_rate, eval_keep_queue_url=self.dead_letter_queue.queue_url)

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Publish answer events, and keep one in the dead-letter queue when the bus refuses it."""
        return self.bus.grant_put_events_to(grantee).combine(self.dead_letter_queue.grant_send_messages(grantee))

    def metric_score(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """The judge's ``JudgeScore`` (EMF, emitted by Powertools Metrics), averaged."""
        return gateway_metric(METRIC_JUDGE_SCORE, service=JUDGE_SERVICE, statistic="Average", period=period)

    def metric_dead_letters(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Answer events the judge gave up on, waiting in the dead-letter queue."""
        return queue_depth(self.dead_letter_queue, period)
