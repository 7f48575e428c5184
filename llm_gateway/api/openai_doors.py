"""OpenAI's API over the pipeline: chat completions, responses, models, embeddings.

The official SDKs work unmodified: the same request and response shapes, SSE streams ending in
``data: [DONE]`` (or the Responses API's event sequence), errors in OpenAI's shape. Gateway
metadata rides in ``x-gateway-*`` headers. A stream that breaks after its first byte ends with an
in-band error event and no ``[DONE]``, so it never looks complete.
"""

from __future__ import annotations

import base64
import json
import re
import time
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, api_error, guardrail_blocked, read_json_object
from llm_gateway.api.telemetry import logger
from llm_gateway.contract import Settings
from llm_gateway.core.chat import PASSTHROUGH, Delta, Usage
from llm_gateway.core.pipeline import Outcome, Pipeline, Query

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_EMBEDDING_INPUTS = 2048
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _model(body: dict[str, Any]) -> str:
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
    for name in ("max_tokens", "max_completion_tokens"):
        if name in params and (not isinstance(params[name], int) or params[name] < 1):
            raise ApiError(400, f"'{name}' must be a positive integer", param=name, code="invalid_value")
    return params


def _messages(raw: Any, param: str = "messages") -> tuple[dict[str, Any], ...]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, f"'{param}' must be a non-empty array", param=param, code="invalid_value")
    for i, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(400, f"'{param}[{i}].role' must be one of {', '.join(ROLES)}", param=f"{param}[{i}].role",
                           code="invalid_value")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise ApiError(400, f"'{param}[{i}].content' must be a string or an array of parts",
                           param=f"{param}[{i}].content", code="invalid_type")
    if not any(m["role"] == "user" for m in raw):
        raise ApiError(400, f"'{param}' must contain a user message", param=param, code="invalid_value")
    return tuple(raw)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _sse(data: dict[str, Any] | str, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


class OpenAIDoors:
    def __init__(self, pipeline: Pipeline, settings: Settings, describe: Callable[[Outcome, Caller], None]) -> None:
        self.pipeline, self.settings, self.describe = pipeline, settings, describe

    def _query(self, caller: Caller, model: str, messages: tuple[dict[str, Any], ...],
               params: dict[str, Any]) -> Query:
        return Query(caller.tenant_id, messages, model, params, quotas=caller.quotas,
                     allowed_models=caller.allowed_models)

    async def _answer(self, caller: Caller, query: Query, param: str) -> Outcome:
        outcome = await run_in_threadpool(self.pipeline.run, query, caller.request_id)
        self.describe(outcome, caller)
        if outcome.kind == "blocked":
            raise guardrail_blocked(outcome.reason, param)
        return outcome

    async def _stream(self, caller: Caller, query: Query, param: str) -> tuple[Outcome, Iterator[Delta | Outcome]]:
        head, items = await run_in_threadpool(self.pipeline.stream, query, caller.request_id)
        self.describe(head, caller)
        if head.kind == "blocked":
            raise guardrail_blocked(head.reason, param)
        if head.kind == "cached":  # replayed as a stream, so a streaming client sees no difference
            items = iter([*(Delta(text=t) for t in _tokens(head.answer)), head])
        return head, items

    # -- /v1/chat/completions -----------------------------------------------------------------
    async def chat_completions(self, request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, self.settings.max_body_bytes)
        model, messages, params = _model(body), _messages(body.get("messages")), _params(body)
        query = self._query(caller, model, messages, params)
        created = int(time.time())
        if not _flag(body, "stream"):
            outcome = await self._answer(caller, query, "messages")
            message: dict[str, Any] = {"role": "assistant", "content": outcome.answer or None, "refusal": None}
            if outcome.tool_calls:
                message["tool_calls"] = outcome.tool_calls
            return JSONResponse({
                "id": f"chatcmpl-{caller.request_id}", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": outcome.finish_reason}],
                "usage": outcome.usage.as_openai(), "system_fingerprint": None})

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        _, items = await self._stream(caller, query, "messages")
        base = {"id": f"chatcmpl-{caller.request_id}", "object": "chat.completion.chunk", "created": created,
                "model": model, "system_fingerprint": None}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return _sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            final = None
            try:
                for item in items:
                    if isinstance(item, Outcome):
                        final = item
                    elif item.text or item.tool_calls:
                        yield chunk({"content": item.text} if item.text else {"tool_calls": item.tool_calls})
            except Exception as exc:  # after the first byte: tell the client in-band, never fake an end
                yield _sse(self._in_band(exc, caller))
                return
            final = final or Outcome(caller.request_id, "answered")
            self.describe(final, caller)
            yield chunk({}, final.finish_reason)
            if include_usage:
                yield _sse({**base, "choices": [], "usage": final.usage.as_openai()})
            yield _sse("[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream", headers={**SSE_HEADERS, **caller.headers})

    def _in_band(self, exc: Exception, caller: Caller) -> dict[str, Any]:
        error = api_error(exc) or ApiError(500, "internal error", code="internal_error")
        logger.warning("stream broke after the first byte", extra={"status": error.status, "error": error.message})
        return error.openai_body()

    # -- /v1/responses ------------------------------------------------------------------------
    def _responses_query(self, caller: Caller, body: dict[str, Any]) -> Query:
        model = _model(body)
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
            for i, item in enumerate(raw):
                if not isinstance(item, dict):
                    raise ApiError(400, f"'input[{i}]' must be an object", param=f"input[{i}]", code="invalid_type")
                kind = item.get("type", "message")
                if kind == "message":
                    content = item.get("content")
                    if isinstance(content, list):
                        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
                    messages.append({"role": item.get("role"), "content": content})
                elif kind == "function_call":
                    messages.append({"role": "assistant", "content": None, "tool_calls": [{
                        "id": item.get("call_id"), "type": "function",
                        "function": {"name": item.get("name"), "arguments": item.get("arguments", "{}")}}]})
                elif kind == "function_call_output":
                    messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                                     "content": item.get("output")})
                else:
                    raise ApiError(400, f"input items of type '{kind}' are not supported", param=f"input[{i}].type",
                                   code="unsupported_value")
        else:
            raise ApiError(400, "'input' must be a string or an array of items", param="input", code="invalid_value")
        params = {k: body[k] for k in ("temperature", "top_p", "user") if body.get(k) is not None}
        if body.get("max_output_tokens"):
            params["max_tokens"] = body["max_output_tokens"]
        if body.get("tools"):
            params["tools"] = [{"type": "function", "function": {
                "name": t.get("name"), "description": t.get("description", ""), "parameters": t.get("parameters")}}
                for t in body["tools"] if t.get("type") == "function"]
        return self._query(caller, model, _messages(messages, "input"), _params(params))

    def _response(self, caller: Caller, body: dict[str, Any], created: int,
                  outcome: Outcome | None) -> dict[str, Any]:
        rid = caller.request_id
        output: list[dict[str, Any]] = []
        status = "in_progress"
        if outcome is not None:
            status = "incomplete" if outcome.kind == "refused" or outcome.finish_reason == "length" else "completed"
            if outcome.answer:
                output.append({"type": "message", "id": f"msg_{rid}", "status": "completed", "role": "assistant",
                               "content": [{"type": "output_text", "text": outcome.answer, "annotations": []}]})
            output += [{"type": "function_call", "id": f"fc_{call.get('id')}", "call_id": call.get("id"),
                        "name": call["function"]["name"], "arguments": call["function"]["arguments"],
                        "status": "completed"} for call in outcome.tool_calls]
        usage = outcome.usage if outcome else Usage()
        incomplete = None
        if status == "incomplete" and outcome is not None:
            incomplete = {"reason": "content_filter" if outcome.kind == "refused" else "max_output_tokens"}
        return {
            "id": f"resp_{rid}", "object": "response", "created_at": created, "status": status, "model": body["model"],
            "output": output, "error": None, "incomplete_details": incomplete,
            "instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
            "parallel_tool_calls": True, "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "max_output_tokens": body.get("max_output_tokens"), "text": {"format": {"type": "text"}},
            "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
                      "total_tokens": usage.total_tokens, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}} if outcome else None}

    async def responses(self, request: Request, caller: Caller) -> Response:
        body = await read_json_object(request, self.settings.max_body_bytes)
        query = self._responses_query(caller, body)
        created = int(time.time())
        if not _flag(body, "stream"):
            outcome = await self._answer(caller, query, "input")
            return JSONResponse(self._response(caller, body, created, outcome))

        _, items = await self._stream(caller, query, "input")
        item_id = f"msg_{caller.request_id}"
        sequence = iter(range(1_000_000))

        def event(kind: str, **fields: Any) -> str:
            return _sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

        def events() -> Iterator[str]:
            started = self._response(caller, body, created, None)
            yield event("response.created", response=started)
            yield event("response.in_progress", response=started)
            place = {"item_id": item_id, "output_index": 0, "content_index": 0}
            yield event("response.output_item.added", output_index=0, item={
                "type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []})
            yield event("response.content_part.added", **place, part={"type": "output_text", "text": "",
                                                                      "annotations": []})
            text, final = [], None
            try:
                for item in items:
                    if isinstance(item, Outcome):
                        final = item
                    elif item.text:
                        text.append(item.text)
                        yield event("response.output_text.delta", **place, delta=item.text, logprobs=[])
            except Exception as exc:
                error = self._in_band(exc, caller)["error"]
                yield event("error", code=error["code"], message=error["message"], param=error["param"])
                return
            final = final or Outcome(caller.request_id, "answered")
            self.describe(final, caller)
            done_text = "".join(text)
            part = {"type": "output_text", "text": done_text, "annotations": []}
            yield event("response.output_text.done", **place, text=done_text, logprobs=[])
            yield event("response.content_part.done", **place, part=part)
            yield event("response.output_item.done", output_index=0, item={
                "type": "message", "id": item_id, "status": "completed", "role": "assistant", "content": [part]})
            response = self._response(caller, body, created, final)
            message = {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
                       "content": [part]}
            response["output"] = [message, *(o for o in response["output"] if o["type"] != "message")]
            kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
            yield event(kind, response=response)

        return StreamingResponse(events(), media_type="text/event-stream", headers={**SSE_HEADERS, **caller.headers})

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
        model, raw = _model(body), body.get("input")
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
        embeddings, served, admission = await run_in_threadpool(
            lambda: self.pipeline.embed(caller.tenant_id, model, inputs, quotas=caller.quotas,
                                        allowed_models=caller.allowed_models))
        caller.headers |= {"x-gateway-provider": served.provider, "x-gateway-model": served.model,
                           **(admission.headers() if admission else {})}

        def encode(vector: list[float]) -> list[float] | str:
            return base64.b64encode(array("f", vector).tobytes()).decode() if encoding == "base64" else vector

        return JSONResponse({
            "object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": encode(v)}
                     for i, v in enumerate(embeddings.vectors)],
            "usage": {"prompt_tokens": embeddings.usage.prompt_tokens, "total_tokens": embeddings.usage.total_tokens}})
