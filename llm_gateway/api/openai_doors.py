"""OpenAI's API over the pipeline: chat completions, responses, models, embeddings.

The official SDKs work unmodified: the same request shapes, checked here; the response shapes are
rendered by ``wire``; errors in OpenAI's shape. Gateway metadata rides in ``x-gateway-*`` headers.
"""

from __future__ import annotations

import base64
import json
import time
from array import array
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llm_gateway.api.answering import Answers, describe
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, read_json_object
from llm_gateway.api.schemas import INPUT_ITEMS, ChatCompletionRequest, EmbeddingsRequest, ResponsesRequest, check
from llm_gateway.api.wire import SSE_HEADERS, Chat
from llm_gateway.api.wire import Response as ResponseWire
from llm_gateway.contract import Settings
from llm_gateway.core.chat import PASSTHROUGH, text_of
from llm_gateway.core.pipeline import Query

MAX_EMBEDDING_INPUTS = 2048


def model_of(body: dict[str, Any]) -> str:
    """The request's model alias, as OpenAI requires it (the doors that speak its API share it)."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ApiError(400, "you must provide a model parameter", param="model", code="missing_field")
    return model.strip()


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be a boolean", param=name, code="invalid_type")
    return value


def _params(body: dict[str, Any]) -> dict[str, Any]:
    params = {k: body[k] for k in PASSTHROUGH if body.get(k) is not None}
    if int(params.get("n") or 1) != 1:
        raise ApiError(400, "n > 1 is not supported by this gateway", param="n", code="unsupported_parameter")
    return params


def _messages(raw: list[dict[str, Any]], param: str = "messages") -> tuple[dict[str, Any], ...]:
    """Messages whose types the schema has checked: at least one from the user, none of them empty
    (an empty question would reach the model, and come back as its error)."""
    if not any(m["role"] == "user" for m in raw):
        raise ApiError(400, f"'{param}' must contain a user message", param=param, code="invalid_value")
    for i, message in enumerate(raw):
        content = message.get("content")
        non_text = isinstance(content, list) and any(p.get("type") not in ("text", "input_text") for p in content)
        if message["role"] == "user" and not non_text and not text_of(content).strip():
            raise ApiError(400, f"'{param}[{i}].content' must not be empty", param=f"{param}[{i}].content",
                           code="invalid_value")
    return tuple(raw)


def _input_item(i: int, item: dict[str, Any]) -> dict[str, Any]:
    """One Responses API input item, checked, as a chat message."""
    kind = item.get("type", "message")
    if not isinstance(kind, str) or kind not in INPUT_ITEMS:
        raise ApiError(400, f"input items of type {json.dumps(kind)[:40]} are not supported",
                       param=f"input[{i}].type", code="unsupported_value")
    check(item, INPUT_ITEMS[kind], at=f".input[{i}]")
    if kind == "message":
        content = item.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return {"role": item.get("role"), "content": content}
    if kind == "function_call":
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": item.get("call_id"), "type": "function",
            "function": {"name": item.get("name"), "arguments": item.get("arguments", "{}")}}]}
    return {"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")}


def _query(caller: Caller, model: str, messages: tuple[dict[str, Any], ...], params: dict[str, Any]) -> Query:
    return Query(caller.tenant_id, messages, model, params, **caller.query_fields())


def _streaming(events: Any, caller: Caller) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers={**SSE_HEADERS, **caller.headers})


class OpenAIDoors:
    def __init__(self, answers: Answers, settings: Settings) -> None:
        self.answers, self.pipeline, self.settings = answers, answers.pipeline, settings

    # -- /v1/chat/completions -----------------------------------------------------------------
    async def chat_completions(self, request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, self.settings.max_body_bytes)
        check(body, ChatCompletionRequest)
        model, messages, params = model_of(body), _messages(body["messages"]), _params(body)
        query, chat = _query(caller, model, messages, params), Chat(caller.request_id, model, int(time.time()))
        if not _flag(body, "stream"):
            return JSONResponse(chat.completion(await self.answers.answer(caller, query, "messages")))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = await self.answers.stream(caller, query, "messages")
        return _streaming(chat.chunks(stream, include_usage=include_usage,
                                      done=lambda outcome: describe(outcome, caller)), caller)

    # -- /v1/responses ------------------------------------------------------------------------
    def _responses_query(self, caller: Caller, body: dict[str, Any]) -> Query:
        check(body, ResponsesRequest)
        model = model_of(body)
        if body.get("previous_response_id"):
            raise ApiError(400, "previous_response_id is not supported: this gateway keeps no conversation state; "
                                "send the earlier turns in 'input'", param="previous_response_id",
                           code="unsupported_parameter")
        raw = body.get("input")
        messages: list[dict[str, Any]] = []
        if isinstance(body.get("instructions"), str):
            messages.append({"role": "system", "content": body["instructions"]})
        if isinstance(raw, str):
            messages.append({"role": "user", "content": raw})
        elif isinstance(raw, list):
            messages += [_input_item(i, item) for i, item in enumerate(raw)]
        else:
            raise ApiError(400, "'input' must be a string or an array of items", param="input", code="invalid_value")
        params = {k: body[k] for k in ("temperature", "top_p", "user") if body.get(k) is not None}
        if body.get("max_output_tokens"):
            params["max_tokens"] = body["max_output_tokens"]
        if body.get("tools"):
            params["tools"] = [{"type": "function", "function": {
                "name": t.get("name"), "description": t.get("description", ""), "parameters": t.get("parameters")}}
                for t in body["tools"] if t.get("type") == "function"]
        return _query(caller, model, _messages(messages, "input"), _params(params))

    async def responses(self, request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, self.settings.max_body_bytes)
        query = self._responses_query(caller, body)
        response = ResponseWire(caller.request_id, body, int(time.time()))
        if not _flag(body, "stream"):
            return JSONResponse(response.object(await self.answers.answer(caller, query, "input")))
        stream = await self.answers.stream(caller, query, "input")
        return _streaming(response.events(stream, done=lambda outcome: describe(outcome, caller)), caller)

    # -- /v1/models, /v1/embeddings -----------------------------------------------------------
    def _model_card(self, alias: str) -> dict[str, Any]:
        return {"id": alias, "object": "model", "created": 0, "owned_by": "llm-gateway"}

    async def models(self, request: Request, caller: Caller) -> Response:
        aliases = await run_in_threadpool(self.pipeline.models, caller.allowed_models)
        return JSONResponse({"object": "list", "data": [self._model_card(a) for a in aliases]})

    async def model(self, request: Request, caller: Caller) -> Response:
        alias = request.path_params["model"]
        if alias not in await run_in_threadpool(self.pipeline.models, caller.allowed_models):
            raise ApiError(404, f"The model '{alias}' does not exist or you do not have access to it.",
                           param="model", code="model_not_found")
        return JSONResponse(self._model_card(alias))

    async def embeddings(self, request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, self.settings.max_body_bytes)
        check(body, EmbeddingsRequest)
        model, raw = model_of(body), body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
            raise ApiError(400, "'input' must be a non-empty string or array of non-empty strings", param="input",
                           code="invalid_value")
        if len(inputs) > MAX_EMBEDDING_INPUTS:
            raise ApiError(400, f"at most {MAX_EMBEDDING_INPUTS} inputs per request", param="input",
                           code="invalid_value")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise ApiError(400, "'encoding_format' must be float or base64", param="encoding_format",
                           code="invalid_value")
        embeddings = await self.answers.embed(caller, model, inputs)

        def encode(vector: list[float]) -> list[float] | str:
            return base64.b64encode(array("f", vector).tobytes()).decode() if encoding == "base64" else vector

        return JSONResponse({
            "object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": encode(v)}
                     for i, v in enumerate(embeddings.vectors)],
            "usage": {"prompt_tokens": embeddings.usage.prompt_tokens, "total_tokens": embeddings.usage.total_tokens}})
