#!/usr/bin/env python3
"""CDK app: ``cdk deploy -c env=dev|prod`` (environments are defined in cdk.json)."""

import os

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from stacks.config import EnvironmentConfig
from stacks.gateway_stack import GatewayStack


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    config = EnvironmentConfig.from_context(app)
    GatewayStack(app, f"LlmGateway-{config.name}", config=config,
                 env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
                                     region=os.environ.get("CDK_DEFAULT_REGION")))
    # Unacknowledged AwsSolutions findings fail the synth.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
