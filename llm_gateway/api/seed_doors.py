"""The seeds' doors over the pipeline: ``/ask`` (seed 000: {"question"} -> {"answer", "cache_hit",
"similarity"?, "request_id"}) and ``/invoke`` (seed 001: {"prompt"} -> {"request_id", "model_id",
"latency_ms", "response", "guardrail_status"}), both answered by the default model alias."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_gateway.api.answering import Answers
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, read_json_object, require_text
from llm_gateway.contract import Settings
from llm_gateway.core.pipeline import Outcome, Query


def seed_error(error: ApiError, caller: Caller) -> JSONResponse | None:
    """``/ask``'s own contract for bad requests ({"error": "...", "request_id"}); None for the
    gateway-wide errors (quotas, permissions, upstream failures), which keep OpenAI's shape on
    every door because clients' retry logic reads it."""
    if error.status not in (400, 413):
        return None
    body: dict[str, Any] = {"error": error.message, "request_id": caller.request_id}
    return JSONResponse(body, error.status, headers={**caller.headers, **error.headers})


class SeedDoors:
    def __init__(self, answers: Answers, settings: Settings) -> None:
        self.answers, self.settings = answers, settings

    async def _answer(self, request: Request, caller: Caller, field: str, param: str | None) -> Outcome:
        body = await read_json_object(request, self.settings.max_body_bytes)
        query = Query.question(caller.tenant_id, require_text(body, field), self.settings.default_model_alias,
                               self.settings.system_prompt, **caller.query_fields())
        return await self.answers.answer(caller, query, param)

    async def ask(self, request: Request, caller: Caller) -> Response:
        outcome = await self._answer(request, caller, "question", None)
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

    async def invoke(self, request: Request, caller: Caller) -> Response:
        outcome = await self._answer(request, caller, "prompt", "prompt")
        return JSONResponse({"request_id": caller.request_id, "model_id": outcome.model_id,
                             "latency_ms": outcome.latency_ms, "response": outcome.answer,
                             "guardrail_status": outcome.guardrail_status})


