"""One pipeline, many doors (DESIGN.md section 2).

input guardrail -> embed -> cache lookup -> generate -> output guardrail -> cache write -> event.
The input guardrail runs before any model is paid for; a refused answer returns before the cache
write, so a bad generation can never be served again from the cache.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

import boto3

from llm_gateway.core.cache import CacheHit, Scope, SemanticCache
from llm_gateway.core.guardrails import Guardrail, get_guardrail
from llm_gateway.core.llm import LLMClient, get_client
from llm_gateway.core.ratelimit import Admission, RateLimiter
from llm_gateway.core.records import AnswerEvent, EvalEvents, IncidentLog
from llm_gateway.core.settings import Settings
from llm_gateway.core.tenants import Quotas

log = logging.getLogger(__name__)

REFUSAL = "I cannot help with that, policy violation."


class ModelNotAllowed(Exception):
    """The tenant's key does not allow this model alias."""


@dataclass(frozen=True)
class Query:
    tenant_id: str
    text: str
    model_alias: str
    system_prompt: str = ""
    history: tuple[tuple[str, str], ...] = field(default=())
    quotas: Quotas | None = None  # the tenant's overrides of the limiter's defaults
    allowed_models: tuple[str, ...] = ()  # empty: any alias


@dataclass(frozen=True)
class Outcome:
    request_id: str
    kind: Literal["answered", "cached", "blocked", "refused"]
    answer: str = ""
    model_id: str = ""
    reason: str | None = None
    similarity: float | None = None
    guardrail_status: str = "allowed"
    latency_ms: int = 0
    admission: Admission | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Pipeline:
    def __init__(self, *, llm: LLMClient, guardrail: Guardrail, cache: SemanticCache,
                 incidents: IncidentLog, events: EvalEvents, limiter: RateLimiter | None = None) -> None:
        self.llm, self.guardrail, self.cache = llm, guardrail, cache
        self.incidents, self.events, self.limiter = incidents, events, limiter

    def run(self, query: Query, request_id: str) -> Outcome:
        """Answer one query; raises ModelNotAllowed, RateLimited (before any work) or LLMError."""
        started = time.perf_counter()
        if query.allowed_models and query.model_alias not in query.allowed_models:
            raise ModelNotAllowed(query.model_alias)
        admission = self.limiter.admit(query.tenant_id, query.quotas) if self.limiter else None

        def done(kind: Literal["answered", "cached", "blocked", "refused"], **fields: object) -> Outcome:
            elapsed = int((time.perf_counter() - started) * 1000)
            return Outcome(request_id=request_id, kind=kind, model_id=self.llm.model_id,
                           latency_ms=elapsed, admission=admission, **fields)  # type: ignore[arg-type]

        checked = self.guardrail.check(query.text, stage="input")
        if checked.flagged:
            self._incident(query, request_id, "input_guardrail", checked.reason, query.text)
            return done("blocked", reason=checked.reason, guardrail_status="blocked")
        question = checked.text or query.text

        scope = Scope(query.tenant_id, query.model_alias, query.system_prompt, query.history)
        embedding = self.llm.embed(question)
        hit = self._lookup(scope, question, embedding)
        if hit:
            return done("cached", answer=hit.answer, similarity=hit.similarity)

        completion = self.llm.generate(question, system=query.system_prompt)
        usage = {"prompt_tokens": completion.input_tokens, "completion_tokens": completion.output_tokens}
        self._record_tokens(query.tenant_id, completion.total_tokens)
        answer = completion.text
        verdict = self.guardrail.check(answer, stage="output")
        if verdict.flagged:
            self._incident(query, request_id, "output_guardrail", verdict.reason, answer)
            return done("refused", answer=REFUSAL, reason=verdict.reason, guardrail_status="refused", **usage)
        answer = verdict.text or answer

        try:
            self.cache.store(scope, question, answer, embedding, request_id=request_id)
        except Exception:  # the answer is good; a cache outage must not cost the user it
            log.exception("semantic cache write failed", extra={"request_id": request_id})
        try:
            self.events.answer_generated(AnswerEvent(
                request_id=request_id, tenant_id=query.tenant_id, model_alias=query.model_alias,
                model_id=self.llm.model_id, question=question, answer=answer))
        except Exception:
            log.exception("eval event not published", extra={"request_id": request_id})
        return done("answered", answer=answer, guardrail_status=verdict.status, **usage)

    def _record_tokens(self, tenant_id: str, tokens: int) -> None:
        if self.limiter:
            try:
                self.limiter.record_tokens(tenant_id, tokens)
            except Exception:  # a missed token count must not fail an answered request
                log.exception("token usage not counted")

    def _lookup(self, scope: Scope, question: str, embedding: list[float]) -> CacheHit | None:
        try:
            return self.cache.lookup(scope, question, embedding)
        except Exception:  # a cache outage degrades to a model call, never to an error
            log.exception("semantic cache lookup failed")
            return None

    def _incident(self, query: Query, request_id: str, stage: str, reason: str | None, text: str) -> None:
        try:
            self.incidents.record(request_id=request_id, tenant_id=query.tenant_id, stage=stage,
                                  reason=reason or "policy_violation", text=text)
        except Exception:  # the block stands even if its record could not be written
            log.exception("incident not recorded", extra={"request_id": request_id, "stage": stage})


def build_pipeline(settings: Settings) -> Pipeline:
    """Wire the pipeline from settings: boto3 clients are built here, once per process."""
    ddb = boto3.client("dynamodb")
    llm = get_client(settings)
    return Pipeline(
        llm=llm,
        guardrail=get_guardrail(settings, llm),
        cache=SemanticCache(settings.cache_table, ddb, threshold=settings.cache_threshold,
                            ttl_seconds=settings.cache_ttl_seconds),
        incidents=IncidentLog(settings.incidents_table, ddb),
        events=EvalEvents(settings.event_bus_name, boto3.client("events")),
        # No table, no limits: leaving the RateLimiter construct out disables them.
        limiter=RateLimiter(settings.rate_limits_table, ddb, Quotas(
            rpm=settings.default_rpm, rpd=settings.default_rpd, tpm=settings.default_tpm))
        if settings.rate_limits_table else None,
    )
