"""``TenantAuthorizer``: API keys (hashed) in a DynamoDB table, checked by a cached TOKEN authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, python_function, table_props
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.contract import (
    AUTHORIZER_SERVICE,
    KEY_SWEEPER_SERVICE,
    KEYS_BY_ID_INDEX,
    METRIC_KEYS_EXPIRED,
    METRIC_KEYS_EXPIRING,
    Settings,
)

DAILY = events.Schedule.rate(cdk.Duration.days(1))


class TenantAuthorizer(Construct):
    """Who may call the gateway, and as which tenant.

    The keys table starts empty (``python -m llm_gateway keys create`` adds keys); it never holds a
    key, only SHA-256 hashes (its partition key) and metadata, so reading it exposes no credential.

    :param results_cache_ttl: how long API Gateway caches a key's Allow/Deny: the revocation
        latency (default 5 minutes; ``Duration.seconds(0)`` turns the cache off, one GetItem a request).
    :param encryption_key: a customer-managed KMS key for the keys table (default: AWS managed).
    :param keys_table: bring your own keys table (string partition key ``hash``; a ``by-key-id``
        index with partition key ``key_id``, all attributes projected).
    :param expiry_sweep: when the key sweeper runs (daily; ``None``: no sweeper). It marks keys past
        their expiry ``expired`` and warns of those within ``expiry_warning_days`` (7) of it: a log
        line per key, the ``KeysExpiringSoon`` metric and its alarm (``expiring_keys_alarm``).
    """

    def __init__(self, scope: Construct, id: str, *, results_cache_ttl: cdk.Duration | None = None,
                 encryption_key: kms.IKey | None = None, keys_table: ddb.ITable | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
                 expiry_sweep: events.Schedule | None = DAILY,
                 expiry_warning_days: int = Settings.key_expiry_warning_days,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        if keys_table is None:
            table = ddb.Table(self, "Keys", partition_key=ddb.Attribute(name="hash", type=ddb.AttributeType.STRING),
                              **table_props(removal_policy, encryption_key))
            table.add_global_secondary_index(
                index_name=KEYS_BY_ID_INDEX, partition_key=ddb.Attribute(name="key_id", type=ddb.AttributeType.STRING))
            keys_table = table
        self.keys_table: ddb.ITable = keys_table
        self.results_cache_ttl = results_cache_ttl if results_cache_ttl is not None else cdk.Duration.minutes(5)
        self.function = python_function(
            self, "Authorizer", handler="llm_gateway.lambdas.authorizer.handler", memory_size=512,
            timeout=cdk.Duration.seconds(10), log_retention=log_retention, removal_policy=removal_policy,
            description="LLM gateway tenant authorizer (API keys)", vpc=vpc, vpc_subnets=vpc_subnets,
            environment={"POWERTOOLS_SERVICE_NAME": AUTHORIZER_SERVICE,
                         **Settings.env(keys_table=self.keys_table.table_name)})
        grant_table(self.function, self.keys_table, "GetItem")
        self.sweeper, self.expiring_keys_alarm = None, None
        if expiry_sweep is not None:
            self.sweeper = python_function(
                self, "KeySweeper", handler="llm_gateway.lambdas.key_sweeper.handler", memory_size=256,
                timeout=cdk.Duration.minutes(5), log_retention=log_retention, removal_policy=removal_policy,
                description="LLM gateway key sweeper: marks expired API keys, warns a week ahead",
                vpc=vpc, vpc_subnets=vpc_subnets,
                environment={"POWERTOOLS_SERVICE_NAME": KEY_SWEEPER_SERVICE,
                             **Settings.env(keys_table=self.keys_table.table_name,
                                            key_expiry_warning_days=expiry_warning_days)})
            grant_table(self.sweeper, self.keys_table, "Scan", "UpdateItem")
            events.Rule(self, "KeySweep", schedule=expiry_sweep, targets=[targets.LambdaFunction(
                self.sweeper, retry_attempts=2)], description="Sweep the API keys: expire, warn before expiry")
            self.expiring_keys_alarm = self.metric_keys_expiring().create_alarm(
                self, "KeysExpiringAlarm", threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"API keys expire within {expiry_warning_days} days: rotate them with overlap "
                                  "(the key sweeper's log names them)")
        self.authorizer = apigw.TokenAuthorizer(
            self, "TokenAuthorizer", handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"), results_cache_ttl=self.results_cache_ttl)

    def metric_keys_expiring(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Active keys within ``expiry_warning_days`` of expiry, as the last sweep counted them."""
        return gateway_metric(METRIC_KEYS_EXPIRING, service=KEY_SWEEPER_SERVICE, statistic="Maximum",
                              period=period or cdk.Duration.days(1))

    def metric_keys_expired(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Keys the sweeper marked expired."""
        return gateway_metric(METRIC_KEYS_EXPIRED, service=KEY_SWEEPER_SERVICE, period=period or cdk.Duration.days(1))

    def grant_manage_keys(self, grantee: iam.IGrantable) -> iam.Grant:
        """For the operators or pipelines that run ``llm_gateway keys create|list|revoke|rotate|migrate``."""
        return grant_table(grantee, self.keys_table, "GetItem", "PutItem", "UpdateItem", "Query", "Scan",
                           indexes=True)
