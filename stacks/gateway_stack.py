"""The gateway, composed: semantic cache + eval loop behind a guarded endpoint."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from llm_gateway.constructs import (
    EvalLoop,
    GatewayMonitoring,
    GuardedEndpoint,
    LexChatbot,
    ModelRouter,
    RagStore,
    RateLimiter,
    SemanticCache,
    TenantAuthorizer,
    UsageDashboard,
    UsageLedger,
)
from stacks.config import EnvironmentConfig


class GatewayStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = self._network() if config.private_network else None
        cache = SemanticCache(self, "Cache", ttl=cdk.Duration.days(config.cache_ttl_days),
                              vector_index=config.cache_vector_index, vector_batch=config.cache_vector_batch,
                              removal_policy=config.removal_policy)
        eval_loop = EvalLoop(self, "EvalLoop", model=config.model, sample_rate=config.sample_rate, cache=cache,
                             log_retention=config.log_retention, removal_policy=config.removal_policy, vpc=vpc)
        tenants = TenantAuthorizer(self, "Tenants", log_retention=config.log_retention,
                                   removal_policy=config.removal_policy, vpc=vpc)
        limiter = RateLimiter(self, "RateLimiter", requests_per_minute=config.requests_per_minute,
                              requests_per_day=config.requests_per_day, tokens_per_minute=config.tokens_per_minute,
                              on_store_failure=config.quota_store_failure)
        router = ModelRouter(self, "Router", routes=config.routes, removal_policy=config.removal_policy)
        usage = UsageLedger(self, "Usage", retention=cdk.Duration.days(config.usage_retention_days),
                            prices=config.prices, bodies_for_tenants=config.usage_bodies_tenants,
                            metric_tenants=config.usage_metric_tenants,
                            log_retention=config.log_retention, removal_policy=config.removal_policy, vpc=vpc)
        rag = RagStore(self, "Rag", embedding_model_id=config.model.embed_model_id,
                       removal_policy=config.removal_policy)
        endpoint = GuardedEndpoint(self, "Endpoint", cache=cache, eval_loop=eval_loop, model=config.model,
                                   tenants=tenants, rate_limiter=limiter, router=router, usage=usage, rag=rag,
                                   guardrail_backend=config.guardrail_backend, stage_name=config.stage_name,
                                   log_retention=config.log_retention, removal_policy=config.removal_policy,
                                   vpc=vpc)
        chatbot = LexChatbot(self, "Chatbot", endpoint=endpoint, log_retention=config.log_retention,
                             removal_policy=config.removal_policy, vpc=vpc)
        dashboard = UsageDashboard(self, "Dashboard", api=endpoint.api, log_retention=config.log_retention,
                                   removal_policy=config.removal_policy)
        monitoring = GatewayMonitoring(self, "Monitoring", endpoint=endpoint, eval_loop=eval_loop, usage=usage)
        cdk.CfnOutput(self, "ApiUrl", value=endpoint.url)
        cdk.CfnOutput(self, "OperationsDashboardUrl", value=monitoring.dashboard_url)
        cdk.CfnOutput(self, "DashboardUrl", value=dashboard.url)
        cdk.CfnOutput(self, "CacheTable", value=cache.table.table_name)
        cdk.CfnOutput(self, "IncidentsTable", value=endpoint.incidents_table.table_name)
        cdk.CfnOutput(self, "ScoresTable", value=eval_loop.scores_table.table_name)
        cdk.CfnOutput(self, "KeysTableName", value=tenants.keys_table.table_name)
        cdk.CfnOutput(self, "RoutesTableName", value=router.table.table_name)
        cdk.CfnOutput(self, "UsageTable", value=usage.table.table_name)
        cdk.CfnOutput(self, "RagVectorBucketArn", value=rag.vector_bucket_arn)
        cdk.CfnOutput(self, "ChatbotAliasArn", value=chatbot.bot_alias_arn)

    def _network(self) -> ec2.Vpc:
        """Seed 002's private placement: isolated subnets in two zones (no NAT: AWS services are
        reached through VPC endpoints, so external providers need a VPC with egress), flow logs on."""
        return ec2.Vpc(self, "Network", max_azs=2, nat_gateways=0, subnet_configuration=[
            ec2.SubnetConfiguration(name="functions", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)],
            flow_logs={"all": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.ALL)})
