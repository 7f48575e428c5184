"""OpenAI, and any server that speaks its API (``openai_compatible:<profile>``: Gemini, vLLM,
Ollama, ...), over chat completions or legacy completions (``endpoint_mode`` chat|completions|auto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llm_gateway.core.chat import PASSTHROUGH, ChatRequest, ChatResult, Delta, Embeddings, UpstreamError, Usage, text_of
from llm_gateway.core.media import MediaRequest, MediaResult, speech_characters, transcript_minutes
from llm_gateway.core.providers._http import loads, open_stream, post, post_json, sse


def _usage(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    details = raw.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return Usage(int(raw.get("prompt_tokens", 0)), int(raw.get("completion_tokens", 0)), cached)


class OpenAIProvider:
    def __init__(self, base_url: str, *, endpoint_mode: str = "chat") -> None:
        if endpoint_mode not in ("chat", "completions", "auto"):
            raise ValueError(f"endpoint_mode must be chat, completions or auto, not {endpoint_mode!r}")
        self.base_url, self.endpoint_mode = base_url.rstrip("/"), endpoint_mode

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _chat_body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        return {"model": model, "messages": request.messages,
                **{k: v for k, v in request.params.items() if k in PASSTHROUGH}}

    def _completions_body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        if request.uses_tools:
            raise UpstreamError(400, "tools need a chat endpoint; this target speaks completions only")
        prompt = "\n".join(f"{m['role']}: {text_of(m.get('content'))}" for m in request.messages) + "\nassistant:"
        params = {k: v for k, v in request.params.items() if k in ("temperature", "top_p", "stop", "seed", "user")}
        return {"model": model, "prompt": prompt, "max_tokens": request.max_tokens or 1024, **params}

    def _modes(self) -> list[str]:
        return ["chat", "completions"] if self.endpoint_mode == "auto" else [self.endpoint_mode]

    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult:
        for mode in self._modes():
            try:
                if mode == "chat":
                    reply = post_json(f"{self.base_url}/chat/completions", self._chat_body(request, model),
                                      self._headers(key), timeout)
                    choice = reply["choices"][0]
                    message = choice.get("message") or {}
                    return ChatResult(text_of(message.get("content")), choice.get("finish_reason") or "stop",
                                      list(message.get("tool_calls") or []), _usage(reply.get("usage")))
                reply = post_json(f"{self.base_url}/completions", self._completions_body(request, model),
                                  self._headers(key), timeout)
                choice = reply["choices"][0]
                return ChatResult(choice.get("text", ""), choice.get("finish_reason") or "stop",
                                  usage=_usage(reply.get("usage")))
            except UpstreamError as exc:
                if not (exc.status == 404 and mode == "chat" and self.endpoint_mode == "auto"):
                    raise
        raise UpstreamError(404, "no endpoint mode worked")

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]:
        mode = "completions" if self.endpoint_mode == "completions" else "chat"
        body = self._chat_body(request, model) if mode == "chat" else self._completions_body(request, model)
        body |= {"stream": True, "stream_options": {"include_usage": True}}
        path = "/chat/completions" if mode == "chat" else "/completions"
        with open_stream(self.base_url + path, body, self._headers(key), timeout) as events:
            for _, data in sse(events):
                if data == "[DONE]":
                    return
                chunk = loads(data)
                if "error" in chunk:
                    raise UpstreamError(502, f"upstream stream error: {chunk['error']}")
                usage = _usage(chunk["usage"]) if chunk.get("usage") else None
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    yield Delta(text=delta.get("content") or choice.get("text") or "",
                                tool_calls=list(delta.get("tool_calls") or []),
                                finish_reason=choice.get("finish_reason"))
                if usage:
                    yield Delta(usage=usage)
        raise UpstreamError(502, "upstream stream ended without [DONE]")

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings:
        reply = post_json(f"{self.base_url}/embeddings", {"model": model, "input": inputs},
                          self._headers(key), timeout)
        rows = sorted(reply["data"], key=lambda row: row["index"])
        return Embeddings([list(map(float, row["embedding"])) for row in rows], _usage(reply.get("usage")))

    def media(self, request: MediaRequest, model: str, key: str | None, timeout: float) -> MediaResult:
        """OpenAI's images and audio endpoints, their replies passed through as they come."""
        headers, fields = self._headers(key), {**request.fields, "model": model}
        if request.operation == "images":
            reply = post_json(f"{self.base_url}/images/generations", fields, headers, timeout)
            if not isinstance(reply.get("data"), list):
                raise UpstreamError(502, "upstream image reply has no data")
            return MediaResult(json.dumps(reply).encode(), "application/json", units=len(reply["data"]))
        if request.operation == "speech":
            response = post(f"{self.base_url}/audio/speech", headers, timeout, json=fields)
            return MediaResult(response.content, response.headers.get("content-type", "audio/mpeg"),
                               units=speech_characters(request))
        form: list[tuple[str, str | tuple[str, bytes]]] = [
            (f"{k}[]", str(x)) if isinstance(v, list) else (k, str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in fields.items() for x in (v if isinstance(v, list) else [v])]  # array fields: name[]
        response = post(f"{self.base_url}/audio/transcriptions", headers, timeout,
                        fields=[*form, ("file", (request.filename, request.audio))])
        content_type = response.headers.get("content-type", "application/json")
        reply = loads(response.text) if content_type.startswith("application/json") else {}
        return MediaResult(response.content, content_type, units=transcript_minutes(reply, request.audio))
