"""The synthesized stacks: snapshots, the properties that matter, cdk-nag, cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from syrupy.assertion import SnapshotAssertion

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def unbundled_app() -> cdk.App:
    """An app for construct-level checks: the Lambda code is not bundled (the asset hash is the same)."""
    return cdk.App(context={"aws:cdk:bundling-stacks": []})


def normalised(template: dict[str, Any]) -> dict[str, Any]:
    """Asset hashes change with every code edit; the snapshot is about the infrastructure."""
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_snapshot(templates: dict[str, dict[str, Any]], snapshot: SnapshotAssertion, env: str) -> None:
    assert normalised(templates[env]) == snapshot


def test_gateway_streams_through_the_web_adapter(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    t.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "ANY",
        "Integration": {"Type": "AWS_PROXY", "ResponseTransferMode": "STREAM",
                        "Uri": {"Fn::Join": ["", Match.array_with([Match.string_like_regexp(
                            "response-streaming-invocations")])]}}})
    t.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "llm_gateway/lambdas/run.sh", "Architectures": ["arm64"], "TracingConfig": {"Mode": "Active"},
        "Layers": [{"Fn::Join": ["", Match.array_with([Match.string_like_regexp(
            ":753240598075:layer:LambdaAdapterLayerArm64:")])]}],
        "Environment": {"Variables": Match.object_like({
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap", "AWS_LWA_INVOKE_MODE": "response_stream"})}})
    t.has_resource_properties("AWS::ApiGateway::Stage", {
        "TracingEnabled": True,
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": [Match.object_like({"DataTraceEnabled": False})]})


def test_eval_loop_queue_has_redrive_and_partial_batches(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    t.has_resource_properties("AWS::SQS::Queue", {
        "RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": 3},
        "SqsManagedSseEnabled": True})
    t.has_resource_properties("AWS::Lambda::EventSourceMapping", {
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10})
    t.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {"source": ["llm-gateway"], "detail-type": ["answer.generated"]}})


def test_usage_records_reach_the_ledger_through_the_pipeline_functions_logs(
        templates: dict[str, dict[str, Any]]) -> None:
    """Every function running the pipeline (the gateway's, the Lex bot's) has its log group
    subscribed for usage lines; the usage function retries a failed delivery twice, then keeps it
    in its dead-letter queue; and no function sends usage anywhere itself."""
    from llm_gateway.core.usage import USAGE_LINE_PATTERN

    t = Template.from_json(templates["dev"])
    resources = templates["dev"]["Resources"]
    subscribed = {f["Properties"]["LogGroupName"]["Ref"]
                  for f in t.find_resources("AWS::Logs::SubscriptionFilter").values()
                  if f["Properties"]["FilterPattern"] == USAGE_LINE_PATTERN}
    pipeline = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
                for f in t.find_resources("AWS::Lambda::Function").values()
                if f["Properties"].get("Environment", {}).get("Variables", {}).get("USAGE_RECORDS") == "log"}
    assert len(pipeline) == 2 and subscribed == pipeline
    (config,) = t.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    dead_letters = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert resources[dead_letters]["Type"] == "AWS::SQS::Queue"
    assert "USAGE_QUEUE_URL" not in json.dumps(templates["dev"])


def test_alarms_on_dlq_depth_and_average_score(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    t.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold"})
    t.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "JudgeScore", "Namespace": "LLMGateway", "Statistic": "Average",
        "ComparisonOperator": "LessThanThreshold", "Threshold": 0.6,
        "Dimensions": [{"Name": "service", "Value": "llm-gateway-judge"}]})


def test_guardrail_policies(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    t.has_resource_properties("AWS::Bedrock::Guardrail", {
        "ContentPolicyConfig": {"FiltersConfig": Match.array_with([
            {"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"}])},
        "SensitiveInformationPolicyConfig": {"PiiEntitiesConfig": Match.array_with([
            Match.object_like({"Type": "EMAIL", "Action": "ANONYMIZE", "OutputEnabled": True}),
            Match.object_like({"Type": "PHONE", "Action": "ANONYMIZE", "OutputEnabled": True})])}})
    t.resource_count_is("AWS::Bedrock::GuardrailVersion", 1)


def test_tables_are_encrypted_with_pitr_and_cache_ttl(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["prod"])
    for logical_id, table in t.find_resources("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        # prod keeps its data; quota counters are disposable
        assert table["DeletionPolicy"] == ("Delete" if logical_id.startswith("RateLimiter") else "Retain")
    t.has_resource_properties("AWS::DynamoDB::Table", {
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}})


def test_prod_vector_buckets_cache_and_rag_with_least_privilege(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["prod"])
    buckets = t.find_resources("AWS::S3Vectors::VectorBucket")
    cache_id, = (b for b in buckets if b.startswith("Cache"))
    rag_id, = (b for b in buckets if b.startswith("Rag"))
    for bucket in buckets.values():
        assert bucket["Properties"]["EncryptionConfiguration"] == {"SseType": "AES256"}
        assert bucket["DeletionPolicy"] == "Retain"
    # Seed 003's index: rag-default, cosine, the text non-filterable, at Titan v2's dimension.
    t.has_resource_properties("AWS::S3Vectors::Index", {
        "IndexName": "rag-default", "DataType": "float32", "Dimension": 1024, "DistanceMetric": "cosine",
        "VectorBucketArn": {"Fn::GetAtt": [rag_id, "VectorBucketArn"]},
        "MetadataConfiguration": {"NonFilterableMetadataKeys": ["source_text"]}})
    statements = [s for p in t.find_resources("AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"] if "s3vectors" in json.dumps(s["Action"])]

    def on(bucket_id: str, indexes: str) -> list[Any]:
        return [{"Fn::GetAtt": [bucket_id, "VectorBucketArn"]}, {"Fn::Join": ["", [
            {"Fn::GetAtt": [bucket_id, "VectorBucketArn"]}, f"/index/{indexes}"]]}]

    granted = sorted((json.dumps(s["Action"]), json.dumps(s["Resource"])) for s in statements)
    cache_rw = ["s3vectors:CreateIndex", "s3vectors:GetVectors", "s3vectors:PutVectors", "s3vectors:QueryVectors"]
    rag_rw = ["s3vectors:CreateIndex", "s3vectors:DeleteVectors", "s3vectors:GetVectors", "s3vectors:PutVectors",
              "s3vectors:QueryVectors"]
    assert granted == sorted([  # the cache's cache-* indexes; the RAG bucket's own (requests may name one)
        (json.dumps("s3vectors:DeleteVectors"), json.dumps(on(cache_id, "cache-*"))),  # the judge evicts
        *[(json.dumps(cache_rw), json.dumps(on(cache_id, "cache-*")))] * 2,  # the gateway's and the Lex bot's

        (json.dumps(rag_rw), json.dumps(on(rag_id, "*")))])
    assert "CACHE_VECTOR_BUCKET_ARN" in json.dumps(templates["dev"])  # dev as prod (locally: 2 calls a lookup, not 17)
    assert "RAG_VECTOR_BUCKET_ARN" in json.dumps(templates["dev"])


def test_router_gets_routes_and_bedrock_targets(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    gateway = next(f for f in t.find_resources("AWS::Lambda::Function").values()
                   if f["Properties"]["Handler"].endswith("run.sh"))
    env = gateway["Properties"]["Environment"]["Variables"]
    assert set(json.loads(env["ROUTES_JSON"])) == {"default", "fast", "smart", "text-embedding",
                                                   "text-embedding-3-small", "image", "dall-e-3", "dall-e-2",
                                                   "whisper-1", "tts-1"}
    assert "ROUTES_TABLE" in env and "RATE_LIMITS_TABLE" in env
    # Uploads reach the function intact: API Gateway passes these bodies base64-encoded.
    t.has_resource_properties("AWS::ApiGateway::RestApi", {"BinaryMediaTypes": [
        "multipart/form-data", "audio/*", "image/*", "application/octet-stream"]})
    invoke = [s for p in t.find_resources("AWS::IAM::Policy").values()
              for s in p["Properties"]["PolicyDocument"]["Statement"] if "bedrock:InvokeModel" in s["Action"]]
    models = json.dumps(invoke)
    assert "amazon.nova-micro-v1:0" in models and "amazon.nova-lite-v1:0" in models
    assert "amazon.nova-canvas-v1:0" in models  # the image alias's Bedrock model


def test_every_route_requires_the_tenant_authorizer(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["dev"])
    t.has_resource_properties("AWS::ApiGateway::Authorizer", {
        "Type": "TOKEN", "IdentitySource": "method.request.header.Authorization",
        "AuthorizerResultTtlInSeconds": 300})
    for method in t.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["AuthorizationType"] == "CUSTOM"
    t.has_resource_properties("AWS::DynamoDB::Table", {  # keys by hash, and by their public id
        "KeySchema": [{"AttributeName": "hash", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "by-key-id"})]})
    authorizer_policy = next(p for name, p in t.find_resources("AWS::IAM::Policy").items()
                             if name.startswith("TenantsAuthorizer"))
    assert [s["Action"] for s in authorizer_policy["Properties"]["PolicyDocument"]["Statement"]
            if "dynamodb" in json.dumps(s["Action"])] == ["dynamodb:GetItem"]  # it reads one key, nothing else
    for kind, status in (("UNAUTHORIZED", "401"), ("ACCESS_DENIED", "401"), ("THROTTLED", "429")):
        t.has_resource_properties("AWS::ApiGateway::GatewayResponse", {
            "ResponseType": kind, "StatusCode": status,
            "ResponseTemplates": {"application/json": Match.string_like_regexp('"error": {"message"')}})


def test_keys_are_swept_daily_with_an_alarm_before_they_expire(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["prod"])
    sweeper_id, = (k for k, f in t.find_resources("AWS::Lambda::Function").items()
                   if f["Properties"]["Handler"] == "llm_gateway.lambdas.key_sweeper.handler")
    t.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(1 day)", "Targets": [
        Match.object_like({"Arn": {"Fn::GetAtt": [sweeper_id, "Arn"]}, "RetryPolicy": {"MaximumRetryAttempts": 2}})]})
    policy = next(p for name, p in t.find_resources("AWS::IAM::Policy").items() if name.startswith("TenantsKeySweeper"))
    assert [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if "dynamodb" in json.dumps(s["Action"])] == [["dynamodb:Scan", "dynamodb:UpdateItem"]]
    t.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "KeysExpiringSoon", "Threshold": 1, "Statistic": "Maximum",
        "Dimensions": [{"Name": "service", "Value": "llm-gateway-key-sweeper"}]})


def test_functions_get_least_privilege(templates: dict[str, dict[str, Any]]) -> None:
    policies = Template.from_json(templates["dev"]).find_resources("AWS::IAM::Policy")
    # The gateway's functions (CDK's own dashboard upload handler is acknowledged in UsageDashboard).
    statements = [s for name, p in policies.items() if not name.startswith("CustomCDKBucketDeployment")
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert {a for s in wildcard for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "polly:SynthesizeSpeech"}  # the Lex bot's voice
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not any(a.endswith(":*") for a in actions)
    scans = [s for s in statements if "dynamodb:Scan" in s["Action"]]
    # Only /v1/models lists the (small) routes table, and the daily key sweeper the keys table; the
    # cache and quotas never scan.
    assert scans and all("RouterRoutes" in json.dumps(s["Resource"]) or "TenantsKeys" in json.dumps(s["Resource"])
                         for s in scans)


def test_cdk_nag_findings_fail_the_synth(tmp_path: Path) -> None:
    """The checks are live: an unacknowledged finding stops synthesis (so a passing synth is clean)."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Careless")
    sqs.Queue(stack, "Queue")  # no DLQ, no TLS enforcement
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS3"):
        app.synth()


