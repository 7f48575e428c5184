"""What every door does around the pipeline: run it for a caller, describe the outcome (headers,
log line, metrics), and turn a blocked question into the door's error."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from starlette.concurrency import run_in_threadpool

from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, api_error, guardrail_blocked
from llm_gateway.api.telemetry import logger, metrics
from llm_gateway.contract import BUDGET_WARNING, METRIC_BUDGET_NEARLY_SPENT, METRIC_GUARDRAIL_BLOCKS
from llm_gateway.core.chat import Embeddings
from llm_gateway.core.degraded import degraded
from llm_gateway.core.pipeline import Outcome, Pipeline, Query, Stream
from llm_gateway.core.timings import StageTraces, stages_ms
from llm_gateway.core.usage import BLOCKED, UsageLedger, UsageRecord


def describe(outcome: Outcome, caller: Caller) -> None:
    """Gateway metadata in x-gateway-* headers (OpenAI clients ignore them), plus logs and metrics
    once the outcome is final (a stream's head only sets the headers)."""
    caller.headers |= {"x-gateway-cache-hit": str(outcome.kind == "cached").lower(),
                       "x-gateway-guardrail": outcome.guardrail_status,
                       "x-gateway-overhead-ms": str(outcome.overhead_ms)}
    if outcome.similarity is not None:
        caller.headers["x-gateway-similarity"] = f"{outcome.similarity:.4f}"
    if outcome.provider:
        caller.headers |= {"x-gateway-provider": outcome.provider, "x-gateway-model": outcome.model_id}
    if outcome.admission:
        caller.headers |= outcome.admission.headers()
    if outcome.hold:
        caller.headers |= outcome.hold.headers()
    caller.outcome = outcome
    if outcome.kind == "blocked":
        caller.headers["x-should-retry"] = "false"
    if outcome.kind == "streaming":
        return
    caller.headers["x-gateway-cost-usd"] = f"{outcome.cost_usd:.6f}"  # a stream's is in its usage record
    logger.info("request answered", extra={
        "tenant_id": caller.tenant_id, "outcome": outcome.kind, "reason": outcome.reason,
        "cache_hit": outcome.kind == "cached", "similarity": outcome.similarity,
        "provider": outcome.provider, "model_id": outcome.model_id, "latency_ms": outcome.latency_ms,
        "overhead_ms": outcome.overhead_ms, "prompt_tokens": outcome.usage.prompt_tokens,
        "completion_tokens": outcome.usage.completion_tokens})
    metrics.add_metric(name=f"Outcome_{outcome.kind}", unit=MetricUnit.Count, value=1)
    if outcome.kind in BLOCKED:
        metrics.add_metric(name=METRIC_GUARDRAIL_BLOCKS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="GatewayOverhead", unit=MetricUnit.Milliseconds, value=outcome.overhead_ms)
    if outcome.hold and outcome.hold.remaining_usd <= BUDGET_WARNING * outcome.hold.limit_usd:
        metrics.add_metric(name=METRIC_BUDGET_NEARLY_SPENT, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def usage_record(caller: Caller, door: str, http_status: int, error: ApiError | None, *, arrived: float,
                 latency_ms: int) -> UsageRecord:
    """The request's line in the usage ledger: what it came to, and what it cost (with its bodies,
    which the ledger keeps only for the tenants that opted in)."""
    outcome = caller.outcome
    status: str = outcome.kind if outcome and outcome.kind != "streaming" else "failed" if outcome else "answered"
    if error is not None and status not in BLOCKED:
        status = ("over_budget" if error.code == "insufficient_quota" else
                  "over_quota" if error.code == "rate_limit_exceeded" else
                  "failed" if http_status >= 500 or (error.code or "").startswith("upstream") else "rejected")
    fields: dict[str, Any] = {}
    if outcome:
        fields = {"provider": outcome.provider, "model": outcome.model_id, "prompt_tokens": outcome.usage.prompt_tokens,
                  "completion_tokens": outcome.usage.completion_tokens,
                  "cached_tokens": outcome.usage.cached_tokens, "overhead_ms": outcome.overhead_ms,
                  "guardrail": outcome.guardrail_status, "cache_hit": outcome.kind == "cached",
                  "cost_usd": outcome.cost_usd, "saved_usd": outcome.saved_usd,
                  "stages_ms": stages_ms(outcome.stages), "answer": outcome.answer or None}
    return UsageRecord(
        request_id=caller.request_id, tenant_id=caller.tenant_id, status=status, http_status=http_status,
        at=arrived, key_id=caller.key_id, door=door, alias=caller.alias, latency_ms=latency_ms,
        reason=(outcome.reason if outcome and outcome.reason else error.code if error else "") or "",
        prompt=caller.prompt or None, **fields)


@dataclass(frozen=True)
class Metering:
    """What a request to a model door leaves once its response is sent (its last byte, for a
    stream): its pipeline stages as X-Ray subsegments, and its usage record (one line of its log).
    Neither ever fails the request."""

    ledger: UsageLedger | None
    traces: StageTraces

    def after(self, caller: Caller, door: str, http_status: int, error: ApiError | None, *, arrived: float) -> None:
        """``arrived``: the request's ``time.time()``; its latency runs to now."""
        if caller.outcome and caller.trace:
            self.traces.send(caller.trace, caller.outcome.stages)
        if self.ledger is None:
            return
        try:
            self.ledger.send(usage_record(caller, door, http_status, error, arrived=arrived,
                                          latency_ms=int((time.time() - arrived) * 1000)))
        except Exception as exc:
            degraded("usage_ledger", exc, request_id=caller.request_id)


def in_band(exc: Exception) -> ApiError:
    """The error a stream that broke after its first byte ends with (it never fakes an end)."""
    error = api_error(exc) or ApiError(500, "internal error", code="internal_error")
    logger.warning("stream broke after the first byte", extra={"status": error.status, "error": error.message})
    return error


@dataclass(frozen=True)
class Answers:
    """The pipeline as the doors call it. ``param`` names the request field a block is about;
    ``None`` leaves a blocked outcome for the door to render in its own contract."""

    pipeline: Pipeline

    async def answer(self, caller: Caller, query: Query, param: str | None) -> Outcome:
        caller.alias, caller.prompt = query.model_alias, query.text
        outcome = await run_in_threadpool(self.pipeline.run, query, caller.request_id)
        describe(outcome, caller)
        if outcome.kind == "blocked" and param is not None:
            raise guardrail_blocked(outcome.reason, param)
        return outcome

    async def embed(self, caller: Caller, alias: str, inputs: list[str]) -> Embeddings:
        """Embeddings of ``inputs`` by ``alias``, within the caller's quotas and budgets, with the
        headers and the usage record (its cost) a model door gives."""
        query = Query(caller.tenant_id, (), alias, **caller.query_fields())
        embeddings, outcome = await run_in_threadpool(self.pipeline.embed, query, inputs, caller.request_id)
        caller.alias = alias
        describe(outcome, caller)
        return embeddings

    async def stream(self, caller: Caller, query: Query, param: str) -> Stream:
        caller.alias, caller.prompt = query.model_alias, query.text
        stream = await run_in_threadpool(self.pipeline.stream, query, caller.request_id)
        describe(stream.head, caller)
        if stream.head.kind == "blocked":
            raise guardrail_blocked(stream.head.reason, param)
        return stream
