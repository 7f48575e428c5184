"""``GatewayMonitoring``: the operators' CloudWatch dashboard and the alarms that page them, built
from the metrics the other constructs expose (``metric_*``); none of them owns an opinion on it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from llm_gateway.constructs.eval_loop import EvalLoop
from llm_gateway.constructs.guarded_endpoint import GuardedEndpoint
from llm_gateway.constructs.usage_ledger import UsageLedger
from llm_gateway.contract import OTHER_TENANTS

FIVE_MINUTES = cdk.Duration.minutes(5)


class GatewayMonitoring(Construct):
    """A dashboard (traffic and errors, latency p50/p99, 429s, guardrail blocks by reason, cache
    hit rate, judge score, cost and savings, spend by tenant, DLQ depths, every alarm's state) and
    alarms: 5xx rate, p99 latency, budgets nearly spent, beside the ones the constructs already
    have (DLQs, judge score, degraded dependencies), all notifying ``alarm_topic`` if given.

    :param server_error_rate: the share of requests answered 5xx (over 5 minutes) that alarms.
    :param p99_latency: API Gateway's p99 latency that alarms (model time included; 30 s by default).
    """

    def __init__(self, scope: Construct, id: str, *, endpoint: GuardedEndpoint, eval_loop: EvalLoop | None = None,
                 usage: UsageLedger | None = None, alarm_topic: sns.ITopic | None = None,
                 server_error_rate: float = 0.05, p99_latency: cdk.Duration | None = None,
                 dashboard_name: str | None = None) -> None:
        super().__init__(scope, id)
        if not 0 < server_error_rate < 1:
            raise ValueError("server_error_rate must be between 0 and 1")
        p99_latency = p99_latency or cdk.Duration.seconds(30)
        requests = endpoint.metric_requests(period=FIVE_MINUTES)
        error_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, errors / requests, 0)", label="5xx rate", period=FIVE_MINUTES,
            using_metrics={"errors": endpoint.metric_server_errors(period=FIVE_MINUTES), "requests": requests})
        hit_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * hits / requests, 0)", label="cache hit rate (%)", period=FIVE_MINUTES,
            using_metrics={"hits": endpoint.metric_cache_hits(period=FIVE_MINUTES), "requests": requests})

        self.server_errors_alarm = error_rate.create_alarm(
            self, "ServerErrors", threshold=server_error_rate, evaluation_periods=3, datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"More than {server_error_rate:.0%} of gateway requests answered 5xx")
        self.latency_alarm = endpoint.metric_latency(statistic="p99", period=FIVE_MINUTES).create_alarm(
            self, "LatencyP99", threshold=p99_latency.to_milliseconds(), evaluation_periods=3, datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Gateway p99 latency above {p99_latency.to_seconds():g} s")
        self.budget_alarm = endpoint.metric_budget_nearly_spent(period=FIVE_MINUTES).create_alarm(
            self, "BudgetNearlySpent", threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="A tenant or key has spent 90% or more of a USD budget (see the billing endpoint)")
        self.alarms: list[cloudwatch.IAlarm] = [self.server_errors_alarm, self.latency_alarm, self.budget_alarm,
                                                 *endpoint.degraded_alarms.values()]
        if eval_loop:
            self.alarms += [eval_loop.dlq_alarm, eval_loop.score_alarm]
        if usage:
            self.alarms.append(usage.dlq_alarm)
        if alarm_topic:
            for alarm in (self.server_errors_alarm, self.latency_alarm, self.budget_alarm):
                alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=cdk.Duration.hours(6))

        def graph(title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None,
                  width: int = 8, **options: object) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=width, height=6,
                                          **options)  # type: ignore[arg-type]

        self.dashboard.add_widgets(
            graph("Requests and errors", [requests.with_(label="requests"),
                                          endpoint.metric_client_errors(period=FIVE_MINUTES).with_(label="4xx"),
                                          endpoint.metric_server_errors(period=FIVE_MINUTES).with_(label="5xx"),
                                          endpoint.metric_rate_limited(period=FIVE_MINUTES).with_(label="429 quota")]),
            graph("Latency", [endpoint.metric_latency(statistic="p50", period=FIVE_MINUTES).with_(label="p50"),
                              endpoint.metric_latency(statistic="p99", period=FIVE_MINUTES).with_(label="p99")],
                  left_annotations=[cloudwatch.HorizontalAnnotation(value=p99_latency.to_milliseconds(),
                                                                    label="p99 alarm")]),
            graph("Cache hit rate", [hit_rate], left_y_axis=cloudwatch.YAxisProps(min=0, max=100)))
        judged: list[cloudwatch.IMetric] = [eval_loop.metric_score()] if eval_loop else []
        blocks: list[cloudwatch.IMetric] = (
            [usage.metric_blocks_by_reason(period=FIVE_MINUTES)] if usage
            else [endpoint.metric_guardrail_blocks(period=FIVE_MINUTES)])
        self.dashboard.add_widgets(
            graph("Guardrail blocks by reason", blocks, stacked=True),
            graph("Judge score (average)", judged, left_y_axis=cloudwatch.YAxisProps(min=0, max=1)),
            graph("Budgets nearly spent", [endpoint.metric_budget_nearly_spent(period=FIVE_MINUTES)]))
        if usage:
            tenants: list[cloudwatch.IMetric] = [usage.metric_tenant_cost(t, period=FIVE_MINUTES).with_(label=t)
                                                 for t in [*usage.metric_tenants, OTHER_TENANTS]]
            self.dashboard.add_widgets(
                graph("Cost (USD)", [usage.metric_cost(period=FIVE_MINUTES).with_(label="spent"),
                                     usage.metric_cache_savings(period=FIVE_MINUTES).with_(label="saved by the cache")],
                      [usage.metric_tokens(period=FIVE_MINUTES).with_(label="tokens")]),
                graph("Spend by tenant (USD)", tenants, stacked=True),
                graph("Queues: dead letters and backlog",
                      [usage.metric_dead_letters().with_(label="usage DLQ"),
                       *([eval_loop.metric_dead_letters().with_(label="eval DLQ")] if eval_loop else [])],
                      [usage.metric_delivery_age().with_(label="usage records' delivery age (ms)")]))
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))

    @property
    def dashboard_url(self) -> str:
        stack = cdk.Stack.of(self)
        return (f"https://{stack.region}.console.aws.amazon.com/cloudwatch/home?region={stack.region}"
                f"#dashboards:name={self.dashboard.dashboard_name}")