def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    from cfnlint.api import ManualArgs, lint_file

    for env in ("dev", "prod"):
        template = templates[env]
        path = tmp_path / f"{env}.template.json"
        path.write_text(json.dumps(template))
        # W3005: CDK adds DependsOn on roles it also references; harmless and not ours to change.
        matches = lint_file(path, config=ManualArgs(ignore_checks=["W3005"]))
        assert [str(m) for m in matches] == [], env


@pytest.mark.parametrize(("env", "days"), [("dev", 14), ("prod", 365)])
def test_every_log_group_follows_the_environment(templates: dict[str, dict[str, Any]], env: str, days: int) -> None:
    groups = Template.from_json(templates[env]).find_resources("AWS::Logs::LogGroup")
    assert len(groups) >= 4  # gateway, authorizer, judge, access logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {days}


def test_bad_props_fail_the_synth_with_a_clear_message() -> None:
    from llm_gateway.constructs import EvalLoop, GuardedEndpoint, ModelAccess, ModelRouter, SemanticCache

    stack = cdk.Stack(unbundled_app(), "Props")
    cache, loop = SemanticCache(stack, "Cache"), EvalLoop(stack, "Loop")
    with pytest.raises(ValueError, match="unknown guardrail_backend 'nemo': expected one of builtin, bedrock"):
        GuardedEndpoint(stack, "Endpoint", cache=cache, eval_loop=loop, guardrail_backend="nemo")
    with pytest.raises(ValueError, match="route fast: unknown provider 'openia'"):
        ModelRouter(stack, "Router", routes={"fast": {"targets": [{"provider": "openia", "model": "gpt-4o"}]}})
    with pytest.raises(ValueError, match="unknown pipeline step 'auth'"):
        ModelRouter(stack, "Router3", routes={"fast": {"skip": ["auth"], "targets": []}})
    with pytest.raises(ValueError, match="unknown strategy 'cheapest'"):
        ModelRouter(stack, "Router2", routes={"fast": {"strategy": "cheapest", "targets": []}})
    with pytest.raises(ValueError, match="unknown llm_mode"):
        ModelAccess(llm_mode="openai")
    with pytest.raises(ValueError, match="sample_rate"):
        EvalLoop(stack, "Loop2", sample_rate=2)
    with pytest.raises(ValueError, match="similarity_threshold"):
        SemanticCache(stack, "Cache2", similarity_threshold=0)


