"""How every function of this library is built: one Docker-free code asset, arm64, traced, logged."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

import llm_gateway

PACKAGE_DIR = Path(llm_gateway.__file__).resolve().parent
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Not shipped to Lambda: CDK code and the local runner.
NOT_IN_ASSET = ["constructs", "local", "**/__pycache__", "*.pyc"]


@jsii.implements(cdk.ILocalBundling)
class PipBundler:
    """Bundles without Docker: ``pip install --platform`` wheels for the Lambda runtime, then the package."""

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        version = RUNTIME.name.removeprefix("python")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--requirement", str(PACKAGE_DIR / "lambdas" / "requirements.txt"), "--target", output_dir,
             "--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", version,
             "--only-binary=:all:", "--upgrade", "--no-compile"],  # pyc would be for this Python, not Lambda's
            check=True)
        shutil.copytree(PACKAGE_DIR, Path(output_dir) / "llm_gateway", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("constructs", "local", "__pycache__", "*.pyc"))
        return True


def lambda_code(scope: Construct) -> lambda_.Code:
    """The package as one asset per stack, shared by all its functions (bundled once)."""
    stack = cdk.Stack.of(scope)
    existing = getattr(stack, "_llm_gateway_code", None)
    if existing is None:
        existing = lambda_.Code.from_asset(
            str(PACKAGE_DIR), exclude=NOT_IN_ASSET,
            bundling=cdk.BundlingOptions(image=cdk.DockerImage.from_registry("unused-local-bundling"),
                                         # jsii passes (output_dir, options) positionally
                                         local=PipBundler()))  # type: ignore[arg-type]
        stack._llm_gateway_code = existing  # type: ignore[attr-defined]
    return existing


def python_function(scope: Construct, id: str, *, handler: str, environment: dict[str, str],
                    description: str, memory_size: int = 512, timeout: cdk.Duration | None = None,
                    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
                    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
                    layers: list[lambda_.ILayerVersion] | None = None) -> lambda_.Function:
    """A function whose role can write its own log group and traces, and nothing else until granted."""
    log_group = logs.LogGroup(scope, f"{id}Logs", retention=log_retention, removal_policy=removal_policy)
    role = iam.Role(scope, f"{id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"{description} (least privilege)")
    log_group.grant_write(role)
    function = lambda_.Function(
        scope, id, runtime=RUNTIME, architecture=ARCHITECTURE, handler=handler, code=lambda_code(scope),
        description=description, memory_size=memory_size, timeout=timeout or cdk.Duration.seconds(30),
        environment={"POWERTOOLS_METRICS_NAMESPACE": "LLMGateway", **environment},
        tracing=lambda_.Tracing.ACTIVE, log_group=log_group, layers=layers, role=role)
    cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
        id="AwsSolutions-IAM5[Resource::*]",
        reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions."))
    return function


def allow(function: lambda_.IFunction, table: ddb.ITable, *actions: str) -> None:
    """Exactly these DynamoDB actions on the table itself (the pipeline never reads an index)."""
    function.add_to_role_policy(iam.PolicyStatement(
        actions=[f"dynamodb:{action}" for action in actions], resources=[table.table_arn]))


def encrypted_table_defaults(removal_policy: cdk.RemovalPolicy) -> dict[str, Any]:
    """Every table: on-demand, encrypted, point-in-time recovery."""
    return {
        "billing_mode": ddb.BillingMode.PAY_PER_REQUEST,
        "encryption": ddb.TableEncryption.AWS_MANAGED,
        "point_in_time_recovery_specification": ddb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
        "removal_policy": removal_policy,
    }
