"""``UsageDashboard``: the usage page as a static site, S3 behind CloudFront with origin access
control, the billing endpoint routed through the same distribution (seed 003's billing dashboard)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from llm_gateway.dashboard import CONTENT_SECURITY_POLICY, FILES, SITE

BILLING_PATH = "/v1/billing/*"


class UsageDashboard(Construct):
    """The page reads ``GET /v1/billing/usage`` with the visitor's API key (kept in the browser tab,
    never in the site). CloudFront serves the page from a private bucket (origin access control)
    and forwards ``/v1/billing/*`` to the API, so the page calls its own origin: the API needs no
    CORS and the key is never sent to another host.

    :param api: the gateway's REST API (``GuardedEndpoint.api``).
    :param web_acl_arn: a WAF web ACL (global scope) to put in front of the distribution.
    :param price_class: the edge locations to serve from (the cheapest set by default).
    """

    def __init__(self, scope: Construct, id: str, *, api: apigw.RestApi, web_acl_arn: str | None = None,
                 price_class: cloudfront.PriceClass = cloudfront.PriceClass.PRICE_CLASS_100,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY) -> None:
        super().__init__(scope, id)
        # S3 access logs delivered by bucket policy, not the legacy log-delivery ACL (this construct's
        # buckets only, whatever the app's feature flags).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        destroy = removal_policy == cdk.RemovalPolicy.DESTROY
        private = {"block_public_access": s3.BlockPublicAccess.BLOCK_ALL, "enforce_ssl": True,
                   "encryption": s3.BucketEncryption.S3_MANAGED, "removal_policy": removal_policy,
                   "auto_delete_objects": destroy}
        expire = [s3.LifecycleRule(expiration=cdk.Duration.days(90))]
        # S3's access logs by bucket policy (ACLs off); CloudFront's standard logs need ACLs, so
        # they get a bucket of their own, whose access is logged to the first.
        self.access_logs_bucket = s3.Bucket(self, "AccessLogs", lifecycle_rules=expire,
                                            **private)  # type: ignore[arg-type]
        self.cdn_logs_bucket = s3.Bucket(
            self, "CdnLogs", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED, lifecycle_rules=expire,
            server_access_logs_bucket=self.access_logs_bucket, server_access_logs_prefix="cdn-logs/",
            **private)  # type: ignore[arg-type]
        self.bucket = s3.Bucket(self, "Site", server_access_logs_bucket=self.access_logs_bucket,
                                server_access_logs_prefix="site/", **private)  # type: ignore[arg-type]

        headers = cloudfront.ResponseHeadersPolicy(
            self, "Headers", comment="Usage dashboard: the page runs only its own script, calls only its origin",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, override=True)))
        # The key must reach the API: CloudFront forwards Authorization only as part of a cache key.
        # Responses are not kept (default TTL 0; the endpoint sends no caching headers).
        billing_reads = cloudfront.CachePolicy(
            self, "BillingReads", comment="Usage reads: per key and range, not cached",
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list("from", "to", "tenant"),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            default_ttl=cdk.Duration.seconds(0), min_ttl=cdk.Duration.seconds(0), max_ttl=cdk.Duration.seconds(1))
        self.distribution = cloudfront.Distribution(
            self, "Distribution", comment="LLM gateway usage dashboard", default_root_object="index.html",
            price_class=price_class, web_acl_id=web_acl_arn, http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True, log_bucket=self.cdn_logs_bucket, log_file_prefix="cdn/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED, response_headers_policy=headers),
            additional_behaviors={BILLING_PATH: cloudfront.BehaviorOptions(
                origin=origins.RestApiOrigin(api),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=billing_reads, response_headers_policy=headers)})
        self.deployment = s3deploy.BucketDeployment(
            self, "Deploy", sources=[s3deploy.Source.asset(str(SITE), exclude=["*", *(f"!{f}" for f in FILES)])],
            destination_bucket=self.bucket, distribution=self.distribution, memory_limit=256,
            log_group=logs.LogGroup(self, "UploadLogs", retention=log_retention, removal_policy=removal_policy))
        self._acknowledge(web_acl_arn is not None)

    def _acknowledge(self, has_web_acl: bool) -> None:
        reasons = {
            "AwsSolutions-CFR1": "The dashboard is for the platform's own operators wherever they are; "
                                 "add geo restrictions to the distribution if policy needs them.",
            "AwsSolutions-CFR4": "No custom domain is given, so the distribution uses CloudFront's default "
                                 "certificate (its TLS floor is CloudFront's); TLSv1.2_2021 applies with one.",
        }
        if not has_web_acl:
            reasons["AwsSolutions-CFR2"] = ("WAF is account policy: pass web_acl_arn; the page is static and every "
                                            "API call through it is authorised by the gateway's authorizer.")
        for rule, reason in reasons.items():
            cdk.Validations.of(self.distribution).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
        # CDK's own upload function (one per stack), as CDK ships it: it copies the page from the
        # asset bucket into the site bucket and invalidates the distribution, then idles.
        handler = self.deployment.handler_role.node.scope
        assert handler is not None
        qualifier = (self.node.try_get_context("@aws-cdk/core:bootstrapQualifier")
                     or cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER)
        assets = f"arn:<AWS::Partition>:s3:::cdk-{qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*"
        site = f"<{cdk.Stack.of(self).get_logical_id(self.bucket.node.default_child)}.Arn>/*"  # type: ignore[arg-type]
        wildcards = [f"Action::s3:{a}*" for a in ("GetBucket", "GetObject", "List", "Abort", "DeleteObject")]
        wildcards += [f"Resource::{assets}", f"Resource::{site}", "Resource::*"]
        acknowledgments = {f"AwsSolutions-IAM5[{w}]": "CDK's BucketDeployment grants: read of its asset, write of "
                           "the site bucket's objects, CloudFront invalidations (no per-resource form)"
                           for w in wildcards}
        acknowledgments |= {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]":
                "CDK's BucketDeployment handler logs with the AWS managed basic execution role.",
            "AwsSolutions-L1": "CDK pins its BucketDeployment handler's runtime to the CDK release."}
        for rule, reason in acknowledgments.items():
            cdk.Validations.of(handler).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}/"
