"""``RateLimiter``: per-tenant quota counters (requests per minute and per day, tokens per minute)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from llm_gateway.constructs._lambda import allow, encrypted_table_defaults


class RateLimiter(Construct):
    """Atomic counters in DynamoDB, one item per tenant and window, expired by TTL.

    The defaults apply to every tenant whose key record sets no override. Leave the construct out
    and the gateway enforces no quotas.

    :param requests_per_minute: default RPM (60). :param requests_per_day: default RPD (1000).
    :param tokens_per_minute: default TPM (unlimited when None).
    """

    def __init__(self, scope: Construct, id: str, *, requests_per_minute: int = 60,
                 requests_per_day: int = 1000, tokens_per_minute: int | None = None) -> None:
        super().__init__(scope, id)
        self.requests_per_minute, self.requests_per_day = requests_per_minute, requests_per_day
        self.tokens_per_minute = tokens_per_minute
        # Counters are disposable: no PITR needed, and they go with the stack.
        defaults = encrypted_table_defaults(cdk.RemovalPolicy.DESTROY)
        self.table = ddb.Table(
            self, "Counters", partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            time_to_live_attribute="expires_at", **defaults)

    @property
    def environment(self) -> dict[str, str]:
        env = {"RATE_LIMITS_TABLE": self.table.table_name, "RPM_LIMIT": str(self.requests_per_minute),
               "RPD_LIMIT": str(self.requests_per_day)}
        if self.tokens_per_minute:
            env["TPM_LIMIT"] = str(self.tokens_per_minute)
        return env

    def grant_count(self, function: lambda_.IFunction) -> None:
        allow(function, self.table, "UpdateItem", "GetItem")
