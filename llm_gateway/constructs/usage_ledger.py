"""``UsageLedger``: usage lines in a function's log -> subscription filter -> usage Lambda (failed
deliveries to a DLQ) -> requests table and counters."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as log_destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from llm_gateway.constructs._lambda import dead_letters_alarm, grant_table, python_function, queue_depth, table_props
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.contract import (
    METRIC_COST,
    METRIC_GUARDRAIL_BLOCKS,
    METRIC_SAVED,
    METRIC_TENANT_COST,
    METRIC_TOKENS,
    METRICS_NAMESPACE,
    OTHER_TENANTS,
    USAGE_SERVICE,
    Settings,
)
from llm_gateway.core.usage import USAGE_LINE_PATTERN

MAX_METRIC_TENANTS = 50


class UsageLedger(Construct):
    """Every request the gateway meters, written once, with what it cost (DESIGN.md section 12).

    The gateway writes one line per request to its log after its response (no AWS call); a
    subscription filter on the log group (``record_from``) hands the lines to the usage function,
    which writes each record to the requests table with the per-day counters the billing endpoint
    reads, idempotently on the request id. A delivery that fails is retried twice by Lambda, then
    kept in the dead-letter queue for 14 days (an alarm fires on the first). Records expire after
    ``retention``; counters stay.

    :param retention: how long request records are kept (DynamoDB TTL).
    :param prices: USD per million tokens by provider model (``{"model": {"input": 0.25,
        "output": 1.25, "checked": "2026-11-25"}}``), over the shipped table (``core/prices.json``).
    :param bodies_for_tenants: tenants who opted in to keeping prompts and answers in their records.
    :param metric_tenants: tenants whose spend gets metrics of its own (at most 50; the others are
        counted together as "other", so the metrics' cardinality stays bounded).
    :param retry_attempts: retries of a failed delivery (Lambda's asynchronous invocation, 0 to 2)
        before it goes to the dead-letter queue.
    :param table: bring your own requests table (string ``pk`` and ``sk``, TTL on ``expires_at``).
    """

    def __init__(self, scope: Construct, id: str, *, retention: cdk.Duration | None = None,
                 prices: dict[str, dict[str, object]] | None = None, bodies_for_tenants: list[str] | None = None,
                 metric_tenants: list[str] | None = None,
                 retry_attempts: int = 2, table: ddb.ITable | None = None,
                 encryption_key: kms.IKey | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        retention = retention or cdk.Duration.days(Settings.usage_retention_days)
        if retention.to_days() < 1 or not 0 <= retry_attempts <= 2:
            raise ValueError("retention must be at least a day, retry_attempts 0 to 2")
        self.metric_tenants = metric_tenants or []
        if len(self.metric_tenants) > MAX_METRIC_TENANTS or OTHER_TENANTS in self.metric_tenants:
            raise ValueError(f"metric_tenants: at most {MAX_METRIC_TENANTS} tenants, none named {OTHER_TENANTS!r}")
        self.retention_days = int(retention.to_days())
        self.prices, self.bodies_for_tenants = prices or {}, bodies_for_tenants or []
        timeout = cdk.Duration.seconds(30)
        self.dead_letter_queue = sqs.Queue(self, "DeadLetterQueue", encryption=sqs.QueueEncryption.SQS_MANAGED,
                                           enforce_ssl=True, retention_period=cdk.Duration.days(14))
        cdk.Validations.of(self.dead_letter_queue).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-SQS3", reason="It is a dead-letter queue: the usage function's on-failure "
                                           "destination (Lambda's asynchronous invocation), which cdk-nag does "
                                           "not recognise as one."))
        self.table: ddb.ITable = table or ddb.Table(
            self, "Requests", partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
            time_to_live_attribute="expires_at", **table_props(removal_policy, encryption_key))
        self.function = python_function(
            self, "Writer", handler="llm_gateway.lambdas.usage.handler", timeout=timeout,
            description="Writes each gateway request's usage record once, with its counters",
            vpc=vpc, vpc_subnets=vpc_subnets,
            log_retention=log_retention, removal_policy=removal_policy,
            environment={"POWERTOOLS_SERVICE_NAME": USAGE_SERVICE,
                         **Settings.env(usage_table=self.table.table_name, usage_retention_days=self.retention_days,
                                        usage_metric_tenants=",".join(self.metric_tenants) or None)})
        # CloudWatch Logs invokes it asynchronously: what still fails after the retries is kept.
        self.function.configure_async_invoke(retry_attempts=retry_attempts, max_event_age=cdk.Duration.hours(6),
                                             on_failure=destinations.SqsDestination(self.dead_letter_queue))
        # A transaction's Put and Updates are authorised as those actions.
        grant_table(self.function, self.table, "PutItem", "UpdateItem")

        self.dlq_alarm = dead_letters_alarm(
            self, self.metric_dead_letters(), "Usage records could not be written: they wait in the dead-letter queue")

    @property
    def environment(self) -> dict[str, str]:
        """What the gateway needs: records to its log, where usage is read, the prices, the opt-ins."""
        return Settings.env(usage_records="log", usage_table=self.table.table_name,
                            usage_retention_days=self.retention_days,
                            usage_bodies_tenants=",".join(self.bodies_for_tenants) or None,
                            prices_json=json.dumps(self.prices, sort_keys=True) if self.prices else None)

    def record_from(self, function: lambda_.Function) -> logs.SubscriptionFilter:
        """Write the usage records ``function`` logs (one running the pipeline with ``environment``):
        a subscription filter on its log group, for the lines that are usage records only."""
        id = f"From{cdk.Names.unique_id(function)}"
        if isinstance(subscribed := self.node.try_find_child(id), logs.SubscriptionFilter):
            return subscribed  # asked again for the same function: one filter is enough
        return logs.SubscriptionFilter(
            self, id, log_group=function.log_group,
            destination=log_destinations.LambdaDestination(self.function),
            filter_pattern=logs.FilterPattern.literal(USAGE_LINE_PATTERN), filter_name="usage-records")

    def grant_read_usage(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the counters (the billing endpoint): queries only, never a scan."""
        return grant_table(grantee, self.table, "Query")

    def metric_dead_letters(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return queue_depth(self.dead_letter_queue, period)

    def metric_delivery_age(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """How long the oldest delivery of records waited for the usage function: the ledger's lag."""
        return self.function.metric("AsyncEventAge", period=period or cdk.Duration.minutes(1), statistic="Maximum")

    def metric_cost(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """USD spent on models, from the records written."""
        return gateway_metric(METRIC_COST, service=USAGE_SERVICE, period=period)

    def metric_cache_savings(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """USD the cache's answers would have cost from the models."""
        return gateway_metric(METRIC_SAVED, service=USAGE_SERVICE, period=period)

    def metric_tokens(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return gateway_metric(METRIC_TOKENS, service=USAGE_SERVICE, period=period)

    def metric_tenant_cost(self, tenant: str, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """A named tenant's spend (``metric_tenants``), or ``"other"``: everyone else's."""
        if tenant not in (*self.metric_tenants, OTHER_TENANTS):
            raise ValueError(f"{tenant!r} has no metrics of its own: add it to metric_tenants")
        return gateway_metric(METRIC_TENANT_COST, service=USAGE_SERVICE, period=period, tenant=tenant)

    def metric_blocks_by_reason(self, *, period: cdk.Duration | None = None) -> cloudwatch.MathExpression:
        """Guardrail blocks, one series per reason (a search: reasons appear as they happen)."""
        seconds = int((period or cdk.Duration.minutes(5)).to_seconds())
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{METRICS_NAMESPACE},reason,service}} MetricName=\"{METRIC_GUARDRAIL_BLOCKS}\" "
                       f"service=\"{USAGE_SERVICE}\"', 'Sum', {seconds})",
            label="", period=period or cdk.Duration.minutes(5), using_metrics={})