def test_bring_your_own_guardrail_and_tables() -> None:
    from aws_cdk import aws_dynamodb as ddb

    from llm_gateway.constructs import EvalLoop, GuardedEndpoint, SemanticCache

    stack = cdk.Stack(unbundled_app(), "Byo")
    table = ddb.Table.from_table_name(stack, "Existing", "platform-cache")
    arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123"
    GuardedEndpoint(stack, "Endpoint", cache=SemanticCache(stack, "Cache", table=table),
                    eval_loop=EvalLoop(stack, "Loop"), guardrail_arn=arn, guardrail_version="3")
    t = Template.from_stack(stack)
    t.resource_count_is("AWS::Bedrock::Guardrail", 0)
    t.resource_count_is("AWS::DynamoDB::Table", 2)  # incidents and scores; the cache is the platform's
    t.has_resource_properties("AWS::Lambda::Function", {"Environment": {"Variables": Match.object_like({
        "GUARDRAIL_ID": arn, "GUARDRAIL_VERSION": "3", "CACHE_TABLE": "platform-cache"})}})
    t.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Action": "bedrock:ApplyGuardrail", "Resource": arn})])}})


def test_dashboard_is_private_behind_cloudfront_with_the_billing_api_beside(
        templates: dict[str, dict[str, Any]]) -> None:
    """Seed 003's billing dashboard: a private bucket read only through origin access control, HTTPS,
    the page's CSP as a response header, and /v1/billing/* forwarded to the API with the key."""
    from llm_gateway.dashboard import CONTENT_SECURITY_POLICY

    t = Template.from_json(templates["prod"])
    t.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    t.has_resource_properties("AWS::S3::Bucket", {
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "LoggingConfiguration": Match.object_like({"LogFilePrefix": "site/"})})
    t.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Action": "s3:GetObject", "Principal": {"Service": "cloudfront.amazonaws.com"},
                           "Condition": {"StringEquals": {"AWS:SourceArn": Match.any_value()}}})])}})
    t.has_resource_properties("AWS::CloudFront::ResponseHeadersPolicy", {
        "ResponseHeadersPolicyConfig": Match.object_like({"SecurityHeadersConfig": Match.object_like({
            "ContentSecurityPolicy": {"ContentSecurityPolicy": CONTENT_SECURITY_POLICY, "Override": True}})})})
    t.has_resource_properties("AWS::CloudFront::CachePolicy", {"CachePolicyConfig": Match.object_like({
        "DefaultTTL": 0, "ParametersInCacheKeyAndForwardedToOrigin": Match.object_like({
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}})})})
    distribution = next(iter(t.find_resources("AWS::CloudFront::Distribution").values()))["Properties"]
    config = distribution["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html" and config["Logging"]["Prefix"] == "cdn/"
    (billing,) = config["CacheBehaviors"]
    assert billing["PathPattern"] == "/v1/billing/*" and billing["AllowedMethods"] == ["GET", "HEAD"]
    api_origin = next(o for o in config["Origins"] if o["Id"] == billing["TargetOriginId"])
    assert "execute-api" in json.dumps(api_origin["DomainName"])
    assert "DeploymentStage" in json.dumps(api_origin["OriginPath"])  # /<stage>, then the request's own path
    deployment = next(iter(t.find_resources("Custom::CDKBucketDeployment").values()))["Properties"]
    assert "DistributionId" in deployment  # a new page is invalidated at the edge
    assert "DashboardUrl" in templates["prod"]["Outputs"]


def test_operations_dashboard_and_alarms(templates: dict[str, dict[str, Any]]) -> None:
    """GatewayMonitoring: the dashboard issue 13 lists, and alarms on 5xx rate, p99 latency and
    budgets, beside the constructs' own (DLQs, judge score, degraded dependencies)."""
    t = Template.from_json(templates["prod"])
    (dashboard,) = t.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Requests and errors", "Latency", "Cache hit rate", "Guardrail blocks by reason",
                  "Judge score (average)", "Cost (USD)", "Spend by tenant (USD)", "Queues: dead letters and backlog",
                  "Budgets nearly spent", "Alarms"):
        assert f'\\"title\\":\\"{title}\\"' in body, title
    for metric in ("CostUSD", "CacheSavedUSD", "TenantCostUSD", "JudgeScore", "Outcome_cached", "RateLimited",
                   "ApproximateNumberOfMessagesVisible", "p99", "GuardrailBlocks"):
        assert metric in body, metric
    alarms = {a["Properties"].get("AlarmDescription", ""): a["Properties"]
              for a in t.find_resources("AWS::CloudWatch::Alarm").values()}
    server = next(a for d, a in alarms.items() if "5xx" in d)
    assert server["Threshold"] == 0.05 and any(m.get("Expression", "").startswith("IF(requests > 0")
                                                for m in server["Metrics"])
    assert next(a for d, a in alarms.items() if "p99" in d)["Threshold"] == 30000
    assert next(a for d, a in alarms.items() if "budget" in d)["MetricName"] == "BudgetNearlySpent"
    assert len(alarms) >= 13 and "OperationsDashboardUrl" in templates["prod"]["Outputs"]


