"""Powertools Logger, Metrics and Tracer, set up the same way in every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics

from llm_gateway.contract import METRICS_NAMESPACE


def logs_and_metrics(service: str) -> tuple[Logger, EphemeralMetrics]:
    """Structured JSON logs (the core's stdlib loggers included) and EMF metrics.

    ``POWERTOOLS_SERVICE_NAME`` / ``POWERTOOLS_METRICS_NAMESPACE`` override the names given here.
    EphemeralMetrics keeps each function's metrics to itself, also when the local runner hosts
    several functions in one process.
    """
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"llm_gateway"})
    return logger, EphemeralMetrics(namespace=METRICS_NAMESPACE, service=service)


def powertools(service: str) -> tuple[Logger, EphemeralMetrics, Tracer]:
    """Logs and metrics, and X-Ray traces of the handler and its AWS calls. A Tracer imports and
    patches the X-Ray SDK (about 150 ms of cold start): the gateway function, whose latency users
    feel, goes without one and relies on the function's active tracing and its logs' ids."""
    return (*logs_and_metrics(service), Tracer(service=service))
