"""The bench's clients, in a process of their own: in the bench's process they would share its
interpreter lock with the local runner's HTTP server, which LiteLLM's proxy, in its own process,
does not. ``measure`` runs this file and returns what it printed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import httpx


def body(model: str, i: int) -> dict[str, Any]:  # a new question each time: never a cache hit
    return {"model": model, "messages": [{"role": "user", "content": f"benchmark question {i}: how do lists grow?"}]}


def latencies(url: str, headers: dict[str, str], model: str, n: int, offset: int, *, pause: float = 0.0) -> list[float]:
    """Milliseconds for each of ``n`` sequential requests, on one kept-alive connection, ``pause``
    seconds apart (not counted)."""
    samples = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for i in range(offset, offset + n):
            started_at = time.perf_counter()
            client.post("/chat/completions", json=body(model, i)).raise_for_status()
            samples.append((time.perf_counter() - started_at) * 1000)
            time.sleep(pause)
    return samples


def throughput(url: str, headers: dict[str, str], model: str, clients: int, seconds: float, *,
               offset: int = 0) -> float:
    """Requests per second answered 200 by ``clients`` threads, each with its own connection; client
    k asks questions numbered from ``offset + (k + 1) * 1e7``."""
    done, stop = [0] * clients, time.monotonic() + seconds

    def run(slot: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            i = 0
            while time.monotonic() < stop:
                asked = body(model, offset + 10_000_000 * (slot + 1) + i)
                if client.post("/chat/completions", json=asked).status_code == 200:
                    done[slot] += 1
                i += 1

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def measure(kind: str, **arguments: Any) -> Any:
    """``latencies`` or ``throughput``, run in a fresh process."""
    run = subprocess.run([sys.executable, __file__, kind, json.dumps(arguments)], capture_output=True, text=True,
                         check=True)
    return json.loads(run.stdout)


if __name__ == "__main__":
    arguments = json.loads(sys.argv[2])
    print(json.dumps(latencies(**arguments) if sys.argv[1] == "latencies" else throughput(**arguments)))
