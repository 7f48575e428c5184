"""Anthropic's Messages API, translated to and from the gateway's OpenAI shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, UpstreamError, Usage, text_of
from llm_gateway.core.providers._http import loads, open_stream, post_json, sse

VERSION = "2023-06-01"
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "refusal": "content_filter"}


def to_messages(request: ChatRequest, model: str) -> dict[str, Any]:
    system = "\n\n".join(text_of(m.get("content")) for m in request.messages if m["role"] in ("system", "developer"))
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        role = m["role"]
        if role in ("system", "developer"):
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.get("tool_call_id", ""),
                     "content": text_of(m.get("content"))}
            messages.append({"role": "user", "content": [block]})
            continue
        blocks: list[dict[str, Any]] = []
        if text_of(m.get("content")):
            blocks.append({"type": "text", "text": text_of(m.get("content"))})
        for call in m.get("tool_calls") or []:
            fn = call.get("function", {})
            blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": fn.get("name", ""),
                           "input": json.loads(fn.get("arguments") or "{}")})
        messages.append({"role": "assistant" if role == "assistant" else "user", "content": blocks})
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": request.max_tokens or 1024}
    if system:
        body["system"] = system
    p = request.params
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p")):
        if ours in p:
            body[theirs] = p[ours]
    if p.get("stop"):
        body["stop_sequences"] = [p["stop"]] if isinstance(p["stop"], str) else p["stop"]
    if p.get("tools"):
        body["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                          "input_schema": t["function"].get("parameters") or {"type": "object"}}
                         for t in p["tools"] if t.get("type") == "function"]
        choice = p.get("tool_choice")
        if choice == "required":
            body["tool_choice"] = {"type": "any"}
        elif isinstance(choice, dict):
            body["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
    return body


class AnthropicProvider:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"x-api-key": key or "", "anthropic-version": VERSION}

    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult:
        reply = post_json(f"{self.base_url}/v1/messages", to_messages(request, model), self._headers(key), timeout)
        text, calls = [], []
        for block in reply.get("content", []):
            if block.get("type") == "text":
                text.append(block["text"])
            elif block.get("type") == "tool_use":
                calls.append({"id": block["id"], "type": "function",
                              "function": {"name": block["name"], "arguments": json.dumps(block.get("input", {}))}})
        return ChatResult("".join(text), STOP_REASONS.get(reply.get("stop_reason") or "", "stop"), calls,
                          _usage(reply.get("usage", {}), int(reply.get("usage", {}).get("output_tokens", 0))))

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]:
        body = {**to_messages(request, model), "stream": True}
        started: dict[str, Any] = {}
        calls = 0
        with open_stream(f"{self.base_url}/v1/messages", body, self._headers(key), timeout) as events:
            for event, data in sse(events):
                payload = loads(data)
                if event == "error" or payload.get("type") == "error":
                    raise UpstreamError(502, f"upstream stream error: {payload.get('error')}")
                if event == "message_start":
                    started = payload["message"].get("usage", {})
                elif event == "content_block_start" and payload["content_block"].get("type") == "tool_use":
                    block = payload["content_block"]
                    yield Delta(tool_calls=[{"index": calls, "id": block["id"], "type": "function",
                                             "function": {"name": block["name"], "arguments": ""}}])
                    calls += 1
                elif event == "content_block_delta":
                    delta = payload["delta"]
                    if delta.get("type") == "text_delta":
                        yield Delta(text=delta["text"])
                    elif delta.get("type") == "input_json_delta":
                        yield Delta(tool_calls=[{"index": calls - 1,
                                                 "function": {"arguments": delta["partial_json"]}}])
                elif event == "message_delta":
                    output_tokens = int(payload.get("usage", {}).get("output_tokens", 0))
                    yield Delta(finish_reason=STOP_REASONS.get(payload["delta"].get("stop_reason") or "", "stop"),
                                usage=_usage(started, output_tokens))
                elif event == "message_stop":
                    return
        raise UpstreamError(502, "upstream stream ended without message_stop")

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings:
        raise UpstreamError(400, "Anthropic offers no embeddings model")


def _usage(usage: dict[str, Any], output_tokens: int) -> Usage:
    return Usage.split(int(usage.get("input_tokens", 0)), int(usage.get("cache_creation_input_tokens") or 0),
                       int(usage.get("cache_read_input_tokens") or 0), output_tokens)
