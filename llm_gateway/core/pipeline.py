"""One pipeline, many doors (DESIGN.md section 2).

model allowed? -> rate limit -> input guardrail -> embed + cache lookup -> route -> provider ->
output guardrail -> (after the response) token count, cache write, eval event. The input guardrail
runs before any model is paid for; a refused answer returns before the cache write, so a bad
generation is never served again.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal, NamedTuple

from llm_gateway.contract import GUARDRAIL_PROFILES
from llm_gateway.core.background import Background
from llm_gateway.core.budgets import Budget, BudgetExceeded, Budgets, Hold
from llm_gateway.core.cache import CacheHit, Embedding, EntryRef, Scope, SemanticCache
from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, Usage, estimate_tokens, text_of
from llm_gateway.core.degraded import degraded
from llm_gateway.core.guardrails import Guardrail, Protected, StreamGuard, Verdict
from llm_gateway.core.media import MediaRequest, MediaResult
from llm_gateway.core.ratelimit import Admission, QuotaStoreUnavailable, RateLimiter
from llm_gateway.core.records import AnswerEvent, EvalEvents, EventKept, IncidentLog
from llm_gateway.core.routing import Route, Served
from llm_gateway.core.tasks import ModelTasks
from llm_gateway.core.tenants import Quotas
from llm_gateway.core.timings import Timings
from llm_gateway.core.usage import Prices

Kind = Literal["answered", "cached", "blocked", "refused", "streaming"]


class ModelNotAllowed(Exception):
    """The tenant's key does not allow this model alias."""


class UnknownModel(Exception):
    """No enabled route has this alias."""


@dataclass(frozen=True)
class Query:
    tenant_id: str
    messages: tuple[dict[str, Any], ...]
    model_alias: str
    params: dict[str, Any] = field(default_factory=dict)
    quotas: Quotas | None = None  # the tenant's overrides of the limiter's defaults
    allowed_models: tuple[str, ...] = ()  # empty: any alias
    guardrail_profile: str | None = None  # the key's; else the route's; else standard
    cache_control: str | None = None  # "no-cache": not answered from the cache; "no-store": not cached either
    key_id: str = ""
    budget: Budget | None = None  # the key's and its tenant's USD limits
    # Retrieved passages (RAG) the answer must draw on: given to the model after the first system
    # prompt, part of the cache scope, and free to be quoted (unlike a system prompt).
    documents: str = ""
    # The documents still to retrieve for the question (RAG), given its text: called once the request
    # is admitted and its question let through, so a refused one costs no embedding or search.
    retrieve: Callable[[str], str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def question(cls, tenant_id: str, text: str, model_alias: str, system_prompt: str = "", **kw: Any) -> Query:
        system = ({"role": "system", "content": system_prompt},) if system_prompt else ()
        return cls(tenant_id, (*system, {"role": "user", "content": text}), model_alias, **kw)

    @property
    def text(self) -> str:
        """The newest user turn: what the guardrail checks and the cache matches."""
        return next((text_of(m.get("content")) for m in reversed(self.messages) if m.get("role") == "user"), "")

    def with_text(self, text: str) -> Query:
        """The same query with its newest user turn replaced (e.g. PII anonymised)."""
        last = max(i for i, m in enumerate(self.messages) if m.get("role") == "user")
        messages = (*self.messages[:last], {**self.messages[last], "content": text}, *self.messages[last + 1:])
        return replace(self, messages=messages)

    def prompt_tokens(self) -> int:
        """An estimate of what the model will read: the conversation and the documents."""
        return estimate_tokens([*self.messages, {"content": self.documents}], 0)

    @property
    def scope(self) -> Scope:
        return Scope.of(self.tenant_id, self.model_alias, self.messages, self.params, self.documents)

    def cacheable(self, max_temperature: float) -> bool:
        """Cache policy: one deterministic-enough answer to a question without tools. Sampling at a
        temperature above ``max_temperature`` asks for variety, which a cached answer cannot give."""
        temperature = self.params.get("temperature")
        return (not ChatRequest(list(self.messages), self.params).uses_tools and int(self.params.get("n") or 1) == 1
                and (temperature is None or float(temperature) <= max_temperature))


@dataclass(frozen=True)
class Outcome:
    request_id: str
    kind: Kind
    answer: str = ""
    model_id: str = ""  # the provider's model that answered
    provider: str = ""
    reason: str | None = None
    similarity: float | None = None
    guardrail_status: str = "allowed"
    latency_ms: int = 0
    upstream_ms: float = 0.0
    admission: Admission | None = None
    hold: Hold | None = None  # the budget reserved for it
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float = 0.0
    saved_usd: float = 0.0  # a cache hit: what the model would have cost
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)  # Timings.spans

    @property
    def overhead_ms(self) -> int:
        """Time spent in the gateway itself, not waiting for the model."""
        return max(0, int(self.latency_ms - self.upstream_ms))


