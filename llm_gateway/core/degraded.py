"""How the gateway says a dependency failed and it carried on without it: one warning line with a
``degraded`` field naming the dependency (``contract.DEGRADED``). ``GuardedEndpoint`` turns those
lines into a CloudWatch metric per dependency, with an alarm, by metric filter: the core stays
free of any metrics client, and every degradation is counted the same way."""

from __future__ import annotations

import logging
from typing import Any

from llm_gateway.contract import DEGRADED

log = logging.getLogger("llm_gateway.degraded")


def degraded(dependency: str, error: BaseException | None = None, **detail: Any) -> None:
    assert dependency in DEGRADED, dependency  # a new kind needs its metric and alarm
    log.warning("%s unavailable: carrying on without it", dependency,
                extra={"degraded": dependency, "error": repr(error)[:300] if error else None, **detail})
