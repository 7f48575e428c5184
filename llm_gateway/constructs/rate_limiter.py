"""``RateLimiter``: per-tenant quota counters (requests per minute and per day, tokens per minute)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, table_props
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.contract import METRIC_RATE_LIMITED, QUOTA_STORE_FAILURE, Settings, check_choice


class RateLimiter(Construct):
    """Atomic counters in DynamoDB, one item per tenant and day, expired by TTL.

    The defaults apply to every tenant whose key record sets no override. Leave the construct out
    and the gateway enforces no quotas.

    :param requests_per_minute: default RPM. :param requests_per_day: default RPD.
    :param tokens_per_minute: default TPM (unlimited when None).
    :param table: bring your own counters table (string ``pk``, TTL on ``expires_at``).
    :param on_store_failure: when the counters table itself fails, "open" admits requests uncounted
        (each counted as a ``counters_table`` degradation, which alarms) and "closed" answers 503.
    :param max_lease: the most requests of a busy tenant one counter update admits ahead, for the
        function instance that made it (see ``core/ratelimit.py``): it never admits more than a
        quota, and lets one tenant pass DynamoDB's 1,000 writes a second on an item. 1: every
        request is counted with its own update.
    """

    def __init__(self, scope: Construct, id: str, *, requests_per_minute: int = Settings.default_rpm,
                 requests_per_day: int = Settings.default_rpd, tokens_per_minute: int | None = Settings.default_tpm,
                 table: ddb.ITable | None = None, encryption_key: kms.IKey | None = None,
                 on_store_failure: str = Settings.quota_store_failure,
                 max_lease: int = Settings.quota_max_lease) -> None:
        super().__init__(scope, id)
        self.on_store_failure = check_choice("on_store_failure", on_store_failure, QUOTA_STORE_FAILURE)
        for name, value in (("requests_per_minute", requests_per_minute), ("requests_per_day", requests_per_day),
                            ("tokens_per_minute", tokens_per_minute or 1), ("max_lease", max_lease)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.requests_per_minute, self.requests_per_day = requests_per_minute, requests_per_day
        self.tokens_per_minute, self.max_lease = tokens_per_minute, max_lease
        # Counters are disposable: they go with the stack.
        self.table: ddb.ITable = table or ddb.Table(
            self, "Counters", partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            time_to_live_attribute="expires_at", **table_props(cdk.RemovalPolicy.DESTROY, encryption_key))

    @property
    def environment(self) -> dict[str, str]:
        return Settings.env(rate_limits_table=self.table.table_name, default_rpm=self.requests_per_minute,
                            default_rpd=self.requests_per_day, default_tpm=self.tokens_per_minute,
                            quota_store_failure=self.on_store_failure, quota_max_lease=self.max_lease)

    def grant_count(self, grantee: iam.IGrantable) -> iam.Grant:
        return grant_table(grantee, self.table, "UpdateItem")  # counters are only ever bumped

    def metric_rate_limited(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Requests the gateway answered 429 (quota spent)."""
        return gateway_metric(METRIC_RATE_LIMITED, period=period)
