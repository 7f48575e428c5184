"""How every function of this library is built: one Docker-free code asset, arm64, traced, logged;
and the grants and table defaults the constructs share."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import llm_gateway
from llm_gateway.constructs._bytecode import precompile_init_path
from llm_gateway.constructs.network import ensure_endpoints, private_subnets
from llm_gateway.contract import METRICS_NAMESPACE

PACKAGE_DIR = Path(llm_gateway.__file__).resolve().parent
# The tests run the bundle under this Python (DESIGN.md section 8): keep them in step.
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# The functions' dependencies, every one pinned (the lock agrees with constraints.txt, a test checks)
# and installed without resolving: what the runtime already provides (boto3, botocore) stays out.
LOCK_FILE = PACKAGE_DIR / "lambdas" / "requirements.txt"
# Not shipped to Lambda: CDK code and the local runner (and no bytecode but the bundler's own).
NOT_IN_ASSET = ("constructs", "local", "dashboard", "__pycache__", "*.pyc")
# What the functions import at init: their handlers, and the server the gateway's run.sh starts.
ENTRY_MODULES = ["uvicorn.__main__", *(f"llm_gateway.lambdas.{p.stem}" for p in sorted(
    (PACKAGE_DIR / "lambdas").glob("*.py")) if p.stem != "__init__")]
# ``-c llm-gateway:bundle-platform=host`` builds the asset for this machine instead of Lambda's
# arm64, so a test can run exactly what would be deployed.
BUNDLE_PLATFORM_CONTEXT = "llm-gateway:bundle-platform"
WHEEL_PLATFORMS = {"arm64": "manylinux2014_aarch64", "aarch64": "manylinux2014_aarch64",
                   "x86_64": "manylinux2014_x86_64", "amd64": "manylinux2014_x86_64"}


@jsii.implements(cdk.ILocalBundling)
class PipBundler:
    """Bundles without Docker: the locked wheels for the runtime's platform, the package, then the
    bytecode of what the functions import at init (see ``_bytecode``)."""

    def __init__(self, wheel_platform: str, python_version: str) -> None:
        self.wheel_platform, self.python_version = wheel_platform, python_version

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--requirement", str(LOCK_FILE), "--target", output_dir, "--platform", self.wheel_platform,
             "--implementation", "cp", "--python-version", self.python_version, "--only-binary=:all:",
             "--upgrade", "--no-compile"],  # bytecode would be for this Python, not Lambda's: see below
            check=True)
        shutil.copytree(PACKAGE_DIR, Path(output_dir) / "llm_gateway", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*NOT_IN_ASSET))
        precompile_init_path(Path(output_dir), LOCK_FILE, self.python_version, ENTRY_MODULES, package="llm_gateway",
                             same_platform=self.wheel_platform == WHEEL_PLATFORMS.get(platform.machine().lower()))
        return True


def wheel_platform(scope: Construct) -> str:
    target = scope.node.try_get_context(BUNDLE_PLATFORM_CONTEXT) or "lambda"
    machine = platform.machine().lower() if target == "host" else ARCHITECTURE.name
    if machine not in WHEEL_PLATFORMS:
        raise ValueError(f"{BUNDLE_PLATFORM_CONTEXT}: no Lambda wheels for {machine!r}")
    return WHEEL_PLATFORMS[machine]


def lambda_code(scope: Construct) -> lambda_.Code:
    """The package as one asset per stack, shared by all its functions (bundled once)."""
    stack = cdk.Stack.of(scope)
    existing = getattr(stack, "_llm_gateway_code", None)
    if existing is None:
        bundler = PipBundler(wheel_platform(scope), RUNTIME.name.removeprefix("python"))
        existing = lambda_.Code.from_asset(
            str(PACKAGE_DIR), exclude=[*NOT_IN_ASSET, "**/__pycache__"],
            bundling=cdk.BundlingOptions(image=cdk.DockerImage.from_registry("unused-local-bundling"),
                                         local=bundler))  # type: ignore[arg-type]  # jsii: positional args
        stack._llm_gateway_code = existing  # type: ignore[attr-defined]
    return existing


def python_function(scope: Construct, id: str, *, handler: str, environment: dict[str, str],
                    description: str, log_retention: logs.RetentionDays, removal_policy: cdk.RemovalPolicy,
                    memory_size: int = 512, timeout: cdk.Duration | None = None,
                    layers: list[lambda_.ILayerVersion] | None = None, vpc: ec2.IVpc | None = None,
                    vpc_subnets: ec2.SubnetSelection | None = None) -> lambda_.Function:
    """A function whose role can write its own log group and traces, and nothing else until granted;
    with a ``vpc``, in its private subnets, the VPC endpoints it needs beside it."""
    log_group = logs.LogGroup(scope, f"{id}Logs", retention=log_retention, removal_policy=removal_policy)
    role = iam.Role(scope, f"{id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"{description} (least privilege)")
    log_group.grant_write(role)
    function = lambda_.Function(
        scope, id, runtime=RUNTIME, architecture=ARCHITECTURE, handler=handler, code=lambda_code(scope),
        description=description, memory_size=memory_size, timeout=timeout or cdk.Duration.seconds(30),
        environment={"POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE, **environment},
        tracing=lambda_.Tracing.ACTIVE, log_group=log_group, layers=layers, role=role,
        **placement(vpc, vpc_subnets))
    cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
        id="AwsSolutions-IAM5[Resource::*]",
        reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions."))
    if vpc:
        cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
               "AWSLambdaVPCAccessExecutionRole]",
            reason="Lambda's network interfaces in the VPC: the AWS managed policy is the documented one "
                   "(its EC2 actions support no resource-level scoping)."))
    cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(
        id="AwsSolutions-L1",
        reason=f"{RUNTIME.name} is the newest runtime the test suite runs this asset under; "
               "a newer one ships only once the tests prove the bundle on it."))
    return function


def placement(vpc: ec2.IVpc | None, subnets: ec2.SubnetSelection | None) -> dict[str, Any]:
    if vpc is None:
        return {}
    chosen = private_subnets(vpc, subnets)
    ensure_endpoints(vpc, chosen)
    return {"vpc": vpc, "vpc_subnets": chosen}


# What DynamoDB does with a customer-managed key on the caller's behalf.
KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")


def grant_table(grantee: iam.IGrantable, table: ddb.ITable, *actions: str, indexes: bool = False) -> iam.Grant:
    """Exactly these DynamoDB actions on the table itself (and its indexes, only where asked: the
    pipeline never reads one), and the table's customer-managed key if it has one."""
    arns = [table.table_arn, f"{table.table_arn}/index/*"] if indexes else [table.table_arn]
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=[f"dynamodb:{a}" for a in actions],
                                       resource_arns=arns)
    if table.encryption_key:
        grant = grant.combine(table.encryption_key.grant(grantee, *KEY_ACTIONS))
    return grant


