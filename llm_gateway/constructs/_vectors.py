"""Amazon S3 Vectors buckets as the constructs make and grant them (the semantic cache's index,
the RAG documents): encrypted, with grants scoped to the indexes a construct's functions use."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from llm_gateway.constructs._lambda import KEY_ACTIONS


def vector_bucket(scope: Construct, id: str, encryption_key: kms.IKey | None,
                  removal_policy: cdk.RemovalPolicy) -> str:
    """A vector bucket encrypted with ``encryption_key`` (else S3's own keys); its ARN."""
    encryption = s3vectors.CfnVectorBucket.EncryptionConfigurationProperty
    bucket = s3vectors.CfnVectorBucket(scope, id, encryption_configuration=(
        encryption(sse_type="aws:kms", kms_key_arn=encryption_key.key_arn) if encryption_key
        else encryption(sse_type="AES256")))
    bucket.apply_removal_policy(removal_policy)
    if encryption_key:  # S3 Vectors' indexing reads vectors back with the bucket's key
        encryption_key.grant_decrypt(iam.ServicePrincipal("indexing.s3vectors.amazonaws.com"))
    return bucket.attr_vector_bucket_arn


def grant_vectors(scope: Construct, grantee: iam.IGrantable, bucket_arn: str, *, indexes: str, actions: list[str],
                  encryption_key: kms.IKey | None, why: str) -> iam.Grant:
    """``actions`` on the bucket and its indexes named ``indexes`` (a pattern: ``cache-*``), with
    the cdk-nag acknowledgment of that wildcard, ``why``. (``QueryVectors`` returns metadata only
    to a caller who may also ``GetVectors``.)"""
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=[f"s3vectors:{a}" for a in actions],
                                       resource_arns=[bucket_arn, f"{bucket_arn}/index/{indexes}"])
    if isinstance(grantee.grant_principal, Construct):
        arn = cdk.Stack.of(scope).resolve(bucket_arn)
        if isinstance(arn, dict):  # a bucket made in this stack, as cdk-nag names it
            logical, attribute = arn["Fn::GetAtt"]
            arn = f"<{logical}.{attribute}>"
        cdk.Validations.of(grantee.grant_principal).acknowledge(cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{arn}/index/{indexes}]", reason=why))
    if encryption_key:
        grant = grant.combine(encryption_key.grant(grantee, *KEY_ACTIONS))
    return grant
