"""The library as another team uses it: pip-installed, imported into their own CDK app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONSUMER_APP = '''
import aws_cdk as cdk
import llm_gateway
from llm_gateway.constructs import EvalLoop, GuardedEndpoint, ModelAccess, SemanticCache

assert "site" in llm_gateway.__file__, llm_gateway.__file__  # the installed copy, not the repo
app = cdk.App()
stack = cdk.Stack(app, "Consumer")
cache = SemanticCache(stack, "Cache")
loop = EvalLoop(stack, "Eval", sample_rate=0.5, model=ModelAccess(model_id="amazon.nova-lite-v1:0"))
GuardedEndpoint(stack, "Gateway", cache=cache, eval_loop=loop, guardrail_backend="builtin")
app.synth()
'''


def test_constructs_install_and_synthesize_in_another_app(tmp_path: Path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "consumer"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), *map(str, wheels.glob("*.whl"))],
                   check=True)
    shipped = site / "llm_gateway"
    for data in ("lambdas/run.sh", "lambdas/requirements.txt", "core/answers.jsonl"):
        assert (shipped / data).is_file(), f"{data} is not shipped with the package"

    (work / "app.py").write_text(CONSUMER_APP)
    env = {**os.environ, "PYTHONPATH": str(site), "CDK_OUTDIR": str(work / "out"),
           "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []}),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run([sys.executable, "app.py"], cwd=work, env=env, check=True)

    template = json.loads((work / "out" / "Consumer.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == 2
    assert types.count("AWS::DynamoDB::Table") == 3
    assert "AWS::ApiGateway::RestApi" in types
