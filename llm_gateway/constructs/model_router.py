"""``ModelRouter``: model aliases, the provider targets behind them, and the provider keys."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, table_props
from llm_gateway.constructs.models import grant_bedrock_models
from llm_gateway.contract import COMPATIBLE, Settings, check_provider, compatible_env, parse_routes, secret_env


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
    :param table: bring your own routes table (string partition key ``alias``).
    """

    def __init__(self, scope: Construct, id: str, *, routes: dict[str, dict[str, Any]] | None = None,
                 provider_secrets: dict[str, secretsmanager.ISecret] | None = None,
                 compatible_endpoints: dict[str, str] | None = None, cache_ttl: cdk.Duration | None = None,
                 cooldown: cdk.Duration | None = None, table: ddb.ITable | None = None,
                 encryption_key: kms.IKey | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        self.routes = routes or {}
        parsed = parse_routes(json.dumps(self.routes))  # fail at synth, not at the first request
        self.provider_secrets = provider_secrets or {}
        for name in self.provider_secrets:
            check_provider(name.partition("#")[0])
        for profile in compatible_endpoints or {}:
            if not profile.startswith(COMPATIBLE):
                raise ValueError(f"compatible_endpoints: {profile!r} must be named {COMPATIBLE}<profile>")
            check_provider(profile)
        self.table: ddb.ITable = table or ddb.Table(
            self, "Routes", partition_key=ddb.Attribute(name="alias", type=ddb.AttributeType.STRING),
            **table_props(removal_policy, encryption_key))
        self._env = Settings.env(
            routes_json=json.dumps(self.routes, separators=(",", ":")), routes_table=self.table.table_name,
            routes_cache_seconds=cache_ttl.to_seconds() if cache_ttl else None,
            cooldown_seconds=cooldown.to_seconds() if cooldown else None)
        for name, secret in self.provider_secrets.items():
            provider, _, key_id = name.partition("#")
            self._env[secret_env(provider, key_id or None)] = secret.secret_arn
        for profile, url in (compatible_endpoints or {}).items():
            base, _, mode = url.partition("#")
            self._env[compatible_env(profile, "BASE_URL")] = base
            if mode:
                self._env[compatible_env(profile, "ENDPOINT_MODE")] = mode
        self.bedrock_models = sorted({t.model for r in parsed.values() for t in r.targets if t.provider == "bedrock"})

    @property
    def environment(self) -> dict[str, str]:
        return dict(self._env)

    def grant_use(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read routes (a scan only for /v1/models) and provider keys; invoke the Bedrock targets."""
        grant = grant_table(grantee, self.table, "GetItem", "Scan")
        for secret in self.provider_secrets.values():
            grant = grant.combine(secret.grant_read(grantee))
        return grant.combine(grant_bedrock_models(grantee, self.bedrock_models))

    def grant_edit(self, grantee: iam.IGrantable) -> iam.Grant:
        """For operators and pipelines that change routes live."""
        return self.table.grant_read_write_data(grantee)
