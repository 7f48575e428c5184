"""Fake upstream providers: real HTTP servers on loopback that speak each provider's wire format
(OpenAI chat/completions/embeddings and SSE, Anthropic Messages and its SSE, Bedrock Converse and
its binary event stream), with knobs for failures. Used by the routing tests and the bench."""

from __future__ import annotations

import asyncio
import binascii
import json
import struct
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llm_gateway.local.runner import free_port


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    client: tuple[str, int] | None = None  # the connection it came on


@dataclass
class FakeUpstream:
    """One fake provider account. ``failures``: statuses to answer with, one per request, first;
    ``delay``: seconds before answering; ``break_after``: stream chunks sent before the connection
    drops; ``chunk_delay``: seconds between streamed chunks."""

    name: str = "fake"
    text: str = ""
    failures: list[int] = field(default_factory=list)
    malformed: list[bytes] = field(default_factory=list)  # 200 bodies to answer with, one per request, first
    delay: float = 0.0
    break_after: int | None = None
    chunk_delay: float = 0.0
    no_chat_endpoint: bool = False
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.text = self.text or f"Hello from {self.name}, one token at a time."
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(self._app(), host="127.0.0.1", port=self.port,
                                                     log_level="error", lifespan="off"))

    def start(self) -> FakeUpstream:
        threading.Thread(target=self._server.run, daemon=True).start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True

    def calls(self, path: str | None = None) -> int:
        return len([s for s in self.seen if path is None or s.path == path])

    @property
    def tokens(self) -> list[str]:
        words = self.text.split(" ")
        return [w + " " for w in words[:-1]] + [words[-1]]

    async def _gate(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json() if await request.body() else {}
        client = (request.client.host, request.client.port) if request.client else None
        self.seen.append(Seen(request.url.path, dict(request.headers), body, client=client))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            status = self.failures.pop(0)
            headers = {"retry-after": "1"} if status == 429 else {}
            return body, JSONResponse({"error": {"message": f"{self.name} says {status}", "type": "server_error"}},
                                      status, headers=headers)
        if self.malformed:
            return body, Response(self.malformed.pop(0), 200, media_type="application/json")
        return body, None

    async def _stream(self, frames: list[bytes], media_type: str) -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for i, frame in enumerate(frames):
                if self.break_after is not None and i >= self.break_after:
                    raise ConnectionResetError("the fake upstream dropped the stream")
                yield frame
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)

        return StreamingResponse(gen(), media_type=media_type)

    # -- OpenAI ---------------------------------------------------------------------------------
    async def openai_chat(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        if failed or self.no_chat_endpoint:
            return failed or JSONResponse({"error": {"message": "no chat here"}}, 404)
        usage = {"prompt_tokens": 7, "completion_tokens": len(self.tokens), "total_tokens": 7 + len(self.tokens),
                 "prompt_tokens_details": {"cached_tokens": 4}}  # 4 of the 7 from the provider's prompt cache
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": self.text}
            finish = "stop"
            if body.get("tools"):
                message = {"role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": body["tools"][0]["function"]["name"], "arguments": '{"city": "Paris"}'}}]}
                finish = "tool_calls"
            return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": usage})
        base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        frames: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
        frames += [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in self.tokens]
        frames += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, {"choices": [], "usage": usage}]
        lines = [f"data: {json.dumps({**base, **f})}\n\n".encode() for f in frames] + [b"data: [DONE]\n\n"]
        return await self._stream(lines, "text/event-stream")

    async def openai_completions(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        if failed:
            return failed
        return JSONResponse({"id": "x", "object": "text_completion", "model": body["model"],
                             "choices": [{"index": 0, "text": self.text, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})

    async def openai_embeddings(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        if failed:
            return failed
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse({"object": "list", "model": body["model"], "usage": {"prompt_tokens": 2, "total_tokens": 2},
                             "data": [{"object": "embedding", "index": i, "embedding": [0.1 * (i + 1), 0.2, 0.3]}
                                      for i in range(len(inputs))]})

    # -- Anthropic ------------------------------------------------------------------------------
    async def anthropic_messages(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        if failed:
            return failed
        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
            stop = "end_turn"
            if body.get("tools"):
                content = [{"type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"],
                            "input": {"city": "Paris"}}]
                stop = "tool_use"
            return JSONResponse({"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                 "content": content, "stop_reason": stop,
                                 "usage": {"input_tokens": 9, "cache_read_input_tokens": 5,
                                           "output_tokens": len(self.tokens)}})
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": {"id": "msg_1", "usage": {
                "input_tokens": 9, "cache_read_input_tokens": 5}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
        events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": t}}) for t in self.tokens]
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": len(self.tokens)}}),
                   ("message_stop", {"type": "message_stop"})]
        frames = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
        return await self._stream(frames, "text/event-stream")

    # -- Bedrock --------------------------------------------------------------------------------
    async def bedrock_converse(self, request: Request) -> Response:
        _, failed = await self._gate(request)
        if failed:
            return failed
        return JSONResponse({"output": {"message": {"role": "assistant", "content": [{"text": self.text}]}},
                             "stopReason": "end_turn", "usage": {"inputTokens": 11, "outputTokens": len(self.tokens),
                                                                 "cacheReadInputTokens": 3,
                                                                 "totalTokens": 14 + len(self.tokens)},
                             "metrics": {"latencyMs": 1}})

    async def bedrock_converse_stream(self, request: Request) -> Response:
        _, failed = await self._gate(request)
        if failed:
            return failed
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        events += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in self.tokens]
        events += [("contentBlockStop", {"contentBlockIndex": 0}), ("messageStop", {"stopReason": "end_turn"}),
                   ("metadata", {"usage": {"inputTokens": 11, "outputTokens": len(self.tokens),
                                           "cacheReadInputTokens": 3, "totalTokens": 14 + len(self.tokens)},
                                 "metrics": {"latencyMs": 1}})]
        return await self._stream([event_stream_message(n, d) for n, d in events],
                                  "application/vnd.amazon.eventstream")

    async def bedrock_invoke(self, request: Request) -> Response:
        """InvokeModel for the image models' TEXT_IMAGE task (Nova Canvas, Titan Image Generator)."""
        body, failed = await self._gate(request)
        count = body.get("imageGenerationConfig", {}).get("numberOfImages", 1)
        return failed or JSONResponse({"images": ["aW1hZ2U="] * count})

    # -- OpenAI images and audio ----------------------------------------------------------------
    async def openai_images(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        return failed or JSONResponse({"created": 1, "data": [
            {"b64_json": "aW1hZ2U=", "revised_prompt": body["prompt"]}] * int(body.get("n") or 1)})

    async def openai_speech(self, request: Request) -> Response:
        body, failed = await self._gate(request)
        return failed or Response(b"ID3" + body["input"].encode(), media_type="audio/mpeg")

    async def openai_transcriptions(self, request: Request) -> Response:
        """Multipart, as OpenAI takes it: the form's fields seen, the file as its name and bytes."""
        form = await request.form()
        seen: dict[str, Any] = {}
        for name, part in form.multi_items():
            value = part if isinstance(part, str) else f"{part.filename}:{(await part.read()).decode()}"
            seen[name] = [*seen.get(name, []), value] if name.endswith("[]") else value
        self.seen.append(Seen(request.url.path, dict(request.headers), seen))
        if seen.get("response_format") == "text":
            return Response(self.text, media_type="text/plain")
        return JSONResponse({"text": self.text, "usage": {"type": "duration", "seconds": 90}})

    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.openai_chat, methods=["POST"]),
            Route("/v1/completions", self.openai_completions, methods=["POST"]),
            Route("/v1/embeddings", self.openai_embeddings, methods=["POST"]),
            Route("/v1/images/generations", self.openai_images, methods=["POST"]),
            Route("/v1/audio/speech", self.openai_speech, methods=["POST"]),
            Route("/v1/audio/transcriptions", self.openai_transcriptions, methods=["POST"]),
            Route("/v1/messages", self.anthropic_messages, methods=["POST"]),
            Route("/model/{model:path}/converse", self.bedrock_converse, methods=["POST"]),
            Route("/model/{model:path}/converse-stream", self.bedrock_converse_stream, methods=["POST"]),
            Route("/model/{model:path}/invoke", self.bedrock_invoke, methods=["POST"]),
        ])


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def event_stream_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One frame of the AWS event stream encoding (prelude, headers, payload, CRC32s)."""
    headers = (_header(":event-type", event_type) + _header(":content-type", "application/json")
               + _header(":message-type", "event"))
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)