def test_tenant_metrics_are_bounded() -> None:
    from llm_gateway.constructs import UsageLedger

    stack = cdk.Stack(unbundled_app(), "Bounded")
    with pytest.raises(ValueError, match="at most 50 tenants"):
        UsageLedger(stack, "TooMany", metric_tenants=[f"t{n}" for n in range(51)])
    ledger = UsageLedger(stack, "Ledger", metric_tenants=["t_finance"])
    with pytest.raises(ValueError, match="add it to metric_tenants"):
        ledger.metric_tenant_cost("t_unnamed")
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {"Environment": {
        "Variables": Match.object_like({"USAGE_METRIC_TENANTS": "t_finance"})}})


def test_a_function_is_subscribed_to_the_ledger_once_however_often_it_asks() -> None:
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_logs as logs

    from llm_gateway.constructs import UsageLedger

    stack = cdk.Stack(unbundled_app(), "Twice")
    ledger = UsageLedger(stack, "Ledger")
    function = lambda_.Function(stack, "Pipeline", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(event, context): pass"),
                                log_group=logs.LogGroup(stack, "PipelineLogs"))
    first, again = ledger.record_from(function), ledger.record_from(function)
    assert first.node.path == again.node.path
    Template.from_stack(stack).resource_count_is("AWS::Logs::SubscriptionFilter", 1)


