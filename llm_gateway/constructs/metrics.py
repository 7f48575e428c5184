"""The CloudWatch metrics the functions emit (EMF via Powertools), for ``metric_*`` helpers.
Alarms and dashboards are built from these by whoever composes the constructs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from llm_gateway.contract import GATEWAY_SERVICE, METRICS_NAMESPACE


def gateway_metric(name: str, *, service: str = GATEWAY_SERVICE, statistic: str = "Sum",
                   period: cdk.Duration | None = None, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=name,
                             dimensions_map={"service": service, **dimensions},
                             statistic=statistic, period=period or cdk.Duration.minutes(5))
