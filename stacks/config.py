"""Per-environment settings, from ``cdk.json`` context (``-c env=prod`` picks one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from llm_gateway.constructs import ModelAccess
from llm_gateway.contract import Settings


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    stage_name: str
    model: ModelAccess
    sample_rate: float
    cache_ttl_days: int
    cache_vector_index: bool
    cache_vector_batch: int  # vectors a PutVectors waits for (SemanticCache.vector_batch)
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    guardrail_backend: str
    requests_per_minute: int
    requests_per_day: int
    tokens_per_minute: int | None
    quota_store_failure: str
    routes: dict[str, Any]
    usage_retention_days: int
    prices: dict[str, Any]
    usage_bodies_tenants: list[str]
    usage_metric_tenants: list[str]
    private_network: bool  # the functions in a VPC of their own (isolated subnets, VPC endpoints)

    @classmethod
    def from_context(cls, scope: cdk.App) -> EnvironmentConfig:
        name = scope.node.try_get_context("env") or "dev"
        environments: dict[str, dict[str, Any]] = scope.node.try_get_context("environments") or {}
        if name not in environments:
            raise ValueError(f"unknown env {name!r}: cdk.json defines {sorted(environments)}")
        c = environments[name]
        return cls(
            name=name,
            stage_name=c.get("stageName", "v1"),
            model=ModelAccess(llm_mode=c.get("llmMode", "bedrock"),
                              model_id=c.get("modelId", ModelAccess.model_id),
                              embed_model_id=c.get("embedModelId", ModelAccess.embed_model_id),
                              judge_model_id=c.get("judgeModelId", ModelAccess.judge_model_id)),
            sample_rate=float(c.get("sampleRate", Settings.sample_rate)),
            cache_ttl_days=int(c.get("cacheTtlDays", Settings.cache_ttl_seconds // 86400)),
            cache_vector_index=bool(c.get("cacheVectorIndex", False)),
            cache_vector_batch=int(c.get("cacheVectorBatch", Settings.cache_vector_batch)),
            log_retention=logs.RetentionDays[c.get("logRetention", "ONE_MONTH")],
            removal_policy=cdk.RemovalPolicy[c.get("removalPolicy", "DESTROY")],
            guardrail_backend=c.get("guardrailBackend", "layered"),
            requests_per_minute=int(c.get("requestsPerMinute", Settings.default_rpm)),
            requests_per_day=int(c.get("requestsPerDay", Settings.default_rpd)),
            tokens_per_minute=int(c["tokensPerMinute"]) if c.get("tokensPerMinute") else None,
            quota_store_failure=c.get("quotaStoreFailure", Settings.quota_store_failure),
            routes=c.get("routes") or scope.node.try_get_context("routes") or {},
            usage_retention_days=int(c.get("usageRetentionDays", Settings.usage_retention_days)),
            prices=c.get("prices") or scope.node.try_get_context("prices") or {},
            usage_bodies_tenants=list(c.get("usageBodiesTenants") or []),
            usage_metric_tenants=list(c.get("usageMetricTenants") or []),
            private_network=bool(c.get("privateNetwork", False)),
        )
