"""Tenant authorizer: API Gateway TOKEN authorizer over the hashed key records in Secrets Manager.

Allow carries the tenant (and its quota overrides and allowed models) to the gateway in the request
context; unknown, revoked, expired or malformed keys get Deny (403). API Gateway itself answers 401
when the header is missing. The key is never logged. The secret is read through Powertools
Parameters and cached for ``KEYS_CACHE_SECONDS``, so a new or revoked key takes effect without a
deploy (plus API Gateway's own result cache TTL).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import AUTHORIZER_SERVICE, Settings
from llm_gateway.core.tenants import KeyRecord, authenticate, parse_records
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(AUTHORIZER_SERVICE)
settings = Settings.from_env()


class Keys:
    """The key records from the cached secret; an unknown key re-reads it (at most once per
    ``KEYS_REFRESH_SECONDS``), so a key created a moment ago is not denied and then cached as denied."""

    def __init__(self) -> None:
        self._secrets = parameters.SecretsProvider()  # one client, one cache per container
        self._last_refresh = 0.0

    def find(self, token: str) -> KeyRecord | None:
        secret = self._secrets.get(settings.keys_secret_id, max_age=settings.keys_cache_seconds)
        record = authenticate(token, parse_records(str(secret)))
        if record is None and time.monotonic() - self._last_refresh >= settings.keys_refresh_seconds:
            self._last_refresh = time.monotonic()
            secret = self._secrets.get(settings.keys_secret_id, max_age=settings.keys_cache_seconds,
                                       force_fetch=True)
            record = authenticate(token, parse_records(str(secret)))
        return record


keys = Keys()  # module scope: built once per container


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerTokenEvent(event)
    arn = request.parsed_arn
    record = keys.find(request.authorization_token or "")
    if record is None:
        logger.info("API key rejected")
        metrics.add_metric(name="KeyRejected", unit=MetricUnit.Count, value=1)
        denied = APIGatewayAuthorizerResponse("anonymous", arn.region, arn.aws_account_id, arn.api_id, arn.stage)
        denied.deny_all_routes()
        return denied.asdict()

    quotas = {name: str(value) for name, value in record.quotas.items()}
    allowed = APIGatewayAuthorizerResponse(
        record.tenantId, arn.region, arn.aws_account_id, arn.api_id, arn.stage,
        context={"tenantId": record.tenantId, "keyId": record.key_id, "label": record.label,
                 "models": ",".join(record.models), "guardrail": record.guardrail or "", **quotas})
    allowed.allow_all_routes()  # one cached decision serves every route for this key
    logger.info("API key accepted", extra={"tenant_id": record.tenantId, "key_id": record.key_id})
    metrics.add_metric(name="KeyAccepted", unit=MetricUnit.Count, value=1)
    return allowed.asdict()
