"""The gateway function's Powertools logger and metrics, shared by its doors."""

from llm_gateway.contract import GATEWAY_SERVICE
from llm_gateway.observability import logs_and_metrics

logger, metrics = logs_and_metrics(GATEWAY_SERVICE)
