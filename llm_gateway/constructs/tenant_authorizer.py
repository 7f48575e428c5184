"""``TenantAuthorizer``: API keys (hashed) in a DynamoDB table, checked by a cached TOKEN authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, python_function, table_props
from llm_gateway.contract import AUTHORIZER_SERVICE, KEYS_BY_ID_INDEX, Settings


class TenantAuthorizer(Construct):
    """Who may call the gateway, and as which tenant.

    The keys table starts empty (``python -m llm_gateway keys create`` adds keys); it never holds a
    key, only SHA-256 hashes (its partition key) and metadata, so reading it exposes no credential.

    :param results_cache_ttl: how long API Gateway caches a key's Allow/Deny: the revocation
        latency (default 5 minutes; ``Duration.seconds(0)`` turns the cache off, one GetItem a request).
    :param encryption_key: a customer-managed KMS key for the keys table (default: AWS managed).
    :param keys_table: bring your own keys table (string partition key ``hash``; a ``by-key-id``
        index with partition key ``key_id``, all attributes projected).
    """

    def __init__(self, scope: Construct, id: str, *, results_cache_ttl: cdk.Duration | None = None,
                 encryption_key: kms.IKey | None = None, keys_table: ddb.ITable | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 vpc: ec2.IVpc | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
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
        self.authorizer = apigw.TokenAuthorizer(
            self, "TokenAuthorizer", handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"), results_cache_ttl=self.results_cache_ttl)

    def grant_manage_keys(self, grantee: iam.IGrantable) -> iam.Grant:
        """For the operators or pipelines that run ``llm_gateway keys create|list|revoke|rotate|migrate``."""
        return grant_table(grantee, self.keys_table, "GetItem", "PutItem", "UpdateItem", "Query", "Scan",
                           indexes=True)
