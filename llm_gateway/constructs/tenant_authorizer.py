"""``TenantAuthorizer``: API keys (hashed) in Secrets Manager, checked by a cached TOKEN authorizer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from llm_gateway.constructs._lambda import python_function
from llm_gateway.contract import AUTHORIZER_SERVICE, Settings

EMPTY_KEY_SET = '{"keys": {}, "version": 1}'


class TenantAuthorizer(Construct):
    """Who may call the gateway, and as which tenant.

    The secret starts with no keys (``python -m llm_gateway keys create`` adds them); it never holds
    a key, only SHA-256 hashes and metadata, so reading it does not expose a credential.

    :param results_cache_ttl: how long API Gateway caches a key's Allow/Deny (revocation latency).
    :param keys_cache_ttl: how long the authorizer caches the secret (new-key latency).
    :param encryption_key: a customer-managed KMS key for the secret (default: aws/secretsmanager).
    :param keys_secret: bring your own keys secret (it must hold ``{"keys": {...}, "version": 1}``).
    """

    def __init__(self, scope: Construct, id: str, *, results_cache_ttl: cdk.Duration | None = None,
                 keys_cache_ttl: cdk.Duration | None = None, encryption_key: kms.IKey | None = None,
                 keys_secret: secretsmanager.ISecret | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        self.keys_secret: secretsmanager.ISecret = keys_secret or secretsmanager.Secret(
            self, "Keys", description="LLM gateway API keys: SHA-256 hashes and tenant records, never keys",
            secret_string_value=cdk.SecretValue.unsafe_plain_text(EMPTY_KEY_SET),  # no credential in it
            encryption_key=encryption_key, removal_policy=removal_policy)
        self.function = python_function(
            self, "Authorizer", handler="llm_gateway.lambdas.authorizer.handler", memory_size=512,
            timeout=cdk.Duration.seconds(10), log_retention=log_retention, removal_policy=removal_policy,
            description="LLM gateway tenant authorizer (API keys)",
            environment={"POWERTOOLS_SERVICE_NAME": AUTHORIZER_SERVICE, **Settings.env(
                keys_secret_id=self.keys_secret.secret_arn,
                keys_cache_seconds=int(keys_cache_ttl.to_seconds()) if keys_cache_ttl else None)})
        self.keys_secret.grant_read(self.function)
        self.authorizer = apigw.TokenAuthorizer(
            self, "TokenAuthorizer", handler=self.function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=results_cache_ttl or cdk.Duration.minutes(5))
        if keys_secret is None:
            cdk.Validations.of(self.keys_secret).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Holds key hashes, not a credential; keys rotate with overlap via `llm_gateway keys rotate`."))

    def grant_manage_keys(self, grantee: iam.IGrantable) -> iam.Grant:
        """For the operators or pipelines that run ``llm_gateway keys create|revoke|rotate``."""
        return self.keys_secret.grant_read(grantee).combine(self.keys_secret.grant_write(grantee))
