"""``ModelAccess``: which models a function calls, and the least IAM that lets it."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from llm_gateway.core.settings import Settings

INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.")


@dataclass(frozen=True)
class ModelAccess:
    """``llm_mode="local"`` deploys the JSONL stand-in (useful for a smoke stack with no Bedrock access)."""

    llm_mode: str = "bedrock"
    model_id: str = Settings.model_id
    embed_model_id: str = Settings.embed_model_id
    judge_model_id: str = Settings.judge_model_id

    @property
    def environment(self) -> dict[str, str]:
        return {"LLM_MODE": self.llm_mode, "MODEL_ID": self.model_id,
                "EMBED_MODEL_ID": self.embed_model_id, "JUDGE_MODEL_ID": self.judge_model_id}

    def grant_invoke(self, function: lambda_.IFunction) -> None:
        if self.llm_mode == "bedrock":
            grant_bedrock_models(function, [self.model_id, self.embed_model_id, self.judge_model_id])


def grant_bedrock_models(function: lambda_.IFunction, model_ids: list[str]) -> None:
    """bedrock:InvokeModel* on exactly these models (Converse is authorised as InvokeModel)."""
    if not model_ids:
        return
    stack = cdk.Stack.of(function)
    resources: set[str] = set()
    for model_id in model_ids:
        if model_id.startswith(INFERENCE_PROFILE_PREFIXES):
            # A cross-region profile routes to the base model in any of its regions.
            base = model_id.split(".", 1)[1]
            resources.add(f"arn:{stack.partition}:bedrock:*::foundation-model/{base}")
            resources.add(f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{model_id}")
        else:
            resources.add(f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model_id}")
    function.add_to_role_policy(iam.PolicyStatement(
        actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], resources=sorted(resources)))
