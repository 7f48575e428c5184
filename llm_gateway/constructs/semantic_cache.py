"""``SemanticCache``: the DynamoDB table behind the gateway's semantic cache."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from llm_gateway.constructs._lambda import grant_table, table_props
from llm_gateway.constructs.metrics import gateway_metric
from llm_gateway.contract import CACHE_PURGE_INDEX as PURGE_INDEX
from llm_gateway.contract import METRIC_CACHE_HITS, Settings


class SemanticCache(Construct):
    """The cache's table: entry items under their exact-question key and LSH-forest index items
    (``pk`` and ``sk``, see ``llm_gateway.core.cache``), expired by TTL; a sparse ``by-tenant`` index
    over entry items lets an operator purge a tenant's, alias's or question's answers.

    :param ttl: how long an answer may be served from the cache (``CACHE_TTL_SECONDS``).
    :param similarity_threshold: the cosine similarity a candidate must reach (then verification);
        by default the threshold calibrated for the embedding model (``contract.CACHE_THRESHOLDS``).
    :param table: bring your own table (string ``pk`` and ``sk``, TTL on ``expires_at``, and the
        ``by-tenant`` index: partition ``tenant_id``, sort ``sk``, keys and ``model_alias``,
        ``question``, ``index_keys`` projected).
    :param encryption_key: a customer-managed KMS key for the table created here.
    """

    def __init__(self, scope: Construct, id: str, *, ttl: cdk.Duration | None = None,
                 similarity_threshold: float | None = None, table: ddb.ITable | None = None,
                 encryption_key: kms.IKey | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        if similarity_threshold is not None and not 0.0 < similarity_threshold <= 1.0:
            raise ValueError(f"similarity_threshold must be in (0, 1], got {similarity_threshold}")
        self.ttl = ttl or cdk.Duration.seconds(Settings.cache_ttl_seconds)
        self.similarity_threshold = similarity_threshold
        if table is None:
            table = ddb.Table(
                self, "Table",
                partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
                sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
                time_to_live_attribute="expires_at",
                **table_props(removal_policy, encryption_key))
            table.add_global_secondary_index(
                index_name=PURGE_INDEX,
                partition_key=ddb.Attribute(name="tenant_id", type=ddb.AttributeType.STRING),
                sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
                projection_type=ddb.ProjectionType.INCLUDE,
                non_key_attributes=["model_alias", "question", "index_keys"])
        self.table: ddb.ITable = table

    @property
    def environment(self) -> dict[str, str]:
        """What a function using this cache needs in its environment."""
        return Settings.env(cache_table=self.table.table_name, cache_ttl_seconds=int(self.ttl.to_seconds()),
                            cache_threshold=self.similarity_threshold)

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the pipeline does with the cache: query buckets, write entries."""
        return grant_table(grantee, self.table, "Query", "GetItem", "BatchWriteItem")

    def grant_evict(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the judge does with an answer it scores too low: delete its entries."""
        return grant_table(grantee, self.table, "BatchWriteItem")

    def grant_purge(self, grantee: iam.IGrantable) -> iam.Grant:
        """What ``llm-gateway cache purge`` does: read the ``by-tenant`` index, delete entries."""
        return grant_table(grantee, self.table, "Query", "Scan", "BatchWriteItem", indexes=True)

    def metric_hits(self, *, period: cdk.Duration | None = None) -> cloudwatch.Metric:
        """Answers served from the cache (the gateway's ``Outcome_cached``)."""
        return gateway_metric(METRIC_CACHE_HITS, period=period)
