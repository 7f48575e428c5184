"""Where a request's time went, stage by stage (``Timings``), and those stages as X-Ray
subsegments (``StageTraces``): the usage record carries the first, X-Ray draws the second."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

# The pipeline's stages, in the order a request meets them.
STAGES = ("admission", "input_guardrail", "retrieval", "cache_exact", "cache_lookup", "model", "output_guardrail")


class Timings:
    """Start and end (epoch seconds) of each stage a request went through. Stages run on several
    threads at once; each writes its own key."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.time()
        try:
            yield
        finally:
            self.spans[name] = (start, time.time())

    def timed(self, name: str, work: Callable[..., T], *args: Any) -> T:
        with self.stage(name):
            return work(*args)



def stages_ms(spans: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Each stage's duration in milliseconds, in pipeline order (the usage record's ``stages_ms``)."""
    ordered = sorted(spans, key=lambda name: STAGES.index(name) if name in STAGES else len(STAGES))
    return {name: round((spans[name][1] - spans[name][0]) * 1000, 1) for name in ordered}


def _daemon(address: str) -> tuple[str, int] | None:
    """``AWS_XRAY_DAEMON_ADDRESS``: ``host:port``, or ``udp:host:port tcp:host:port``."""
    for part in address.split():
        host, _, port = part.removeprefix("udp:").rpartition(":")
        if part.startswith("tcp:") or not host or not port.isdigit():
            continue
        return host, int(port)
    return None


class StageTraces:
    """Each stage as a subsegment of the request's Lambda segment, sent to the X-Ray daemon as a
    segment document over UDP (the daemon's documented wire format), after the response. The X-Ray
    SDK would do the same for ~150 ms of the gateway's cold start (see ``observability``)."""

    HEADER = b'{"format": "json", "version": 1}\n'

    def __init__(self, address: str | None = None) -> None:
        self.daemon = _daemon(address if address is not None else os.environ.get("AWS_XRAY_DAEMON_ADDRESS", ""))
        self._socket: socket.socket | None = None

    def send(self, trace_header: str, spans: dict[str, tuple[float, float]]) -> int:
        """Send the spans under ``trace_header`` (``Root=...;Parent=...;Sampled=1``); how many went."""
        fields = dict(p.split("=", 1) for p in trace_header.replace(" ", "").split(";") if "=" in p)
        if self.daemon is None or fields.get("Sampled") != "1" or "Root" not in fields or "Parent" not in fields:
            return 0
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = 0
        for name, (start, end) in spans.items():
            document = {"name": name, "id": secrets.token_hex(8), "trace_id": fields["Root"],
                        "parent_id": fields["Parent"], "start_time": start, "end_time": end, "type": "subsegment"}
            try:
                self._socket.sendto(self.HEADER + json.dumps(document).encode(), self.daemon)
                sent += 1
            except OSError as exc:  # tracing is best effort: never a request's failure
                log.debug("x-ray subsegment not sent: %s", exc)
        return sent
