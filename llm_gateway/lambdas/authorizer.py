"""Tenant authorizer: API Gateway TOKEN authorizer over the hashed keys table.

Allow carries the tenant (and its quota overrides, allowed models and guardrail profile) to the
gateway in the request context; unknown, revoked, expired or malformed keys get Deny, which API
Gateway answers 401 (as it does a missing header). The key is never logged. Each decision is one
GetItem by the key's hash, with no cache of its own: a new or revoked key takes effect as soon as
API Gateway's result cache for it expires (``results_cache_ttl``, the revocation latency).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import AUTHORIZER_SERVICE, Settings
from llm_gateway.core import aws
from llm_gateway.core.tenants import KeyStore
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(AUTHORIZER_SERVICE)
keys = KeyStore(Settings.from_env().keys_table, aws.client("dynamodb"))  # module scope: once per container


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerTokenEvent(event)
    arn = request.parsed_arn
    record = keys.find(request.authorization_token or "")  # a store outage raises: API Gateway answers 5xx
    if record is None:
        logger.info("API key rejected")
        metrics.add_metric(name="KeyRejected", unit=MetricUnit.Count, value=1)
        denied = APIGatewayAuthorizerResponse("anonymous", arn.region, arn.aws_account_id, arn.api_id, arn.stage)
        denied.deny_all_routes()
        return denied.asdict()

    quotas = {name: str(value) for name, value in record.quotas.items()}
    budgets = {f"budget_{name}": str(value) for name, value in record.budgets.items()}
    allowed = APIGatewayAuthorizerResponse(
        record.tenantId, arn.region, arn.aws_account_id, arn.api_id, arn.stage,
        context={"tenantId": record.tenantId, "keyId": record.key_id, "label": record.label,
                 "models": ",".join(record.models), "guardrail": record.guardrail or "",
                 "admin": str(record.admin).lower(), **quotas, **budgets})
    allowed.allow_all_routes()  # one cached decision serves every route for this key
    logger.info("API key accepted", extra={"tenant_id": record.tenantId, "key_id": record.key_id})
    metrics.add_metric(name="KeyAccepted", unit=MetricUnit.Count, value=1)
    return allowed.asdict()
