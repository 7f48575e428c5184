"""The gateway's ASGI app: thin doors that parse, call the one pipeline, and render.

``/ask`` keeps the seed contract ({"question"} -> {"answer", "cache_hit", ...}, its bad requests
as {"error": "...", "request_id"}); ``/invoke`` keeps seed 001's; ``/v1/...`` is OpenAI's API.
Every other error is rendered in OpenAI's shape, on every door.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llm_gateway.api import openai_doors
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, api_error, guardrail_blocked, read_json_object, require_text
from llm_gateway.api.telemetry import logger, metrics
from llm_gateway.contract import METRIC_GUARDRAIL_BLOCKS, METRIC_RATE_LIMITED, Settings
from llm_gateway.core.pipeline import Outcome, Pipeline, Query
from llm_gateway.core.wiring import build_pipeline

# Behind the Web Adapter the app runs beside the Lambda runtime, which cannot hand it each
# invocation's trace id; the adapter forwards it as a header instead.
IN_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ

Door = Callable[[Request, Caller], Awaitable[Response]]
ErrorRenderer = Callable[[ApiError, Caller], Response]


def openai_error(error: ApiError, caller: Caller) -> Response:
    headers = {**caller.headers, **error.headers}
    if error.status in (400, 403, 404, 413):  # the same request can only fail the same way again
        headers.setdefault("x-should-retry", "false")
    return JSONResponse(error.openai_body(), error.status, headers=headers)


def seed_error(error: ApiError, caller: Caller) -> Response:
    """``/ask``'s own contract for bad requests; gateway-wide errors (quotas, permissions, upstream
    failures) keep OpenAI's shape on every door, because clients' retry logic reads it."""
    if error.status not in (400, 413):
        return openai_error(error, caller)
    body: dict[str, Any] = {"error": error.message, "request_id": caller.request_id}
    return JSONResponse(body, error.status, headers={**caller.headers, **error.headers})


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
    if outcome.kind == "blocked":
        caller.headers["x-should-retry"] = "false"
    if outcome.kind == "streaming":
        return
    logger.info("request answered", extra={
        "tenant_id": caller.tenant_id, "outcome": outcome.kind, "reason": outcome.reason,
        "provider": outcome.provider, "model_id": outcome.model_id, "latency_ms": outcome.latency_ms,
        "overhead_ms": outcome.overhead_ms, "prompt_tokens": outcome.usage.prompt_tokens,
        "completion_tokens": outcome.usage.completion_tokens})
    metrics.add_metric(name=f"Outcome_{outcome.kind}", unit=MetricUnit.Count, value=1)
    if outcome.kind in ("blocked", "refused"):
        metrics.add_metric(name=METRIC_GUARDRAIL_BLOCKS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="GatewayOverhead", unit=MetricUnit.Milliseconds, value=outcome.overhead_ms)
    metrics.flush_metrics()


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    pipeline = pipeline or build_pipeline(settings)

    async def answer(caller: Caller, text: str) -> Outcome:
        query = Query.question(caller.tenant_id, text, settings.default_model_alias, settings.system_prompt,
                               quotas=caller.quotas, allowed_models=caller.allowed_models)
        outcome = await run_in_threadpool(pipeline.run, query, caller.request_id)
        describe(outcome, caller)
        return outcome

    async def ask(request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, settings.max_body_bytes)
        outcome = await answer(caller, require_text(body, "question"))
        if outcome.kind == "blocked":
            return JSONResponse({"error": "blocked by input guardrail", "reason": outcome.reason,
                                 "request_id": caller.request_id}, 400)
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
        outcome = await answer(caller, require_text(body, "prompt"))
        if outcome.kind == "blocked":
            raise guardrail_blocked(outcome.reason, "prompt")
        return JSONResponse({"request_id": caller.request_id, "model_id": outcome.model_id,
                             "latency_ms": outcome.latency_ms, "response": outcome.answer,
                             "guardrail_status": outcome.guardrail_status})

    async def health(request: Request, caller: Caller) -> Response:
        return JSONResponse({"status": "ok"})

    def door(handler: Door, render_error: ErrorRenderer) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            caller = Caller.of(request)
            logger.set_correlation_id(caller.request_id)
            trace = request.headers.get("x-amzn-trace-id")
            if trace and IN_LAMBDA:  # one request at a time per environment: the X-Ray SDK reads it here
                os.environ["_X_AMZN_TRACE_ID"] = trace
            try:
                response = await handler(request, caller)
                for name, value in caller.headers.items():
                    response.headers.setdefault(name, value)
            except Exception as exc:
                error = api_error(exc)
                if error is None:
                    logger.exception("unhandled error")
                    error = ApiError(500, "internal error", code="internal_error")
                else:
                    logger.info("request rejected", extra={"status": error.status, "code": error.code})
                if error.status == 429:
                    metrics.add_metric(name=METRIC_RATE_LIMITED, unit=MetricUnit.Count, value=1)
                    metrics.flush_metrics()
                response = render_error(error, caller)
            return response

        return endpoint

    v1 = openai_doors.OpenAIDoors(pipeline, settings, describe)
    return Starlette(routes=[
        Route("/ask", door(ask, seed_error), methods=["POST"]),
        Route("/invoke", door(invoke, openai_error), methods=["POST"]),
        Route("/health", door(health, openai_error), methods=["GET"]),
        Route("/v1/chat/completions", door(v1.chat_completions, openai_error), methods=["POST"]),
        Route("/v1/responses", door(v1.responses, openai_error), methods=["POST"]),
        Route("/v1/models", door(v1.models, openai_error), methods=["GET"]),
        Route("/v1/models/{model:path}", door(v1.model, openai_error), methods=["GET"]),
        Route("/v1/embeddings", door(v1.embeddings, openai_error), methods=["POST"]),
    ])