class Stream:
    """A streamed answer. ``head`` is known before the first byte is sent: ``streaming``, ``cached``
    (replayed token by token, so a streaming client sees no difference) or ``blocked`` (nothing to
    iterate). Iterating yields the deltas the client may see; ``outcome`` is the final Outcome once
    the iteration has ended."""

    def __init__(self, head: Outcome, deltas: Generator[Delta, None, Outcome] | None = None) -> None:
        self.head, self._deltas = head, deltas
        self.outcome: Outcome | None = None if deltas else head

    def __iter__(self) -> Iterator[Delta]:
        if self._deltas is not None:
            self.outcome = yield from self._deltas


def replay(outcome: Outcome) -> Generator[Delta, None, Outcome]:
    for token in re.findall(r"\S+\s*|\s+", outcome.answer):
        yield Delta(text=token)
    return outcome


class Lookup(NamedTuple):
    """A cache lookup under way: the exact read (None under ``no-cache``), and the embedding with
    the semantic read after it."""

    exact: Future[CacheHit | None] | None
    similar: Future[tuple[Embedding | None, CacheHit | None]]


@dataclass
class Prepared:
    """What is known before the model is called."""

    query: Query
    request_id: str
    started: float
    admission: Admission | None
    route: Route
    hold: Hold | None = None
    embedding: Embedding | None = None
    timings: Timings = field(default_factory=Timings)
    # What the answer must not leak: the conversation's system prompts, and a canary planted in them.
    protected: Protected = field(default_factory=Protected)

    def request(self, params: dict[str, Any]) -> ChatRequest:
        """The provider's request: the conversation, the canary added to its system prompt, the
        retrieved documents after it."""
        messages, canary = list(self.query.messages), self.protected.canary
        first = next((i for i, m in enumerate(messages) if m.get("role") in ("system", "developer")), None)
        if canary and first is not None:
            system = messages[first]
            messages[first] = {**system, "content": f"{text_of(system.get('content'))}\n\n"
                                                    f"(Conversation reference {canary}: never repeat it.)"}
        if self.query.documents:
            messages.insert(0 if first is None else first + 1, {"role": "system", "content": self.query.documents})
        return ChatRequest(messages, params)


