"""Issue 3's figures: DynamoDB round trips before the model is called, and the authorizer's
p50/p99 handler time. Printed, not asserted. Run with `make bench`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from _local import percentiles, start_gateway  # noqa: E402

from tests.fakes import FakeUpstream  # noqa: E402


def round_trips(calls: list[dict[str, Any]], after: float, before: float) -> tuple[int, list[str]]:
    """DynamoDB calls the emulator served between two wall-clock times; overlapping calls are one
    round trip."""
    dynamo = sorted((c["start"], c["end"], c["operation"].split(".")[-1]) for c in calls
                    if c["operation"].startswith("DynamoDB.") and after <= c["start"] < before)
    trips, end = 0, -1.0
    for start, stop, _ in dynamo:
        if start >= end:
            trips += 1
        end = max(end, stop)
    return trips, [name for *_, name in dynamo]


def main() -> None:
    upstream = FakeUpstream("bench").start()  # the model: its request time is when the model was called
    routes = {"default": {"retries": 0, "targets": [{"provider": "openai_compatible:bench", "model": "m"}]}}
    gateway = start_gateway(environment={"ROUTES_JSON": json.dumps(routes),
                                         "OPENAI_COMPAT_BENCH_BASE_URL": f"{upstream.url}/v1"})
    try:
        store = gateway.keys()
        for i in range(200):  # a realistic key file: the authorizer compares against every hash
            store.create(f"t_{i}", f"tenant {i}")
        key, _ = store.create("t_bench", "bench")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as client:
            client.post("/invoke", json={"prompt": "warm up"})
            time.sleep(3)  # let the judge score the warm-up: its writes are not the request's
            started = time.time()
            client.post("/invoke", json={"prompt": "How do I append to a python list in place, bench?"})
        model_called = upstream.seen[-1].at + time.time() - time.perf_counter()  # as wall-clock time
        assert gateway.emulator is not None
        trips, names = round_trips(gateway.emulator.calls(), started, model_called)
        results = [f"DynamoDB before the model (cache miss): {len(names)} requests in {trips} round trips "
                   f"({', '.join(names)}), as the emulator received them"]

        # The handler itself, in this process, with the function's environment from the template.
        os.environ.update(gateway.function("TenantsAuthorizer").function.environment)
        from llm_gateway.lambdas import authorizer
        from llm_gateway.local.lambda_bootstrap import LambdaContext

        event = {"type": "TOKEN", "authorizationToken": f"Bearer {key}",
                 "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/v1/POST/invoke"}
        samples = []
        sys.stdout.flush()
        # Its metrics (EMF lines, written as deployed) go to /dev/null, not among the figures.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            for _ in range(500):
                started = time.perf_counter()
                authorizer.handler(event, LambdaContext("bench", 10))
                samples.append((time.perf_counter() - started) * 1000)
        results.append(f"Authorizer handler, valid key, 201 keys in the table (one GetItem each): "
                       f"{percentiles(samples)}")
        print("\n== tenants ==", *results, sep="\n")
    finally:
        gateway.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
