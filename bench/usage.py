"""Issue 13's figure: what the usage ledger adds to a request. The same dev stack twice on the
local runner, with its ledger (one line of the function's log per request, written after the
response, which the ledger's log subscription hands to the usage function) and without
(``USAGE_RECORDS`` empty), measured in interleaved rounds against one fake upstream: added
latency over a direct call (p50/p99) for the default and pass-through profiles, the SQS sends
per request (none: the ledger makes no AWS call from the gateway), and throughput with 16
clients. Printed, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from _local import start_gateway  # noqa: E402
from performance import UPSTREAM, N, Side, added  # noqa: E402

from llm_gateway.core.tenants import Quotas  # noqa: E402

ROUNDS = 6


def main() -> None:
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
    assert upstream.stdout is not None
    upstream_url = upstream.stdout.readline().decode().strip() + "/v1"
    target = {"provider": "openai_compatible:bench", "model": "bench-model"}
    routes = {"gpt": {"retries": 0, "targets": [target]},
              "gpt-pass": {"retries": 0, "passthrough": True, "targets": [target]}}
    environment = {"ROUTES_JSON": json.dumps(routes), "OPENAI_COMPAT_BENCH_BASE_URL": upstream_url}
    gateways = {"with the ledger": start_gateway(environment=environment),
                "without": start_gateway(environment={**environment, "USAGE_RECORDS": ""})}
    try:
        sides: dict[tuple[str, str], Side] = {}
        for name, gateway in gateways.items():
            key, _ = gateway.keys().create("t_bench", "bench", quotas=Quotas(rpm=10_000_000, rpd=100_000_000))
            for profile, alias in (("default", "gpt"), ("pass-through", "gpt-pass")):
                sides[(profile, name)] = Side(f"{gateway.url}/v1", {"Authorization": f"Bearer {key}"}, alias)
        direct = Side(upstream_url, {}, "bench-model")
        for side in (direct, *sides.values()):
            side.latencies(30, offset=-1000)  # warm every path
        for gateway in gateways.values():
            assert gateway.emulator is not None
            gateway.emulator.calls(clear=True)

        per_round = max(10, N // ROUNDS)
        # Back to back, the record's work after one response (the usage function's transaction)
        # shares this machine's two cores with the next request; spaced, it is done
        # before the next arrives, as on Lambda, where it runs in the invocation's own time.
        for pause, spacing in ((0.0, "back to back"), (0.1, "100 ms apart")):
            samples: dict[tuple[str, str], list[float]] = {k: [] for k in sides}
            direct_ms: list[float] = []
            for round_ in range(ROUNDS):  # interleaved: the machine's drift falls on both alike
                offset = int(pause * 10 + 1) * 1_000_000 + round_ * 10_000
                direct_ms += direct.latencies(per_round, offset=offset, pause=pause)
                for n, (k, side) in enumerate(sides.items()):
                    samples[k] += side.latencies(per_round, offset=offset + (n + 1) * 1000, pause=pause)
            print(f"\n== Usage ledger: added latency over a direct call, requests {spacing} ({ROUNDS} interleaved "
                  f"rounds, n={per_round * ROUNDS} each) ==")
            for profile in ("default", "pass-through"):
                on = added(samples[(profile, "with the ledger")], direct_ms)
                off = added(samples[(profile, "without")], direct_ms)
                print(f"{profile:13s} with the ledger +{on[0]:6.2f} ms p50 +{on[1]:6.2f} ms p99;  without "
                      f"+{off[0]:6.2f} ms p50 +{off[1]:6.2f} ms p99;  the ledger's share {on[0] - off[0]:+.2f} ms p50")
        sends = {name: sum(c["operation"].endswith("SQS.SendMessage") for c in gateway.emulator.calls())  # type: ignore[union-attr]
                 for name, gateway in gateways.items()}
        requests = 2 * 2 * per_round * ROUNDS
        print("SQS sends per request: " + ", ".join(f"{name} {count / requests:.2f}" for name, count in sends.items())
              + " (sent after the response's last byte)")
        print("\n== Throughput, 16 clients for 5 s, default profile ==")
        for name in gateways:
            print(f"{name:16s} {sides[('default', name)].throughput():7.1f} requests/s")
        print(f"(machine: {os.cpu_count()} cores; locally the usage function runs on the same cores)")
    finally:
        for gateway in gateways.values():
            gateway.stop()
        upstream.terminate()


if __name__ == "__main__":
    main()
