"""``ModelAccess``: which models a function calls, and the least IAM that lets it."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from llm_gateway.contract import LLM_MODES, Settings, check_choice

INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.")


@dataclass(frozen=True)
class ModelAccess:
    """``llm_mode="local"`` deploys the JSONL stand-in (useful for a smoke stack with no Bedrock access)."""

    llm_mode: str = "bedrock"
    model_id: str = Settings.model_id
    embed_model_id: str = Settings.embed_model_id
    judge_model_id: str = Settings.judge_model_id

    def __post_init__(self) -> None:
        check_choice("llm_mode", self.llm_mode, LLM_MODES)

    @property
    def environment(self) -> dict[str, str]:
        return Settings.env(llm_mode=self.llm_mode, model_id=self.model_id, embed_model_id=self.embed_model_id,
                            judge_model_id=self.judge_model_id)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        models = [self.model_id, self.embed_model_id, self.judge_model_id] if self.llm_mode == "bedrock" else []
        return grant_bedrock_models(grantee, models)


def grant_bedrock_models(grantee: iam.IGrantable, model_ids: list[str]) -> iam.Grant:
    """bedrock:InvokeModel* on exactly these models (Converse is authorised as InvokeModel)."""
    if not model_ids:
        return iam.Grant.drop(grantee, "invoke no Bedrock model")
    partition, region, account = cdk.Aws.PARTITION, cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
    resources: set[str] = set()
    for model_id in model_ids:
        if model_id.startswith(INFERENCE_PROFILE_PREFIXES):
            # A cross-region profile routes to the base model in any of its regions.
            base = model_id.split(".", 1)[1]
            resources.add(f"arn:{partition}:bedrock:*::foundation-model/{base}")
            resources.add(f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}")
        else:
            resources.add(f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}")
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        resource_arns=sorted(resources))
