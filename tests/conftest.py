"""Shared fixtures: one synthesis of the app per session, a local gateway per test module."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import httpx
import pytest
from filelock import FileLock

from llm_gateway.contract import DEFAULT_ANSWERS
from llm_gateway.local import LocalGateway
from llm_gateway.local.lambda_emulation import Sandbox
from llm_gateway.local.runner import TASK_ROOT

ROOT = Path(__file__).resolve().parents[1]
TEST_ANSWERS = str(ROOT / "tests" / "answers.jsonl")


# The longest modules first: xdist hands modules to its two workers in collection order (with
# --no-loadscope-reorder, see the Makefile: by default it orders them by their number of tests), and a
# long one handed out last keeps one worker busy while the other has nothing left.
LONGEST_FIRST = ("test_fuzz.py", "test_semantic_cache.py", "test_artifact.py", "test_tenants.py", "test_package.py",
                 "test_infrastructure.py", "test_emulator.py", "test_usage.py", "test_eval_loop.py",
                 "test_guardrails.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST
               else len(LONGEST_FIRST))  # stable: each module keeps its own order


def cdk_context(env: str = "dev", **overrides: Any) -> dict[str, Any]:
    """cdk.json's context for ``env``, with ``overrides`` of that environment's settings."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"][env] = {**context["environments"][env], **overrides}
    return {**context, "env": env, "aws:cdk:bundling-stacks": []}  # bundling skipped, same asset hash


def synth(env: str, **overrides: Any) -> dict[str, Any]:
    from app import build_app

    with tempfile.TemporaryDirectory(prefix=f"synth-{env}-") as outdir:
        app = build_app(cdk.App(context=cdk_context(env, **overrides), outdir=outdir))
        return dict(app.synth().get_stack_by_name(f"LlmGateway-{env}").template)


ENVIRONMENTS = ("dev", "prod")


class Templates(dict[str, dict[str, Any]]):
    """Each environment's template, synthesized when a test first asks for it (a worker that runs
    only dev's tests never synthesizes prod), once per run: the first worker to ask writes it where
    the others read it (each synthesis starts jsii's Node process, seconds of a shared core)."""

    def __init__(self, shared: Path) -> None:
        super().__init__()
        self._shared = shared

    def __missing__(self, env: str) -> dict[str, Any]:
        if env not in ENVIRONMENTS:
            raise KeyError(env)
        path = self._shared / f"template-{env}.json"
        with FileLock(f"{path}.lock"):
            if not path.is_file():
                path.write_text(json.dumps(synth(env)))
        self[env] = json.loads(path.read_text())
        return self[env]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The app synthesized for each environment, cdk-nag included (a finding fails the synth)."""
    run = tmp_path_factory.getbasetemp()  # under xdist, a worker's own folder in the run's
    return Templates(run.parent if os.environ.get("PYTEST_XDIST_WORKER") else run)


@contextlib.contextmanager
def dev_gateway(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory,
                environment: dict[str, str] | None = None, await_records: bool = True) -> Iterator[LocalGateway]:
    """The dev stack on the local runner; the functions' output (their CloudWatch Logs) in a file.
    ``await_records``: each request waits for the earlier ones' records (see WebAdapterProcess)."""
    with (tmp_path_factory.mktemp("functions") / "functions.log").open("w+") as log:
        local = LocalGateway(templates["dev"], stack_name="LlmGateway-dev", await_records=await_records,
                             answers_path=os.pathsep.join([TEST_ANSWERS, DEFAULT_ANSWERS]), quiet=True,
                             sandbox=Sandbox(TASK_ROOT, log=log), environment=environment, audit_iam=True)
        with local:
            yield local
            # Every AWS call a function made in the module's tests is one its role allows on AWS.
            denied = local.denied_calls()
        assert not denied, f"calls the functions' roles do not allow: {denied}"


@pytest.fixture(scope="module")
def gateway(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    with dev_gateway(templates, tmp_path_factory) as local:
        yield local


def function_logs(gateway: LocalGateway) -> str:
    assert gateway.sandbox.log is not None
    return Path(gateway.sandbox.log.name).read_text()


def log_records(gateway: LocalGateway) -> list[dict[str, Any]]:
    """The functions' JSON log records. Every function process writes to one file, and an
    unbuffered print writes its text and its newline apart, so two records can share a line."""
    decoder, records = json.JSONDecoder(), []
    for line in function_logs(gateway).splitlines():
        at = 0
        while (start := line.find("{", at)) != -1:
            try:
                record, at = decoder.raw_decode(line, start)
            except ValueError:  # not JSON (a plain log line), or cut off by the file's end
                break
            if isinstance(record, dict):
                records.append(record)
    return records


@pytest.fixture(scope="module")
def http(gateway: LocalGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10,
                      headers={"Authorization": f"Bearer {gateway.dev_key}"}) as client:
        yield client


@pytest.fixture(scope="module")
def tables(gateway: LocalGateway) -> dict[str, str]:
    """Physical table names by their stack output / role."""
    return {"cache": gateway.deployment.outputs["CacheTable"],
            "incidents": gateway.deployment.outputs["IncidentsTable"],
            "scores": gateway.deployment.outputs["ScoresTable"]}


def eventually(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.2) -> Any:
    """Poll until ``check`` returns something truthy (async paths: events, queues, judges)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
