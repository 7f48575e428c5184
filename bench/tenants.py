"""Issue 3's figures: DynamoDB round trips before the model is called, and the authorizer's
p50/p99 handler time. Printed, not asserted. Run with `make bench`."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _local import percentiles, start_gateway

from llm_gateway.core import llm
from llm_gateway.core.tenants import KeyStore


class DynamoCalls:
    """Times every DynamoDB call of the process; overlapping calls are one round trip."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, str]] = []
        self._open: dict[int, float] = {}
        self._lock = threading.Lock()

    def started(self, **_: object) -> None:
        self._open[threading.get_ident()] = time.perf_counter()

    def ended(self, model: object = None, **_: object) -> None:
        with self._lock:
            name = getattr(model, "name", "?")
            self.calls.append((self._open.pop(threading.get_ident()), time.perf_counter(), name))

    def round_trips(self, before: float) -> tuple[int, list[str]]:
        calls = sorted(c for c in self.calls if c[0] < before)
        trips, end = 0, -1.0
        for start, stop, _ in calls:
            if start >= end:
                trips += 1
            end = max(end, stop)
        return trips, [name for *_, name in calls]


def main() -> None:
    calls = DynamoCalls()
    session = boto3._get_default_session()  # the functions' clients are made from it, after this
    session.events.register("before-call.dynamodb", calls.started)
    session.events.register("after-call.dynamodb", calls.ended)
    model_called: list[float] = []
    generate = llm.LocalLLMClient.generate

    def timed_generate(self: llm.LocalLLMClient, prompt: str, *, system: str = "") -> str:
        model_called.append(time.perf_counter())
        return generate(self, prompt, system=system)

    llm.LocalLLMClient.generate = timed_generate  # type: ignore[method-assign]

    gateway = start_gateway()
    try:
        store = KeyStore(gateway.keys_secret_id or "", gateway.client("secretsmanager"))
        for i in range(200):  # a realistic key file: the authorizer compares against every hash
            store.create(f"t_{i}", f"tenant {i}")
        key, _ = store.create("t_bench", "bench")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as client:
            client.post("/invoke", json={"prompt": "warm up"})
            time.sleep(3)  # let the judge score the warm-up: its writes are not the request's
            calls.calls.clear()
            model_called.clear()
            client.post("/invoke", json={"prompt": "How do I append to a python list in place, bench?"})
        trips, names = calls.round_trips(model_called[0])
        results = [f"DynamoDB before the model (cache miss): {len(names)} requests in {trips} round trips "
                   f"({', '.join(names)})"]

        from llm_gateway.lambdas import authorizer
        from llm_gateway.local.lambda_emulation import LambdaContext

        event = {"type": "TOKEN", "authorizationToken": f"Bearer {key}",
                 "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/v1/POST/invoke"}
        context = LambdaContext("authorizer", 512, 10)
        samples = []
        sys.stdout.flush()
        for _ in range(500):
            started = time.perf_counter()
            authorizer.handler(event, context)
            samples.append((time.perf_counter() - started) * 1000)
        results.append(f"Authorizer handler, valid key, 201 keys in the secret, secret cached: "
                       f"{percentiles(samples)}")
        print("\n== tenants ==", *results, sep="\n")
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