@pytest.fixture(scope="module")
def private_template() -> dict[str, Any]:
    from tests.conftest import synth

    return synth("prod", privateNetwork=True)  # cdk-nag included: a finding fails the synth


def test_private_network_variant(private_template: dict[str, Any], snapshot: SnapshotAssertion) -> None:
    """Seed 002's placement (cdk.json privateNetwork): every function in the VPC's isolated subnets,
    AWS reached through VPC endpoints (interface, with private DNS; DynamoDB's gateway), flow logs
    on, no NAT, no internet gateway."""
    assert normalised(private_template) == snapshot
    t = Template.from_json(private_template)
    functions = [r["Properties"] for r in t.find_resources("AWS::Lambda::Function").values()
                 if str(r["Properties"].get("Handler", "")).startswith("llm_gateway")]
    assert len(functions) == 6 and all(len(f["VpcConfig"]["SubnetIds"]) == 2 for f in functions)
    endpoints = list(t.find_resources("AWS::EC2::VPCEndpoint").values())
    joined = json.dumps([e["Properties"]["ServiceName"] for e in endpoints])
    for service in ("bedrock-runtime", "secretsmanager", "sqs", "events", "logs", "monitoring", "xray",
                    "s3vectors", "dynamodb"):
        assert f".{service}" in joined, service
    assert len(endpoints) == 9
    gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Gateway"]
    assert len(gateway) == 1 and "dynamodb" in json.dumps(gateway[0]["Properties"]["ServiceName"])
    assert all(e["Properties"]["PrivateDnsEnabled"] for e in endpoints
               if e["Properties"].get("VpcEndpointType") == "Interface")
    t.resource_count_is("AWS::EC2::FlowLog", 1)
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::InternetGateway", 0)


