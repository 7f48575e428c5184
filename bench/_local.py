"""Shared by the bench scripts: the app's dev stack, served by the local runner."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from llm_gateway.local import LocalGateway
from llm_gateway.local.runner import synthesize

ROOT = Path(__file__).resolve().parents[1]


def start_gateway(**kwargs: object) -> LocalGateway:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the figures, not the request logs
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    stack, template = synthesize("python3 app.py", {**context, "env": "dev"}, cwd=ROOT)
    return LocalGateway(template, stack_name=stack, quiet=True, **kwargs).start()  # type: ignore[arg-type]


def percentiles(samples_ms: list[float]) -> str:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} ms  p99 {cuts[98]:.2f} ms  (n={len(samples_ms)})"
