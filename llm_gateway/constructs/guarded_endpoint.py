"""``GuardedEndpoint``: the REST API, the gateway function behind it, its Bedrock Guardrail and
incidents table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, python_function, table_props
from llm_gateway.constructs.eval_loop import EvalLoop
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.constructs.model_router import ModelRouter
from llm_gateway.constructs.models import ModelAccess
from llm_gateway.constructs.rag_store import RagStore
from llm_gateway.constructs.rate_limiter import RateLimiter
from llm_gateway.constructs.semantic_cache import SemanticCache
from llm_gateway.constructs.tenant_authorizer import TenantAuthorizer
from llm_gateway.constructs.usage_ledger import UsageLedger
from llm_gateway.contract import (
    DEGRADED,
    GATEWAY_SERVICE,
    GUARDRAIL_BACKENDS,
    METRIC_BUDGET_NEARLY_SPENT,
    METRIC_CACHE_HITS,
    METRIC_DEGRADED,
    METRIC_GUARDRAIL_BLOCKS,
    METRIC_RATE_LIMITED,
    METRICS_NAMESPACE,
    PII_ANONYMIZED,
    PII_BLOCKED,
    Settings,
    check_choice,
)

# API Gateway's own errors (no key, bad key, stage throttling, its own failures) in OpenAI's shape,
# so SDKs read them like the gateway's: (status, type, code, message).
GATEWAY_RESPONSES = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "authentication_error", "missing_api_key",
                                      "Missing API key: send 'Authorization: Bearer <key>'."),
    apigw.ResponseType.ACCESS_DENIED: ("401", "authentication_error", "invalid_api_key",
                                       "Invalid, revoked or expired API key."),
    apigw.ResponseType.THROTTLED: ("429", "rate_limit_error", "rate_limit_exceeded",
                                   "Too many requests to the gateway; slow down."),
    apigw.ResponseType.DEFAULT_4_XX: (None, "invalid_request_error", "invalid_request",
                                      "The request was rejected before it reached the gateway."),
    apigw.ResponseType.DEFAULT_5_XX: (None, "api_error", "gateway_error", "The gateway failed; try again."),
}
WEB_ADAPTER_ACCOUNT = "753240598075"  # AWS Lambda Web Adapter's public layers
WEB_ADAPTER_LAYER_VERSION = 27
BINARY_MEDIA_TYPES = ("multipart/form-data", "audio/*", "image/*", "application/octet-stream")
# The Web Adapter's bootstrap executes ${LAMBDA_TASK_ROOT}/${_HANDLER}: the script's path in the asset.
GATEWAY_HANDLER = "llm_gateway/lambdas/run.sh"
GATEWAY_APP = "llm_gateway.lambdas.gateway:app"


@dataclass(frozen=True)
class GuardrailPolicy:
    """The Bedrock Guardrail's policies. Strengths: NONE | LOW | MEDIUM | HIGH.

    ``content_filters`` maps a filter type to (input strength, output strength); PROMPT_ATTACK only
    applies to input. ``pii_anonymized`` entity types are masked in answers ({EMAIL}, {PHONE}, ...);
    ``pii_blocked`` ones make the guardrail refuse.
    """

    content_filters: dict[str, tuple[str, str]] = field(default_factory=lambda: {
        "HATE": ("HIGH", "HIGH"), "INSULTS": ("HIGH", "HIGH"), "SEXUAL": ("HIGH", "HIGH"),
        "VIOLENCE": ("HIGH", "HIGH"), "MISCONDUCT": ("HIGH", "HIGH"), "PROMPT_ATTACK": ("HIGH", "NONE")})
    # The same entity types the builtin engine anonymises and blocks, so both backends answer alike.
    pii_anonymized: tuple[str, ...] = tuple(sorted(PII_ANONYMIZED))
    pii_blocked: tuple[str, ...] = tuple(sorted(PII_BLOCKED))
    blocked_input_message: str = "Blocked by input guardrail."
    blocked_output_message: str = Settings.refusal_message  # also the builtin guardrail's refusal


class GuardedEndpoint(Construct):
    """The gateway's front door.

    An API Gateway REST API (access logs, tracing, throttling) proxies every route to one Lambda
    function: the ASGI app run by the Lambda Web Adapter in ``response_stream`` mode, with the
    integration in STREAM transfer mode, so SSE reaches clients as it is produced.

    :param cache: the ``SemanticCache`` the pipeline reads and writes.
    :param eval_loop: the ``EvalLoop`` answers are published to.
    :param tenants: a ``TenantAuthorizer`` guarding every route; without one the API is open and
        every caller is the ``default`` tenant.
    :param rate_limiter: a ``RateLimiter`` whose per-tenant quotas the gateway enforces.
    :param usage: a ``UsageLedger`` every metered request is recorded in (with its cost), and that
        ``GET /v1/billing/usage`` reads; without one, usage is only logged.
    :param router: a ``ModelRouter`` with the aliases and providers; without one, the aliases
        ``default`` and ``text-embedding`` go to ``model``'s Bedrock models.
    :param rag: a ``RagStore``: ``/v1/rag/ingest``, ``/query`` and ``/delete`` use its documents
        (without one they answer 404).
    :param guardrail_backend: ``layered`` (the default: the builtin engine first, then
        ApplyGuardrail on what it lets through), ``bedrock`` (ApplyGuardrail only, on the guardrail
        created here or on ``guardrail_arn``) or ``builtin`` (the engine in the package alone; no
        Bedrock guardrail is created).
    :param guardrail_arn: bring your own Bedrock guardrail (with ``guardrail_version``, default
        ``DRAFT``) instead of creating one from ``guardrail_policy``.
    :param incidents_table: bring your own incidents table (string ``request_id`` and ``stage``).
    :param encryption_key: a customer-managed KMS key for the incidents table created here.
    :param memory_size: the gateway function's memory (MB). Its duration is mostly the wait for the
        model, billed by memory: 512 MB holds its peak (about 100 MB) several times over and gives it
        a third of a vCPU for its own few milliseconds a request; more buys faster cold starts.
    """

    def __init__(self, scope: Construct, id: str, *, cache: SemanticCache, eval_loop: EvalLoop,
                 model: ModelAccess | None = None, guardrail_policy: GuardrailPolicy | None = None,
                 guardrail_backend: str = "layered", tenants: TenantAuthorizer | None = None,
                 rate_limiter: RateLimiter | None = None, router: ModelRouter | None = None,
                 usage: UsageLedger | None = None, rag: RagStore | None = None,
                 guardrail_arn: str | None = None, guardrail_version: str | None = None,
                 incidents_table: ddb.ITable | None = None, encryption_key: kms.IKey | None = None,
                 system_prompt: str | None = None, stage_name: str = "v1", memory_size: int = 512,
                 timeout: cdk.Duration | None = None, throttling_rate_limit: int = 100,
                 throttling_burst_limit: int = 200, log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 environment: dict[str, str] | None = None,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        check_choice("guardrail_backend", guardrail_backend, GUARDRAIL_BACKENDS)
        model = model or ModelAccess()
        stack = cdk.Stack.of(self)
        self.guardrail: bedrock.CfnGuardrail | None = None
        self.guardrail_arn, self.guardrail_version = guardrail_arn, guardrail_version or "DRAFT"
        if guardrail_backend != "builtin" and guardrail_arn is None:
            self.guardrail = self._guardrail(guardrail_policy or GuardrailPolicy())
            self.guardrail_arn = self.guardrail.attr_guardrail_arn
            self.guardrail_version = bedrock.CfnGuardrailVersion(
                self, "GuardrailVersion", guardrail_identifier=self.guardrail.attr_guardrail_id,
                description="Pinned by the gateway").attr_version
        self.incidents_table: ddb.ITable = incidents_table or self._incidents_table(removal_policy, encryption_key)

        web_adapter = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapter",
            f"arn:{stack.partition}:lambda:{stack.region}:{WEB_ADAPTER_ACCOUNT}"
            f":layer:LambdaAdapterLayerArm64:{WEB_ADAPTER_LAYER_VERSION}")
        # What any function running the pipeline reads (the gateway's, a LexChatbot's).
        self.pipeline_environment: dict[str, str] = {
            **Settings.env(guardrail_backend=guardrail_backend, incidents_table=self.incidents_table.table_name,
                           guardrail_id=self.guardrail_arn,  # ApplyGuardrail takes the ARN as its identifier
                           guardrail_version=self.guardrail_version if self.guardrail_arn else None,
                           refusal_message=(guardrail_policy or GuardrailPolicy()).blocked_output_message,
                           system_prompt=system_prompt),
            **model.environment, **cache.environment, **eval_loop.environment,
            **(rate_limiter.environment if rate_limiter else {}),
            **(router.environment if router else {}),
            **(usage.environment if usage else {}),
        }
        self._pipeline = (cache, eval_loop, model, rate_limiter, router, usage)
        settings = {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
            "AWS_LWA_INVOKE_MODE": "response_stream",
            "AWS_LWA_PORT": "8080",
            "AWS_LWA_READINESS_CHECK_PATH": "/health",
            "GATEWAY_ASGI_APP": GATEWAY_APP,
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "POWERTOOLS_SERVICE_NAME": GATEWAY_SERVICE,
            **self.pipeline_environment,
            **(rag.environment if rag else {}),
        }
        self.function = python_function(
            self, "Gateway", handler=GATEWAY_HANDLER, memory_size=memory_size,
            timeout=timeout or cdk.Duration.seconds(120), log_retention=log_retention,
            removal_policy=removal_policy, layers=[web_adapter],
            description="LLM gateway: guardrails, semantic cache, routing (ASGI behind the Web Adapter)",
            vpc=vpc, vpc_subnets=vpc_subnets,
            environment={**settings, **(environment or {})})
        self.grant_pipeline(self.function)
        if usage:
            usage.grant_read_usage(self.function)
        if rag:
            rag.grant_read_write(self.function)

        # Every dependency the gateway carried on without (core.degraded logs it) is counted, per
        # dependency, and alarmed: one metric filter on the function's log group.
        logs.MetricFilter(self, "DegradedFilter", log_group=self.function.log_group,
                          filter_pattern=logs.FilterPattern.exists("$.degraded"),
                          metric_namespace=METRICS_NAMESPACE, metric_name=METRIC_DEGRADED, metric_value="1",
                          dimensions={"dependency": "$.degraded"})
        self.degraded_alarms = {
            dependency: self.metric_degraded(dependency).create_alarm(
                self, f"Degraded{''.join(w.title() for w in dependency.split('_'))}Alarm", threshold=1,
                evaluation_periods=1, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                alarm_description=f"Degraded: {meaning}")
            for dependency, meaning in DEGRADED.items()}

        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention,
                                         removal_policy=removal_policy)
        authorizer = tenants.authorizer if tenants else None
        method_options = apigw.MethodOptions(
            authorizer=authorizer,
            authorization_type=apigw.AuthorizationType.CUSTOM if authorizer else apigw.AuthorizationType.NONE)
        integration = apigw.LambdaIntegration(
            self.function, proxy=True, response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=timeout or cdk.Duration.seconds(120))
        self.api = apigw.RestApi(
            self, "Api", description="Guardrailed LLM gateway", cloud_watch_role=True,
            cloud_watch_role_removal_policy=removal_policy,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name=stage_name, tracing_enabled=True, metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False,  # never log prompts
                throttling_rate_limit=throttling_rate_limit, throttling_burst_limit=throttling_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False)),
            default_integration=integration, default_method_options=method_options,
            # Uploads reach the function base64-encoded (the Web Adapter decodes them), never mangled as text.
            binary_media_types=list(BINARY_MEDIA_TYPES))
        self.api.root.add_proxy(any_method=True)
        for kind, (status, type_, code, message) in GATEWAY_RESPONSES.items():
            body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
            self.api.add_gateway_response(
                f"{code}-{status or '5xx'}", type=kind, status_code=status,
                templates={"application/json": json.dumps(body)},
                response_headers={"x-should-retry": "'false'"} if status in ("401", "403") else None)
        self._acknowledge(authorizer is not None)

    def _incidents_table(self, removal_policy: cdk.RemovalPolicy, key: kms.IKey | None) -> ddb.Table:
        table = ddb.Table(
            self, "Incidents",
            partition_key=ddb.Attribute(name="request_id", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="stage", type=ddb.AttributeType.STRING),
            **table_props(removal_policy, key))
        table.add_global_secondary_index(
            index_name="by_tenant",
            partition_key=ddb.Attribute(name="tenant_id", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="created_at", type=ddb.AttributeType.NUMBER))
        return table

    def _guardrail(self, policy: GuardrailPolicy) -> bedrock.CfnGuardrail:
        filters = [bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type=kind, input_strength=strengths[0], output_strength=strengths[1])
            for kind, strengths in policy.content_filters.items()]
        # Anonymise PII in answers only: the user's own email in a question is theirs to send.
        pii = [bedrock.CfnGuardrail.PiiEntityConfigProperty(
            type=kind, action="ANONYMIZE", input_enabled=False, output_enabled=True)
            for kind in policy.pii_anonymized]
        pii += [bedrock.CfnGuardrail.PiiEntityConfigProperty(type=kind, action="BLOCK")
                for kind in policy.pii_blocked]
        return bedrock.CfnGuardrail(
            self, "Guardrail", name=cdk.Names.unique_resource_name(self, max_length=50),
            description="LLM gateway guardrail: prompt attacks on input, harmful content and PII on output",
            blocked_input_messaging=policy.blocked_input_message,
            blocked_outputs_messaging=policy.blocked_output_message,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters),
            sensitive_information_policy_config=bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=pii) if pii else None)

    def _acknowledge(self, has_authorizer: bool) -> None:
        reasons = {
            "AwsSolutions-APIG2": "The gateway app validates every body and answers OpenAI-shaped 4xx errors; "
                                  "an API Gateway model would duplicate it with worse messages.",
            "AwsSolutions-APIG3": "WAF is account policy: associate your web ACL with the stage "
                                  "(api.deployment_stage.stage_arn); per-tenant quotas are enforced in the app.",
        }
        if not has_authorizer:
            reasons["AwsSolutions-APIG4"] = "No authorizer was passed: compose TenantAuthorizer to require API keys."
            reasons["AwsSolutions-COG4"] = "No authorizer was passed: compose TenantAuthorizer to require API keys."
        else:
            reasons["AwsSolutions-COG4"] = "Tenants authenticate with API keys through a Lambda TOKEN authorizer."
        for rule, reason in reasons.items():
            cdk.Validations.of(self.api).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
        cdk.Validations.of(self.api.node.find_child("CloudWatchRole")).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
               "AmazonAPIGatewayPushToCloudWatchLogs]",
            reason="API Gateway's account-level logging role; the AWS managed policy is the documented one."))

    def grant_pipeline(self, grantee: iam.IGrantable) -> iam.Grant:
        """What running the pipeline takes (with ``pipeline_environment``): the cache, the eval
        events, incident rows, the models, the quota counters, the routes and the Bedrock
        guardrail; and, for a function, its usage records: the ledger subscribes to its log group
        (they are lines of its log, no permission of its own)."""
        cache, eval_loop, model, rate_limiter, router, usage = self._pipeline
        grant = cache.grant_read_write(grantee).combine(eval_loop.grant_put_events(grantee)).combine(
            grant_table(grantee, self.incidents_table, "PutItem")).combine(model.grant_invoke(grantee))
        for optional in (rate_limiter and rate_limiter.grant_count, router and router.grant_use):
            if optional:
                grant = grant.combine(optional(grantee))
        if usage and isinstance(grantee, lambda_.Function):
            usage.record_from(grantee)
        if self.guardrail_arn:
            grant = grant.combine(iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:ApplyGuardrail"],
                                                             resource_arns=[self.guardrail_arn]))
        return grant

    def grant_read_incidents(self, grantee: iam.IGrantable) -> iam.Grant:
        """For the people and tools that review guardrail incidents (by request, or by tenant)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:GetItem", "dynamodb:Query"],
            resource_arns=[self.incidents_table.table_arn, f"{self.incidents_table.table_arn}/index/by_tenant"])

    # -- what operators watch (alarms and dashboards are the composer's) ------------------------
    def metric_requests(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return self.api.metric_count(period=period or cdk.Duration.minutes(5))

    def metric_latency(self, *, statistic: str = "p99", period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return self.api.metric_latency(statistic=statistic, period=period or cdk.Duration.minutes(5))

    def metric_client_errors(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return self.api.metric_client_error(period=period or cdk.Duration.minutes(5))

    def metric_server_errors(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return self.api.metric_server_error(period=period or cdk.Duration.minutes(5))

    def metric_rate_limited(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """429s the gateway answered because a tenant's quota was spent."""
        return gateway_metric(METRIC_RATE_LIMITED, period=period)

    def metric_guardrail_blocks(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Questions blocked before the model plus answers refused after it."""
        return gateway_metric(METRIC_GUARDRAIL_BLOCKS, period=period)

    def metric_cache_hits(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        return gateway_metric(METRIC_CACHE_HITS, period=period)

    def metric_budget_nearly_spent(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Requests that left a USD budget with at most ``BUDGET_WARNING`` of it, or found it spent."""
        return gateway_metric(METRIC_BUDGET_NEARLY_SPENT, period=period)

    def metric_degraded(self, dependency: str, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Requests that went on without ``dependency`` (a ``contract.DEGRADED`` name)."""
        if dependency not in DEGRADED:
            raise ValueError(f"unknown dependency {dependency!r}: expected one of {', '.join(DEGRADED)}")
        return cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=METRIC_DEGRADED, statistic="Sum",
                                 dimensions_map={"dependency": dependency}, period=period or cdk.Duration.minutes(5))

    @property
    def url(self) -> str:
        return self.api.url
