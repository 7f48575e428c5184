"""The gateway function's Powertools logger, metrics and tracer, shared by its doors."""

from llm_gateway.contract import GATEWAY_SERVICE
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(GATEWAY_SERVICE)
