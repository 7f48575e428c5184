"""Powertools Logger, Metrics and Tracer, set up the same way in every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

NAMESPACE = "LLMGateway"


def powertools(service: str) -> tuple[Logger, Metrics, Tracer]:
    """Structured JSON logs (the core's stdlib loggers included), EMF metrics, X-Ray traces.

    ``POWERTOOLS_SERVICE_NAME`` / ``POWERTOOLS_METRICS_NAMESPACE`` override the names given here.
    """
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include={"llm_gateway"})
    return logger, Metrics(namespace=NAMESPACE, service=service), Tracer(service=service)
