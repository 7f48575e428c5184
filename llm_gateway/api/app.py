"""The gateway's ASGI app: thin doors that parse, call the one pipeline, and render.

``/ask`` keeps the seed contract ({"question"} -> {"answer", "cache_hit", ...}, its bad requests
as {"error": "...", "request_id"}); ``/invoke`` keeps seed 001's; ``/v1/...`` is OpenAI's API.
Every other error is rendered in OpenAI's shape, on every door.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from aws_lambda_powertools.metrics import MetricUnit
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llm_gateway.api.answering import Answers, Metering
from llm_gateway.api.billing_doors import BillingDoors
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, api_error
from llm_gateway.api.media_doors import MediaDoors
from llm_gateway.api.openai_doors import OpenAIDoors
from llm_gateway.api.rag_doors import RagDoors
from llm_gateway.api.schemas import openapi
from llm_gateway.api.seed_doors import SeedDoors, seed_error
from llm_gateway.api.telemetry import logger, metrics
from llm_gateway.contract import METRIC_BUDGET_NEARLY_SPENT, METRIC_RATE_LIMITED, Settings
from llm_gateway.core.background import AfterResponse
from llm_gateway.core.pipeline import Pipeline
from llm_gateway.core.timings import StageTraces
from llm_gateway.core.wiring import build_pipeline, document_store, usage_ledger, usage_store

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


def seed_or_openai_error(error: ApiError, caller: Caller) -> Response:
    return seed_error(error, caller) or openai_error(error, caller)


async def health(request: Request, caller: Caller) -> Response:
    return JSONResponse({"status": "ok"})


async def openapi_document(request: Request, caller: Caller) -> Response:
    return JSONResponse(openapi())


async def not_routed(request: Request, exc: Exception) -> Response:
    """What the router itself answers (no such path, a method the path does not take), in
    OpenAI's shape like everything else."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        error = ApiError(405, f"{request.method} is not allowed on {request.url.path}", code="method_not_allowed",
                         type="invalid_request_error", headers=dict(getattr(exc, "headers", None) or {}))
    elif status == 404:
        error = ApiError(404, f"Unknown request URL: {request.method} {request.url.path}.", code="unknown_url")
    else:
        error = ApiError(status, "internal error" if status >= 500 else str(getattr(exc, "detail", "")),
                         code="internal_error" if status >= 500 else None)
    return openai_error(error, Caller.of(request))


def door(handler: Door, render_error: ErrorRenderer,
         metered: Metering | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A route's endpoint: who calls, correlation id and trace, the handler, its errors rendered;
    ``metered``: its usage record and stage traces, sent once the response is (its last byte)."""

    async def endpoint(request: Request) -> Response:
        arrived = time.time()
        caller = Caller.of(request)
        error: ApiError | None = None
        logger.set_correlation_id(caller.request_id)
        if caller.trace and IN_LAMBDA:  # one request at a time per environment: the X-Ray SDK reads it here
            os.environ["_X_AMZN_TRACE_ID"] = caller.trace
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
                if error.code == "insufficient_quota":  # a budget is spent
                    metrics.add_metric(name=METRIC_BUDGET_NEARLY_SPENT, unit=MetricUnit.Count, value=1)
                metrics.flush_metrics()
            response = render_error(error, caller)
        if metered:
            response.background = BackgroundTask(metered.after, caller, request.url.path,
                                                  response.status_code, error, arrived=arrived)
        return response

    return endpoint


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    pipeline = pipeline or build_pipeline(settings)
    answers = Answers(pipeline)
    seed, v1 = SeedDoors(answers, settings), OpenAIDoors(answers, settings)
    rag, media = RagDoors(answers, settings, document_store(settings)), MediaDoors(answers, settings)
    billing = BillingDoors(usage_store(settings))
    metered = Metering(usage_ledger(settings), StageTraces())  # the doors that call a model
    # An answer's records start once its response is sent (core/background.py).
    app = Starlette(middleware=[Middleware(AfterResponse)],
                    exception_handlers={HTTPException: not_routed, Exception: not_routed}, routes=[
        Route("/openapi.json", door(openapi_document, openai_error), methods=["GET"]),
        Route("/ask", door(seed.ask, seed_or_openai_error, metered), methods=["POST"]),
        Route("/invoke", door(seed.invoke, openai_error, metered), methods=["POST"]),
        Route("/health", door(health, openai_error), methods=["GET"]),
        Route("/v1/chat/completions", door(v1.chat_completions, openai_error, metered), methods=["POST"]),
        Route("/v1/responses", door(v1.responses, openai_error, metered), methods=["POST"]),
        Route("/v1/models", door(v1.models, openai_error), methods=["GET"]),
        Route("/v1/models/{model:path}", door(v1.model, openai_error), methods=["GET"]),
        Route("/v1/embeddings", door(v1.embeddings, openai_error, metered), methods=["POST"]),
        Route("/v1/images/generations", door(media.images, openai_error, metered), methods=["POST"]),
        Route("/v1/audio/transcriptions", door(media.transcriptions, openai_error, metered), methods=["POST"]),
        Route("/v1/audio/speech", door(media.speech, openai_error, metered), methods=["POST"]),
        Route("/v1/rag/ingest", door(rag.ingest, openai_error, metered), methods=["POST"]),
        Route("/v1/rag/query", door(rag.query, openai_error, metered), methods=["POST"]),
        Route("/v1/rag/delete", door(rag.delete, openai_error), methods=["POST"]),
        Route("/v1/billing/usage", door(billing.usage, openai_error), methods=["GET"]),
    ])
    app.state.pipeline = pipeline
    return app
