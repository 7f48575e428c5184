"""Issue 4's figures: what the gateway adds over calling the same upstream directly, buffered
(p50/p99) and to the first streamed token. Both sides talk to one fake OpenAI-compatible server on
loopback; the gateway path runs the whole pipeline (authorizer, quotas, guardrails, cache miss and
write, eval event). Printed, not asserted. Run with `make bench`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from _local import percentiles, start_gateway  # noqa: E402

from llm_gateway.core.tenants import Quotas  # noqa: E402
from tests.fakes import FakeUpstream  # noqa: E402

N = 200


def timed(n: int, call: Callable[[int], float | None]) -> list[float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        first = call(i)
        samples.append(((first or time.perf_counter()) - started) * 1000)
    return samples


def first_token(response: httpx.Response) -> float | None:
    for line in response.iter_lines():
        if line.startswith("data: ") and '"content":"' in line and '"content":""' not in line:
            return time.perf_counter()
    return None


def main() -> None:
    upstream = FakeUpstream("bench").start()
    routes = {"gpt": {"retries": 0, "targets": [{"provider": "openai_compatible:bench", "model": "bench-model"}]}}
    gateway = start_gateway(environment={"ROUTES_JSON": json.dumps(routes),
                                         "OPENAI_COMPAT_BENCH_BASE_URL": f"{upstream.url}/v1"})
    try:
        direct = httpx.Client(base_url=f"{upstream.url}/v1", timeout=10)
        key, _ = gateway.keys().create(
            "t_bench", "bench", quotas=Quotas(rpm=100_000, rpd=1_000_000))
        via = httpx.Client(base_url=f"{gateway.url}/v1", timeout=10, headers={"Authorization": f"Bearer {key}"})

        def body(i: int, stream: bool = False) -> dict[str, Any]:  # a new question each time: no cache hits
            return {"model": "gpt", "stream": stream,
                    "messages": [{"role": "user", "content": f"benchmark question number {i} about lists"}]}

        overheads: list[float] = []

        def via_buffered(i: int) -> None:
            response = via.post("/chat/completions", json=body(i))
            response.raise_for_status()
            overheads.append(float(response.headers["x-gateway-overhead-ms"]))

        def direct_stream(i: int) -> float | None:
            with direct.stream("POST", "/chat/completions", json={**body(i, True), "model": "bench-model"}) as r:
                return first_token(r)

        def via_stream(i: int) -> float | None:
            with via.stream("POST", "/chat/completions", json=body(N + i, True)) as r:
                return first_token(r)

        for i in range(20):  # warm both paths
            direct.post("/chat/completions", json={**body(-i), "model": "bench-model"})
            via.post("/chat/completions", json=body(10_000 + i))
        def direct_buffered(i: int) -> None:
            direct.post("/chat/completions", json={**body(i), "model": "bench-model"})

        direct_ms = timed(N, direct_buffered)
        via_ms = timed(N, via_buffered)
        direct_ttft = timed(N, direct_stream)
        via_ttft = timed(N, via_stream)
        print("\n== OpenAI API through the local runner (fake upstream on loopback) ==")
        print(f"buffered, direct to upstream:  {percentiles(direct_ms)}")
        print(f"buffered, through the gateway: {percentiles(via_ms)}")
        print(f"gateway's own time (x-gateway-overhead-ms): {percentiles(overheads)}")
        print(f"first token, direct:           {percentiles(direct_ttft)}")
        print(f"first token, through gateway:  {percentiles(via_ttft)}")
    finally:
        gateway.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
