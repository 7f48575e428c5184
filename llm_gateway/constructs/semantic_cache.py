"""``SemanticCache``: the DynamoDB table behind the gateway's semantic cache."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from llm_gateway.constructs._lambda import allow, encrypted_table_defaults


class SemanticCache(Construct):
    """Cache entries keyed by scope and LSH bucket (``pk``) and age (``sk``); expired by TTL.

    :param ttl: how long an answer may be served from the cache (``CACHE_TTL_SECONDS``).
    :param similarity_threshold: the cosine similarity a candidate must reach (then verification).
    """

    def __init__(self, scope: Construct, id: str, *, ttl: cdk.Duration | None = None,
                 similarity_threshold: float = 0.92,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        self.ttl = ttl or cdk.Duration.days(7)
        self.similarity_threshold = similarity_threshold
        self.table = ddb.Table(
            self, "Table",
            partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
            **encrypted_table_defaults(removal_policy))

    @property
    def environment(self) -> dict[str, str]:
        """What a function using this cache needs in its environment."""
        return {"CACHE_TABLE": self.table.table_name,
                "CACHE_TTL_SECONDS": str(int(self.ttl.to_seconds())),
                "CACHE_SIMILARITY_THRESHOLD": str(self.similarity_threshold)}

    def grant_read_write(self, function: lambda_.IFunction) -> None:
        """What the pipeline does with the cache: query buckets, write entries."""
        allow(function, self.table, "Query", "BatchWriteItem", "PutItem")