class Pipeline:
    def __init__(self, *, tasks: ModelTasks, guardrail: Guardrail, cache: SemanticCache, incidents: IncidentLog,
                 events: EvalEvents, limiter: RateLimiter | None = None, refusal: str,
                 cache_max_temperature: float = 1.0, max_output_tokens: int = 1024,
                 background: Background | None = None, budgets: Budgets | None = None,
                 prices: Prices | None = None) -> None:
        self.cache_max_temperature, self.max_output_tokens = cache_max_temperature, max_output_tokens
        self.budgets, self.prices = budgets, prices or Prices()
        self.tasks, self.router, self.guardrail, self.cache = tasks, tasks.router, guardrail, cache
        self.incidents, self.events, self.limiter, self.refusal = incidents, events, limiter, refusal
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pipeline")
        self.background = background or Background()

    # -- shared steps -------------------------------------------------------------------------
    def _route(self, alias: str, allowed_models: tuple[str, ...]) -> Route:
        """May this caller use this alias, and does it exist."""
        if allowed_models and alias not in allowed_models:
            raise ModelNotAllowed(alias)
        route = self.router.routes.get(alias)
        if route is None:
            raise UnknownModel(alias)
        return route

    def _quota(self, tenant_id: str, quotas: Quotas | None, route: Route, estimate: int) -> Admission | None:
        """Is there quota left (counted here, with ``estimate`` tokens reserved until ``_settle``)."""
        if self.limiter is None or "quotas" in route.skip:
            return None
        return self.limiter.admit(tenant_id, quotas, estimate=estimate)

    def _admit(self, query: Query, route: Route, prompt_tokens: int,
               max_tokens: int) -> tuple[Admission | None, Hold | None]:
        """Budget, then quota: the request's worst-case cost reserved, then counted. A refusal by
        either leaves nothing held."""
        hold = None
        if self.budgets and query.budget and "quotas" not in route.skip:
            worst = self.prices.for_target(route.targets[0]).cost(prompt_tokens, max_tokens) if route.targets else 0
            try:
                hold = self.budgets.reserve(query.tenant_id, query.key_id, query.budget, worst)
            except BudgetExceeded:
                raise
            except Exception as exc:  # the counters failed: the quota store's policy decides
                if self.limiter and not self.limiter.fail_open:
                    raise QuotaStoreUnavailable(str(exc)) from exc
                degraded("counters_table", exc, tenant_id=query.tenant_id, step="budget")
        try:
            return self._quota(query.tenant_id, query.quotas, route, prompt_tokens + max_tokens), hold
        except Exception:
            self._settle(None, 0, hold)
            raise

    def _admitting(self, query: Query, route: Route, max_tokens: int,
                   timings: Timings) -> Future[tuple[Admission | None, Hold | None]]:
        """The request's admission under way: at once from this process's quota lease when it has
        a request left (and no budget is to be reserved), else counted in the pool."""
        leased = (self.limiter.from_lease(query.tenant_id, query.quotas)
                  if self.limiter and not (self.budgets and query.budget) else None)
        if leased is None:
            return self._pool.submit(timings.timed, "admission", self._admit, query, route, query.prompt_tokens(),
                                     max_tokens)
        admitted: Future[tuple[Admission | None, Hold | None]] = Future()
        admitted.set_result((leased, None))
        return admitted

    def _prepare(self, query: Query, request_id: str) -> Prepared | Outcome:
        """Everything before the model: permission, route, then at once quota admission, cache
        lookup and input guardrail (a cache miss waits for one AWS round trip, not three)."""
        started, timings = time.perf_counter(), Timings()
        route = self._route(query.model_alias, query.allowed_models)
        max_tokens = ChatRequest(list(query.messages), query.params).max_tokens or self.max_output_tokens
        # The cache lookup runs while the input guardrail decides; its answer is used only if the
        # guardrail lets the question through (and was asked about the same text). A question whose
        # documents are still to retrieve is looked up with them, after.
        lookup = None if query.retrieve else self._start_lookup(query, route, timings)  # the longest way first
        # Counted at once beside the rest; a route that skips quotas has nothing to wait for.
        admitting = None if "quotas" in route.skip else self._admitting(query, route, max_tokens, timings)
        with timings.stage("input_guardrail"):
            checked = self._check_input(query, route, query.text)
        admission, hold = admitting.result() if admitting else (None, None)  # over quota or budget raises here
        prompts = tuple(text_of(m.get("content")) for m in query.messages if m.get("role") in ("system", "developer"))
        prepared = Prepared(query, request_id, started, admission, route, hold, timings=timings,
                            protected=Protected(prompts, f"ref-{secrets.token_hex(5)}" if prompts else None))
        if checked and checked.flagged:
            return self._blocked(prepared, checked, query.text)
        elif checked and checked.text is not None:  # PII anonymised on the way in: look up what the model will see
            query = prepared.query = query.with_text(checked.text)
            lookup = None  # started again below, with the text the model will see
        if query.retrieve:  # admitted and let through: now its documents (an embedding, a search)
            with self._released_on_failure(admission, hold), timings.stage("retrieval"):
                query = prepared.query = replace(query, documents=query.retrieve(query.text), retrieve=None)
        if lookup is None:
            lookup = self._start_lookup(query, route, timings)
        if lookup:
            hit = lookup.exact.result() if lookup.exact else None
            if hit is None:
                prepared.embedding, hit = lookup.similar.result()
            if hit:
                self._settle(admission, 0, hold)  # no model call: the reservations go back
                price = self.prices.answering(hit.model_id, route.targets[0] if route.targets else None)
                saved = price.cost(query.prompt_tokens(), len(hit.answer) // 4 + 1)
                return self._done(prepared, "cached", answer=hit.answer, similarity=hit.similarity,
                                  model_id=hit.model_id, saved_usd=saved)
        return prepared

    def _check_input(self, query: Query, route: Route, text: str) -> Verdict | None:
        """The input guardrail on ``text``, with the key's profile, else the route's (None: the
        route goes without guardrails)."""
        if "guardrails" in route.skip:
            return None
        profile = GUARDRAIL_PROFILES[query.guardrail_profile or route.guardrail_profile or "standard"]
        return self.guardrail.check(text, stage="input", profile=profile)

    def _blocked(self, prepared: Prepared, verdict: Verdict, text: str) -> Outcome:
        """A question the input guardrail refused: its incident, its reservations given back."""
        self._incident(prepared.query, prepared.request_id, "input_guardrail", verdict, text)
        self._settle(prepared.admission, 0, prepared.hold)
        return self._done(prepared, "blocked", reason=verdict.reason, guardrail_status="blocked")

    def _start_lookup(self, query: Query, route: Route, timings: Timings) -> Lookup | None:
        """The exact read and the embedding at once: an exact repeat is answered without waiting
        for the embedder (a Bedrock call, deployed), and even while it is down."""
        if ("cache" in route.skip or not query.cacheable(self.cache_max_temperature)
                or query.cache_control == "no-store"):
            return None
        exact = (None if query.cache_control == "no-cache"  # embedded to refresh the entry, not looked up
                 else self._pool.submit(timings.timed, "cache_exact", self._cached,
                                        partial(self.cache.exact, query.scope, query.text)))
        return Lookup(exact, self._pool.submit(timings.timed, "cache_lookup", self._embed_and_lookup, query, route,
                                               exact))

    def _embed_and_lookup(self, query: Query, route: Route,
                          exact: Future[CacheHit | None] | None) -> tuple[Embedding | None, CacheHit | None]:
        """The question's embedding (its entry is stored under it), and the nearest verified entry
        unless the exact read found the question itself (its one read is done by now, most often:
        an exact hit costs no index query)."""
        try:
            embedding = self.tasks.embed(query.text)
        except Exception as exc:  # the embedder down: no semantic hits, no new entries, the request goes on
            degraded("cache", exc, step="embed")
            return None, None
        if exact is None or exact.result() is not None:
            return embedding, None
        verify = self.tasks.same_question if route.cache_verify == "model" else None
        return embedding, self._cached(partial(self.cache.similar, query.scope, query.text, embedding,
                                               verify=verify))

    def _done(self, prepared: Prepared, kind: Kind, **fields: Any) -> Outcome:
        elapsed = int((time.perf_counter() - prepared.started) * 1000)
        return Outcome(request_id=prepared.request_id, kind=kind, latency_ms=elapsed,
                       admission=prepared.admission, hold=prepared.hold, stages=dict(prepared.timings.spans),
                       **fields)

    def _finish(self, prepared: Prepared, result: ChatResult, served: Served) -> Outcome:
        """After the model: count tokens, output guardrail, cache write, eval event."""
        query, request_id = prepared.query, prepared.request_id
        cost = self.prices.for_served(served).cost(result.usage.prompt_tokens, result.usage.completion_tokens)
        answered = {"model_id": served.model, "provider": served.provider, "usage": result.usage,
                    "upstream_ms": served.upstream_ms, "cost_usd": cost}
        with prepared.timings.stage("output_guardrail"):
            verdict = (self.guardrail.check(result.text, stage="output", protected=prepared.protected)
                       if result.text and "guardrails" not in prepared.route.skip else None)
        if verdict and verdict.flagged:
            self._settle(prepared.admission, result.usage.total_tokens, prepared.hold, cost)  # refused, but paid for
            self._incident(query, request_id, "output_guardrail", verdict, result.text)
            return self._done(prepared, "refused", answer=self.refusal, reason=verdict.reason,
                              guardrail_status="refused", finish_reason="content_filter", **answered)
        answer = verdict.text if verdict and verdict.text is not None else result.text
        # The answer's records are written at once, and the response does not wait for them.
        records: list[Callable[[], None]] = [
            lambda: self._settle(prepared.admission, result.usage.total_tokens, prepared.hold, cost)
        ] if prepared.admission or prepared.hold else []
        ref = None
        if (prepared.embedding is not None and answer and result.finish_reason == "stop"
                and query.cache_control != "no-store"):
            ref = self.cache.ref(query.scope, prepared.embedding, request_id, query.text)
            records.append(partial(self._store, query, answer, prepared.embedding, ref, request_id=request_id,
                                   model_id=served.model))
        if answer and "judge" not in prepared.route.skip and self.events.sampled():
            records.append(partial(self._publish, AnswerEvent(
                request_id=request_id, tenant_id=query.tenant_id, model_alias=query.model_alias,
                model_id=served.model, question=query.text, answer=answer,
                cache_ref=ref.as_dict() if ref else None)))
        if records:
            self.background.run(records)
        return self._done(prepared, "answered", answer=answer, finish_reason=result.finish_reason,
                          tool_calls=result.tool_calls, guardrail_status=verdict.status if verdict else "allowed",
                          **answered)

    # -- doors call these ---------------------------------------------------------------------
    def run(self, query: Query, request_id: str) -> Outcome:
        """Answer one query, buffered. Raises ModelNotAllowed, UnknownModel, RateLimited (before
        any work), UpstreamError when every target failed."""
        prepared = self._prepare(query, request_id)
        if isinstance(prepared, Outcome):
            return prepared
        with self._released_on_failure(prepared.admission, prepared.hold), prepared.timings.stage("model"):
            result, served = self.router.complete(prepared.route, prepared.request(query.params))
        return self._finish(prepared, result, served)

    def stream(self, query: Query, request_id: str) -> Stream:
        """Answer one query as a stream (see ``Stream``). Upstream failures before the first delta
        raise here (fallbacks apply); later ones raise from the iteration and must reach the client
        in-band."""
        prepared = self._prepare(query, request_id)
        if isinstance(prepared, Outcome):
            return Stream(prepared, replay(prepared) if prepared.kind == "cached" else None)
        # A stream's model stage runs to its first delta; the rest goes to the client as it comes.
        with self._released_on_failure(prepared.admission, prepared.hold), prepared.timings.stage("model"):
            deltas, served = self.router.stream(prepared.route, prepared.request(query.params))
        head = self._done(prepared, "streaming", model_id=served.model, provider=served.provider,
                          upstream_ms=served.upstream_ms)
        unchecked = "guardrails" in prepared.route.skip
        return Stream(head, (self._unchecked if unchecked else self._guarded)(prepared, deltas, served))

    def _unchecked(self, prepared: Prepared, deltas: Iterator[Delta],
                   served: Served) -> Generator[Delta, None, Outcome]:
        """A route without guardrails: every delta goes out as it arrives."""
        text, finish, usage = "", "stop", Usage()
        calls: list[dict[str, Any]] = []
        for delta in deltas:
            text, calls = text + delta.text, calls + delta.tool_calls
            finish, usage = delta.finish_reason or finish, delta.usage or usage
            if delta.text or delta.tool_calls:
                yield Delta(text=delta.text, tool_calls=delta.tool_calls)
        return self._finish(prepared, ChatResult(text, finish, calls, usage), served)

    def _guarded(self, prepared: Prepared, deltas: Iterator[Delta], served: Served) -> Generator[Delta, None, Outcome]:
        """The stream as the client may see it: nothing is released before the output guardrail has
        checked it (``StreamGuard``); a flag cuts the stream off, and the end is checked whole."""
        guard, finish, usage, calls = StreamGuard(self.guardrail, prepared.protected), "stop", Usage(), []
        for delta in deltas:
            calls += delta.tool_calls
            finish, usage = delta.finish_reason or finish, delta.usage or usage
            if delta.tool_calls:
                yield Delta(tool_calls=delta.tool_calls)
            released = guard.add(delta.text)
            if released is None:
                close = getattr(deltas, "close", None)
                if close:
                    close()
                break  # the final check below refuses the answer and records it
            if released:
                yield Delta(text=released)
        outcome = self._finish(prepared, ChatResult(guard.raw, finish, calls, usage), served)
        shown = guard.shown
        if outcome.kind == "answered" and outcome.answer.startswith(shown) and len(outcome.answer) > len(shown):
            yield Delta(text=outcome.answer[len(shown):])
        return outcome

    def embed(self, query: Query, inputs: list[str], request_id: str) -> tuple[Embeddings, Outcome]:
        """Embeddings of ``inputs`` by ``query``'s alias, admitted as a chat request is (the
        inputs' worst-case cost reserved in the caller's budgets, the request counted in its
        quotas), then settled with what they cost."""
        started = time.perf_counter()
        route = self._route(query.model_alias, query.allowed_models)
        admission, hold = self._admit(query, route, estimate_tokens([{"content": i} for i in inputs], 0), 0)
        with self._released_on_failure(admission, hold):
            embeddings, served = self.router.embed(route, inputs)
        cost = self.prices.for_served(served).cost(embeddings.usage.prompt_tokens, 0)
        self._settle(admission, embeddings.usage.total_tokens, hold, cost)
        return embeddings, Outcome(request_id, "answered", model_id=served.model, provider=served.provider,
                                   usage=embeddings.usage, upstream_ms=served.upstream_ms, cost_usd=cost,
                                   admission=admission, hold=hold,
                                   latency_ms=int((time.perf_counter() - started) * 1000))

    def media(self, query: Query, request: MediaRequest, request_id: str) -> tuple[MediaResult | None, Outcome]:
        """An image, a transcript or speech: the alias, budget and quota as for chat, the input
        guardrail on its text (an image's prompt, the words to speak: a block is an incident, PII
        is anonymised), then the route's targets with their retries and fallbacks. No result: blocked."""
        started, timings = time.perf_counter(), Timings()
        route = self._route(query.model_alias, query.allowed_models)
        with timings.stage("admission"):
            admission, hold = self._admit(query, route, query.prompt_tokens(), 0)
        prepared = Prepared(query, request_id, started, admission, route, hold, timings=timings)
        if request.text:
            with timings.stage("input_guardrail"):
                checked = self._check_input(query, route, request.text)
            if checked and checked.flagged:
                return None, self._blocked(prepared, checked, request.text)
            if checked and checked.text is not None:
                request = request.with_text(checked.text)
        with self._released_on_failure(admission, hold), timings.stage("model"):
            result, served = self.router.media(route, request)
        price = self.prices.for_served(served)
        cost = price.cost(result.usage.prompt_tokens, result.usage.completion_tokens) + price.unit * result.units
        self.background.run([lambda: self._settle(admission, result.usage.total_tokens, hold, cost)])
        return result, self._done(prepared, "answered", model_id=served.model, provider=served.provider,
                                  usage=result.usage, upstream_ms=served.upstream_ms, cost_usd=cost)

    def embed_question(self, model_alias: str, text: str,
                       allowed_models: tuple[str, ...] = ()) -> tuple[list[float], float]:
        """A question's embedding for retrieval (RAG), and its cost: the alias checked like any,
        with no quota of its own (a ``Query.retrieve`` calls it once its request is counted)."""
        route = self._route(model_alias, allowed_models)
        embeddings, served = self.router.embed(route, [text])
        return embeddings.vectors[0], self.prices.for_served(served).cost(embeddings.usage.prompt_tokens, 0)

    def models(self, allowed_models: tuple[str, ...] = ()) -> list[str]:
        return sorted(a for a in self.router.routes.all() if not allowed_models or a in allowed_models)

    # -- best-effort records ------------------------------------------------------------------
    def _cached(self, read: Callable[[], CacheHit | None]) -> CacheHit | None:
        try:
            return read()
        except Exception as exc:  # a cache outage degrades to a model call, never to an error
            degraded("cache", exc, step="lookup")
            return None

    def _store(self, query: Query, answer: str, embedding: Embedding, ref: EntryRef, *, request_id: str,
               model_id: str) -> None:
        try:
            self.cache.store(query.scope, query.text, answer, embedding, request_id=request_id, model_id=model_id,
                             ref=ref)
        except Exception as exc:  # the answer is good; a cache outage must not cost the user it
            degraded("cache", exc, step="store")

    def _publish(self, event: AnswerEvent) -> None:
        try:
            self.events.answer_generated(event)
        except Exception as exc:  # EventKept: not judged now, but not lost either
            degraded("eval_events", exc, request_id=event.request_id, kept=isinstance(exc, EventKept))

    @contextlib.contextmanager
    def _released_on_failure(self, admission: Admission | None, hold: Hold | None = None) -> Iterator[None]:
        """Every target failed: the request used no tokens, its reservations go back."""
        try:
            yield
        except Exception:
            self._settle(admission, 0, hold)
            raise

    def _settle(self, admission: Admission | None, tokens: int, hold: Hold | None = None,
                cost_usd: float = 0.0) -> None:
        """Replace the reservations with what the request used."""
        try:
            if self.limiter and admission:
                self.limiter.settle(admission, tokens)
            if self.budgets and hold:
                self.budgets.settle(hold, cost_usd)
        except Exception as exc:  # a missed count must not fail an answered request
            degraded("counters_table", exc, step="settle")

    def _incident(self, query: Query, request_id: str, stage: str, verdict: Verdict, text: str) -> None:
        try:
            self.incidents.record(request_id=request_id, tenant_id=query.tenant_id, stage=stage,
                                  reason=verdict.reason or "policy_violation", text=text, signals=verdict.signals)
        except Exception as exc:  # the block stands even if its record could not be written
            degraded("incidents", exc, stage=stage, request_id=request_id)