def table_props(removal_policy: cdk.RemovalPolicy, encryption_key: kms.IKey | None = None) -> dict[str, Any]:
    """Every table: on-demand, encrypted (AWS-managed, or the platform team's key), recoverable."""
    encryption = ({"encryption": ddb.TableEncryption.CUSTOMER_MANAGED, "encryption_key": encryption_key}
                  if encryption_key else {"encryption": ddb.TableEncryption.AWS_MANAGED})
    return {
        "billing_mode": ddb.BillingMode.PAY_PER_REQUEST,
        **encryption,
        "point_in_time_recovery_specification": ddb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        "removal_policy": removal_policy,
    }


def queue_for_function(scope: Construct, *, consumer_timeout: cdk.Duration, max_receive_count: int,
                       retention: cdk.Duration | None = None) -> tuple[sqs.Queue, sqs.Queue]:
    """A queue a function consumes, and its dead-letter queue: both encrypted and TLS-only, the
    visibility six times the consumer's timeout (AWS guidance for SQS -> Lambda), dead letters
    kept 14 days."""
    dead_letters = sqs.Queue(scope, "DeadLetterQueue", encryption=sqs.QueueEncryption.SQS_MANAGED,
                             enforce_ssl=True, retention_period=cdk.Duration.days(14))
    queue = sqs.Queue(scope, "Queue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                      retention_period=retention,
                      visibility_timeout=cdk.Duration.seconds(consumer_timeout.to_seconds() * 6),
                      dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receive_count))
    return queue, dead_letters


def queue_depth(queue: sqs.IQueue, period: cdk.Duration | None = None) -> cloudwatch.Metric:
    """Messages waiting, the most in each period (a minute by default)."""
    return queue.metric_approximate_number_of_messages_visible(
        period=period or cdk.Duration.minutes(1), statistic="Maximum")


def dead_letters_alarm(scope: Construct, metric: cloudwatch.Metric, description: str) -> cloudwatch.Alarm:
    """Fires on the first message in a dead-letter queue."""
    return metric.create_alarm(
        scope, "DeadLetterAlarm", threshold=1, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING, alarm_description=description)
