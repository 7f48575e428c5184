"""The library as another team uses it: the wheel, ``pip install``ed with its own declared
dependencies into a clean virtualenv (no dev requirements, no boto3), imported into their CDK app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONSUMER_APP = '''
import importlib.util

import aws_cdk as cdk
from aws_cdk import aws_events as events, aws_iam as iam, aws_kms as kms, aws_secretsmanager as sm, aws_sns as sns

import llm_gateway
from llm_gateway.constructs import (EvalLoop, GatewayMonitoring, GuardedEndpoint, LexChatbot, ModelAccess,
                                    ModelRouter, RagStore, RateLimiter, SemanticCache, TenantAuthorizer,
                                    UsageDashboard, UsageLedger)

assert "site-packages" in llm_gateway.__file__, llm_gateway.__file__  # the installed copy, not the repo
assert importlib.util.find_spec("boto3") is None  # synthesizing needs none of the Lambda dependencies

app = cdk.App()
stack = cdk.Stack(app, "Consumer")
# The platform team's own resources, brought in.
key = kms.Key(stack, "PlatformKey", enable_key_rotation=True)
bus = events.EventBus(stack, "PlatformBus")
openai_key = sm.Secret(stack, "OpenAIKey")

cache = SemanticCache(stack, "Cache", encryption_key=key)
loop = EvalLoop(stack, "Eval", sample_rate=0.5, event_bus=bus, model=ModelAccess(model_id="amazon.nova-lite-v1:0"))
tenants = TenantAuthorizer(stack, "Tenants", encryption_key=key)
limiter = RateLimiter(stack, "Limits", requests_per_minute=10)
router = ModelRouter(stack, "Router", provider_secrets={"openai": openai_key},
                     routes={"default": {"targets": [{"provider": "openai", "model": "gpt-4o-mini"}]}})
usage = UsageLedger(stack, "Usage", metric_tenants=["t_finance"])
rag = RagStore(stack, "Rag", encryption_key=key, dimension=384)
endpoint = GuardedEndpoint(stack, "Gateway", cache=cache, eval_loop=loop, tenants=tenants, rate_limiter=limiter,
                           router=router, usage=usage, rag=rag, guardrail_backend="builtin")
chatbot = LexChatbot(stack, "Chatbot", endpoint=endpoint, tenant_id="t_helpdesk", model_alias="default")
UsageDashboard(stack, "Dashboard", api=endpoint.api)
GatewayMonitoring(stack, "Monitoring", endpoint=endpoint, eval_loop=loop, usage=usage,
                  alarm_topic=sns.Topic(stack, "Pager", master_key=key))

operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
for grant in (endpoint.grant_read_incidents(operator), tenants.grant_manage_keys(operator),
              router.grant_edit(operator), cache.grant_read_write(operator), rag.grant_read_write(operator),
              chatbot.grant_converse(operator)):
    assert isinstance(grant, iam.Grant) and grant.success
for metric in (endpoint.metric_requests(), endpoint.metric_latency(), endpoint.metric_client_errors(),
               endpoint.metric_server_errors(), endpoint.metric_rate_limited(), endpoint.metric_guardrail_blocks(),
               endpoint.metric_cache_hits(), loop.metric_score(), loop.metric_dead_letters()):
    metric.create_alarm(stack, f"Alarm{metric.metric_name}", threshold=1, evaluation_periods=1)

for bad, expected in ((lambda: GuardedEndpoint(stack, "Bad", cache=cache, eval_loop=loop,
                                               guardrail_backend="guardrails-ai"), "guardrail_backend"),
                      (lambda: ModelRouter(stack, "BadRouter", routes={"x": {"targets": [
                          {"provider": "opnai", "model": "gpt-4o"}]}}), "unknown provider 'opnai'")):
    try:
        bad()
    except ValueError as error:
        assert expected in str(error), error
    else:
        raise AssertionError(f"accepted: {expected}")
stack.node.try_remove_child("Bad")
stack.node.try_remove_child("BadRouter")
app.synth()
'''


def test_wheel_installs_with_its_dependencies_and_synthesizes_in_another_app(tmp_path: Path) -> None:
    source, wheels, venv, work = tmp_path / "source", tmp_path / "wheels", tmp_path / "venv", tmp_path / "consumer"
    work.mkdir()
    # Built from a copy: setuptools leaves build/ behind in the tree it builds.
    shutil.copytree(ROOT / "llm_gateway", source / "llm_gateway", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "-w", str(wheels), str(source)], check=True, capture_output=True)
    # A clean virtualenv; this environment's pip installs into it (``--python``: no copy of pip to set up).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # A plain install: the wheel's own declared dependencies, held to the lock's versions.
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                    "--disable-pip-version-check", "--no-compile", "--constraint", str(ROOT / "constraints.txt"),
                    *map(str, wheels.glob("*.whl"))], check=True)
    shipped = next((venv / "lib").glob("python3.*/site-packages/llm_gateway"))
    for data in ("lambdas/run.sh", "lambdas/requirements.txt", "core/answers.jsonl", "core/prices.json",
                 "dashboard/index.html", "dashboard/dashboard.js", "dashboard/dashboard.css"):
        assert (shipped / data).is_file(), f"{data} is not shipped with the package"
    assert os.access(shipped / "lambdas" / "run.sh", os.X_OK)

    (work / "app.py").write_text(CONSUMER_APP)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
           "CDK_OUTDIR": str(work / "out"), "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []}),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run([python, "app.py"], cwd=work, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]

    template = json.loads((work / "out" / "Consumer.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    # gateway, authorizer, key sweeper, judge, usage writer, Lex fulfillment; CDK's dashboard upload and
    # bucket clean-up
    assert types.count("AWS::Lambda::Function") == 8
    assert types.count("AWS::S3Vectors::Index") == 1 and types.count("AWS::Lex::Bot") == 1
    assert types.count("AWS::CloudFront::Distribution") == 1 and types.count("AWS::CloudWatch::Dashboard") == 1
    assert "AWS::ApiGateway::RestApi" in types
    assert "AWS::Bedrock::Guardrail" not in types  # the builtin backend needs none
    assert types.count("AWS::Events::EventBus") == 1  # the platform's bus, not a second one
