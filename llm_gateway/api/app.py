"""The gateway's ASGI app: thin doors that parse, call the one pipeline, and render.

``/ask`` keeps the seed contract ({"question"} -> {"answer", "cache_hit", ...}, errors as
{"error": "...", "request_id"}); ``/invoke`` keeps seed 001's; every other door answers errors in
OpenAI's shape.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llm_gateway.api.errors import ApiError, read_json_object, require_text
from llm_gateway.core.llm import LLMError
from llm_gateway.core.pipeline import ModelNotAllowed, Outcome, Pipeline, Query, build_pipeline
from llm_gateway.core.ratelimit import RateLimited
from llm_gateway.core.settings import Settings
from llm_gateway.core.tenants import Quotas
from llm_gateway.observability import powertools

logger, metrics, tracer = powertools("llm-gateway")

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Caller:
    """Who is calling, from the request context API Gateway (or the local runner) attaches.

    The Lambda Web Adapter forwards the REST API's requestContext, authorizer output included, in
    the ``x-amzn-request-context`` header; the client cannot set it.
    """

    tenant_id: str
    request_id: str
    upstream_request_id: str | None = None
    quotas: Quotas | None = None
    allowed_models: tuple[str, ...] = ()

    @classmethod
    def of(cls, request: Request) -> Caller:
        try:
            context = json.loads(request.headers.get("x-amzn-request-context") or "{}")
        except json.JSONDecodeError:
            context = {}
        authorizer = context.get("authorizer") or {}

        def number(name: str) -> int | None:
            value = str(authorizer.get(name) or "")
            return int(value) if value.isdigit() else None

        return cls(tenant_id=str(authorizer.get("tenantId") or DEFAULT_TENANT),
                   request_id=uuid.uuid4().hex, upstream_request_id=context.get("requestId"),
                   quotas=Quotas(rpm=number("rpm"), rpd=number("rpd"), tpm=number("tpm")),
                   allowed_models=tuple(m for m in str(authorizer.get("models") or "").split(",") if m))


Door = Callable[[Request, Caller], Awaitable[Response]]
ErrorRenderer = Callable[[ApiError, Caller], Response]


def openai_error(error: ApiError, caller: Caller) -> Response:
    headers = {"x-gateway-request-id": caller.request_id, **error.headers}
    if error.status in (400, 403, 404, 413):
        headers.setdefault("x-should-retry", "false")
    return JSONResponse(error.openai_body(), error.status, headers=headers)


def seed_error(error: ApiError, caller: Caller) -> Response:
    """``/ask``'s own contract for bad requests; gateway-wide errors (quotas, permissions, upstream
    failures) keep OpenAI's shape on every door, because clients' retry logic reads it."""
    if error.status not in (400, 413):
        return openai_error(error, caller)
    body: dict[str, Any] = {"error": error.message, "request_id": caller.request_id}
    return JSONResponse(body, error.status, headers={"x-gateway-request-id": caller.request_id, **error.headers})


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    pipeline = pipeline or build_pipeline(settings)

    async def answer(request: Request, caller: Caller, text: str, door: str) -> Outcome:
        query = Query(tenant_id=caller.tenant_id, text=text, model_alias=settings.default_model_alias,
                      system_prompt=settings.system_prompt, quotas=caller.quotas,
                      allowed_models=caller.allowed_models)
        try:
            outcome = await run_in_threadpool(pipeline.run, query, caller.request_id)
        except RateLimited as exc:
            headers = {**exc.admission.headers(), "retry-after": str(exc.retry_after)}
            if not exc.retryable:
                headers["x-should-retry"] = "false"
            raise ApiError(429, str(exc), code="rate_limit_exceeded", headers=headers) from exc
        except ModelNotAllowed as exc:
            raise ApiError(403, f"this API key may not use the model '{exc}'", param="model",
                           code="model_not_allowed") from exc
        except LLMError as exc:
            logger.error("model call failed", extra={"door": door, "error": str(exc)})
            raise ApiError(502, "the model is unavailable, try again", code="upstream_error") from exc
        logger.info("request answered", extra={
            "door": door, "tenant_id": caller.tenant_id, "outcome": outcome.kind, "reason": outcome.reason,
            "model_id": outcome.model_id, "latency_ms": outcome.latency_ms})
        metrics.add_metric(name=f"Outcome_{outcome.kind}", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="PipelineLatency", unit=MetricUnit.Milliseconds, value=outcome.latency_ms)
        metrics.flush_metrics()
        request.state.admission = outcome.admission
        return outcome

    async def ask(request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, settings.max_body_bytes)
        outcome = await answer(request, caller, require_text(body, "question"), "ask")
        if outcome.kind == "blocked":
            return JSONResponse({"error": "blocked by input guardrail", "reason": outcome.reason,
                                 "request_id": caller.request_id}, 400, headers={"x-should-retry": "false"})
        if outcome.kind == "refused":
            return JSONResponse({"answer": outcome.answer, "refused": True, "reason": outcome.reason,
                                 "request_id": caller.request_id})
        result: dict[str, Any] = {"answer": outcome.answer, "cache_hit": outcome.kind == "cached"}
        if outcome.similarity is not None:
            result["similarity"] = round(outcome.similarity, 4)
        result["request_id"] = caller.request_id
        return JSONResponse(result)

    async def invoke(request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, settings.max_body_bytes)
        outcome = await answer(request, caller, require_text(body, "prompt"), "invoke")
        if outcome.kind == "blocked":
            raise ApiError(400, f"blocked by input guardrail: {outcome.reason}", param="prompt",
                           code="guardrail_blocked")
        return JSONResponse(
            {"request_id": caller.request_id, "model_id": outcome.model_id, "latency_ms": outcome.latency_ms,
             "response": outcome.answer, "guardrail_status": outcome.guardrail_status},
            headers={"x-gateway-cache-hit": str(outcome.kind == "cached").lower()})

    async def health(request: Request, caller: Caller) -> Response:
        return JSONResponse({"status": "ok"})

    def door(handler: Door, render_error: ErrorRenderer) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            caller = Caller.of(request)
            logger.set_correlation_id(caller.request_id)
            try:
                response = await handler(request, caller)
                admission = getattr(request.state, "admission", None)
                if admission:
                    response.headers.update(admission.headers())
            except ApiError as error:
                logger.info("request rejected", extra={"status": error.status, "code": error.code})
                response = render_error(error, caller)
            except Exception:
                logger.exception("unhandled error")
                response = render_error(ApiError(500, "internal error", code="internal_error"), caller)
            response.headers.setdefault("x-gateway-request-id", caller.request_id)
            return response

        return endpoint

    return Starlette(routes=[
        Route("/ask", door(ask, seed_error), methods=["POST"]),
        Route("/invoke", door(invoke, openai_error), methods=["POST"]),
        Route("/health", door(health, openai_error), methods=["GET"]),
    ])
