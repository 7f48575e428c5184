"""``RagStore``: seed 003's documents, in an Amazon S3 Vectors bucket and index."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from llm_gateway.constructs._vectors import grant_vectors, vector_bucket
from llm_gateway.contract import EMBEDDING_DIMENSIONS, RAG_SOURCE_TEXT, Settings


class RagStore(Construct):
    """The vector bucket ``POST /v1/rag/ingest`` writes and ``/v1/rag/query`` searches, and its
    default index (cosine; the document text kept as non-filterable ``source_text`` metadata).
    Pass it to ``GuardedEndpoint(rag=...)``. Another ``index_name`` in a request is created on its
    first ingest, at the embedding model's dimension.

    :param index_name: the default index (``rag-default``, as in seed 003).
    :param embedding_alias: the model alias documents are embedded with unless a request names one
        (default: the gateway's embedding alias, ``text-embedding``).
    :param embedding_model_id: the provider model behind that alias, whose dimension the default
        index takes (default Titan Text Embeddings v2: 1024); or give ``dimension``.
    :param vector_bucket_arn: bring your own vector bucket instead of creating one.
    :param encryption_key: a customer-managed KMS key for the bucket created here.
    """

    def __init__(self, scope: Construct, id: str, *, index_name: str = Settings.rag_index_name,
                 embedding_alias: str | None = None, embedding_model_id: str = Settings.embed_model_id,
                 dimension: int | None = None, vector_bucket_arn: str | None = None,
                 encryption_key: kms.IKey | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        if dimension is None:
            if embedding_model_id not in EMBEDDING_DIMENSIONS:
                raise ValueError(f"the dimension of {embedding_model_id!r} is not known: pass dimension=")
            dimension = EMBEDDING_DIMENSIONS[embedding_model_id]
        self.index_name, self.embedding_alias, self._key = index_name, embedding_alias, encryption_key
        self.vector_bucket_arn = vector_bucket_arn or vector_bucket(self, "Vectors", encryption_key, removal_policy)
        self.index = s3vectors.CfnIndex(
            self, "Index", vector_bucket_arn=self.vector_bucket_arn, index_name=index_name, data_type="float32",
            dimension=dimension, distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=[RAG_SOURCE_TEXT]))
        self.index.apply_removal_policy(removal_policy)

    @property
    def environment(self) -> dict[str, str]:
        """What the gateway function needs in its environment."""
        return Settings.env(rag_vector_bucket_arn=self.vector_bucket_arn, rag_index_name=self.index_name,
                            rag_embedding_alias=self.embedding_alias)

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """What the RAG doors do: put, query (with metadata: GetVectors) and delete documents,
        and create an index a request names on its first ingest."""
        return grant_vectors(
            self, grantee, self.vector_bucket_arn, indexes="*",
            actions=["PutVectors", "QueryVectors", "GetVectors", "DeleteVectors", "CreateIndex"],
            encryption_key=self._key,
            why="Requests may name their own index (index_name), created on its first ingest: every "
                "index of this bucket, which holds only RAG documents.")
