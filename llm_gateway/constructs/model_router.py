"""``ModelRouter``: model aliases, the provider targets behind them, and the provider keys."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from llm_gateway.constructs._lambda import allow, encrypted_table_defaults
from llm_gateway.constructs.models import grant_bedrock_models
from llm_gateway.core.providers import env_prefix
from llm_gateway.core.routing import parse_routes


class ModelRouter(Construct):
    """Routes in code, overridable live.

    :param routes: alias -> ``{"targets": [{"provider", "model", "weight", "key_id", "input_price",
        "output_price"}], "fallbacks": [aliases], "strategy": "weighted"|"cost", "retries", "timeout"}``.
        Providers: ``bedrock``, ``openai``, ``anthropic``, ``openai_compatible:<profile>``.
    :param provider_secrets: provider (or ``provider#key_id``) -> the secret holding its API key, or a
        JSON array of keys used round-robin. Read access is granted to the gateway only.
    :param compatible_endpoints: ``openai_compatible:<profile>`` -> base URL (with ``#chat``,
        ``#completions`` or ``#auto`` to set the endpoint mode).
    :param cache_ttl: how long a route row read from the table is cached.
    :param cooldown: how long a failing target stays out of rotation.
    """

    def __init__(self, scope: Construct, id: str, *, routes: dict[str, dict[str, Any]] | None = None,
                 provider_secrets: dict[str, secretsmanager.ISecret] | None = None,
                 compatible_endpoints: dict[str, str] | None = None, cache_ttl: cdk.Duration | None = None,
                 cooldown: cdk.Duration | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        self.routes = routes or {}
        parsed = parse_routes(json.dumps(self.routes))  # fail at synth, not at the first request
        self.provider_secrets = provider_secrets or {}
        self.table = ddb.Table(self, "Routes", partition_key=ddb.Attribute(name="alias", type=ddb.AttributeType.STRING),
                               **encrypted_table_defaults(removal_policy))
        self._env = {"ROUTES_JSON": json.dumps(self.routes, separators=(",", ":")),
                     "ROUTES_TABLE": self.table.table_name,
                     "ROUTES_CACHE_SECONDS": str(int((cache_ttl or cdk.Duration.seconds(30)).to_seconds())),
                     "ROUTE_COOLDOWN_SECONDS": str(int((cooldown or cdk.Duration.seconds(30)).to_seconds()))}
        for name, secret in self.provider_secrets.items():
            provider, _, key_id = name.partition("#")
            suffix = f"_{env_prefix(key_id)}" if key_id else ""
            self._env[f"{env_prefix(provider)}_SECRET_ARN{suffix}"] = secret.secret_arn
        for profile, url in (compatible_endpoints or {}).items():
            base, _, mode = url.partition("#")
            self._env[f"{env_prefix(profile)}_BASE_URL"] = base
            if mode:
                self._env[f"{env_prefix(profile)}_ENDPOINT_MODE"] = mode
        self.bedrock_models = sorted({t.model for r in parsed.values() for t in r.targets if t.provider == "bedrock"})

    @property
    def environment(self) -> dict[str, str]:
        return dict(self._env)

    def grant_use(self, function: lambda_.IFunction) -> None:
        """Read routes (a scan only for /v1/models) and provider keys; invoke the Bedrock targets."""
        allow(function, self.table, "GetItem", "Scan")
        for secret in self.provider_secrets.values():
            secret.grant_read(function)
        grant_bedrock_models(function, self.bedrock_models)

    def grant_edit(self, grantee: iam.IGrantable) -> iam.Grant:
        """For operators and pipelines that change routes live."""
        return self.table.grant_read_write_data(grantee)
