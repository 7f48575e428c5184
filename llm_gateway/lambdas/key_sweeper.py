"""Scheduled key sweeper: marks the keys whose expiry has passed ``expired``, and warns (a log line
per key, the ``KeysExpiringSoon`` metric, which ``TenantAuthorizer`` alarms on) of the active keys
that expire within ``KEY_EXPIRY_WARNING_DAYS``, so rotation with overlap (``keys rotate``) happens
before a client's key stops working. The key itself is never known here; its public id is logged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.contract import KEY_SWEEPER_SERVICE, METRIC_KEYS_EXPIRED, METRIC_KEYS_EXPIRING, Settings
from llm_gateway.core import aws
from llm_gateway.core.tenants import KeyRecord, KeyStore, now_utc, parse_iso
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools(KEY_SWEEPER_SERVICE)
settings = Settings.from_env()
keys = KeyStore(settings.keys_table, aws.client("dynamodb"))  # module scope: once per container


def _described(record: KeyRecord) -> dict[str, Any]:
    return {"key_id": record.key_id, "tenant_id": record.tenantId, "label": record.label,
            "expires_at": record.expiresAt}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    now = now_utc()
    sweep = keys.sweep(now, warn_within=timedelta(days=settings.key_expiry_warning_days))
    for record in sweep.expired:
        logger.info("API key expired", extra=_described(record))
    for record in sweep.expiring:
        days = (parse_iso(record.expiresAt or "") - now).total_seconds() / 86400
        logger.warning("API key expires soon: rotate it (llm-gateway keys rotate --overlap ...)",
                       extra={**_described(record), "days_left": round(days, 1)})
    metrics.add_metric(name=METRIC_KEYS_EXPIRED, unit=MetricUnit.Count, value=len(sweep.expired))
    metrics.add_metric(name=METRIC_KEYS_EXPIRING, unit=MetricUnit.Count, value=len(sweep.expiring))
    return {"expired": [r.key_id for r in sweep.expired], "expiring": [r.key_id for r in sweep.expiring]}