def test_lex_chatbot_is_fulfilled_by_the_pipeline(templates: dict[str, dict[str, Any]]) -> None:
    t = Template.from_json(templates["prod"])
    fulfillment_id, fulfillment = next((k, f) for k, f in t.find_resources("AWS::Lambda::Function").items()
                                       if f["Properties"]["Handler"] == "llm_gateway.lambdas.lex.handler")
    env = fulfillment["Properties"]["Environment"]["Variables"]
    assert env["LEX_TENANT_ID"] == "lex-chatbot" and "CACHE_TABLE" in env and "RATE_LIMITS_TABLE" in env
    (bot,) = t.find_resources("AWS::Lex::Bot").values()
    locale, = bot["Properties"]["BotLocales"]
    assert locale["LocaleId"] == "en_US"
    intents = {i["Name"]: i for i in locale["Intents"]}
    assert intents["FallbackIntent"]["ParentIntentSignature"] == "AMAZON.FallbackIntent"
    assert all(i["FulfillmentCodeHook"] == {"Enabled": True} for i in intents.values())
    t.has_resource_properties("AWS::Lex::BotAlias", {"BotAliasName": "live", "BotAliasLocaleSettings": [{
        "LocaleId": "en_US", "BotAliasLocaleSetting": {"Enabled": True, "CodeHookSpecification": {"LambdaCodeHook": {
            "CodeHookInterfaceVersion": "1.0", "LambdaArn": {"Fn::GetAtt": [fulfillment_id, "Arn"]}}}}}]})
    t.has_resource_properties("AWS::Lambda::Permission", {  # only the bot's aliases may invoke it
        "Principal": "lexv2.amazonaws.com", "FunctionName": {"Fn::GetAtt": [fulfillment_id, "Arn"]},
        "SourceArn": Match.object_like({"Fn::Join": Match.any_value()})})
