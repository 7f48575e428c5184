"""Amazon Bedrock: Converse and ConverseStream for chat, Titan or Cohere for embeddings, Nova Canvas
or Titan Image Generator for images."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from llm_gateway.core import aws
from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, UpstreamError, Usage, text_of
from llm_gateway.core.media import IMAGE_SIZE, MediaRequest, MediaResult

STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                "guardrail_intervened": "content_filter", "content_filtered": "content_filter"}
ERROR_STATUS = {"ThrottlingException": 429, "ServiceQuotaExceededException": 429, "ValidationException": 400,
                "AccessDeniedException": 403, "ResourceNotFoundException": 404, "ModelTimeoutException": 504,
                "ModelNotReadyException": 503, "ServiceUnavailableException": 503, "InternalServerException": 500,
                "ModelErrorException": 502}


def to_converse(request: ChatRequest, model: str) -> dict[str, Any]:
    system = [{"text": text_of(m.get("content"))} for m in request.messages if m["role"] in ("system", "developer")]
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m["role"] in ("system", "developer"):
            continue
        if m["role"] == "tool":
            result = {"toolResult": {"toolUseId": m.get("tool_call_id", ""),
                                     "content": [{"text": text_of(m.get("content"))}]}}
            messages.append({"role": "user", "content": [result]})
            continue
        content: list[dict[str, Any]] = [{"text": text_of(m.get("content"))}] if text_of(m.get("content")) else []
        for call in m.get("tool_calls") or []:
            fn = call.get("function", {})
            content.append({"toolUse": {"toolUseId": call.get("id", ""), "name": fn.get("name", ""),
                                        "input": json.loads(fn.get("arguments") or "{}")}})
        role = "assistant" if m["role"] == "assistant" else "user"
        if messages and messages[-1]["role"] == role:  # Converse wants turns to alternate
            messages[-1]["content"].extend(content)
        else:
            messages.append({"role": role, "content": content})
    p = request.params
    config: dict[str, Any] = {"maxTokens": request.max_tokens or 1024}
    if "temperature" in p:
        config["temperature"] = p["temperature"]
    if "top_p" in p:
        config["topP"] = p["top_p"]
    if p.get("stop"):
        config["stopSequences"] = [p["stop"]] if isinstance(p["stop"], str) else p["stop"]
    body: dict[str, Any] = {"modelId": model, "messages": messages, "inferenceConfig": config}
    if system:
        body["system"] = system
    if p.get("tools"):
        tools = [{"toolSpec": {"name": t["function"]["name"], "description": t["function"].get("description") or "-",
                               "inputSchema": {"json": t["function"].get("parameters") or {"type": "object"}}}}
                 for t in p["tools"] if t.get("type") == "function"]
        body["toolConfig"] = {"tools": tools}
    return body


def _upstream(exc: Exception) -> UpstreamError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = ERROR_STATUS.get(code, int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 502)))
        return UpstreamError(status, f"bedrock {code}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, ReadTimeoutError):
        return UpstreamError(504, "bedrock timed out")
    return UpstreamError(502, f"bedrock call failed: {exc}")


def _stream_delta(event: dict[str, Any], calls: int) -> Delta | None:
    """One ConverseStream event as a delta; ``calls`` tool calls have started so far."""
    if "toolUse" in event.get("contentBlockStart", {}).get("start", {}):
        use = event["contentBlockStart"]["start"]["toolUse"]
        return Delta(tool_calls=[{"index": calls, "id": use["toolUseId"], "type": "function",
                                  "function": {"name": use["name"], "arguments": ""}}])
    if "contentBlockDelta" in event:
        delta = event["contentBlockDelta"]["delta"]
        if "toolUse" in delta:
            return Delta(tool_calls=[{"index": calls - 1, "function": {"arguments": delta["toolUse"]["input"]}}])
        return Delta(text=delta["text"]) if "text" in delta else None
    if "messageStop" in event:
        return Delta(finish_reason=STOP_REASONS.get(event["messageStop"].get("stopReason", ""), "stop"))
    if "metadata" in event:
        return Delta(usage=_usage(event["metadata"].get("usage", {})))
    for name, value in event.items():
        if name.endswith("Exception"):
            raise UpstreamError(ERROR_STATUS.get(name, 502), f"bedrock {name}: {value.get('message')}")
    return None


class BedrockProvider:
    """``guardrail`` (id, version): streams are guarded by Bedrock itself in ``sync`` mode, so PII it
    anonymises never reaches the client (the gateway's own checks cannot take back sent tokens)."""

    def __init__(self, client: Any = None, guardrail: tuple[str, str] | None = None) -> None:
        self._client, self._guardrail = client, guardrail
        self._clients: dict[float, Any] = {}

    def _for(self, timeout: float) -> Any:
        if self._client is not None:
            return self._client
        if timeout not in self._clients:  # the timeout is client configuration in botocore
            self._clients[timeout] = aws.client("bedrock-runtime", read_timeout=timeout,
                                                connect_timeout=min(timeout, 5), retries={"max_attempts": 1})
        return self._clients[timeout]

    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult:
        try:
            reply = self._for(timeout).converse(**to_converse(request, model))
        except (ClientError, BotoCoreError) as exc:
            raise _upstream(exc) from exc
        text, calls = [], []
        for block in reply["output"]["message"]["content"]:
            if "text" in block:
                text.append(block["text"])
            elif "toolUse" in block:
                use = block["toolUse"]
                calls.append({"id": use["toolUseId"], "type": "function",
                              "function": {"name": use["name"], "arguments": json.dumps(use.get("input", {}))}})
        return ChatResult("".join(text), STOP_REASONS.get(reply.get("stopReason", ""), "stop"), calls,
                          _usage(reply.get("usage", {})))

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]:
        body = to_converse(request, model)
        if self._guardrail:
            body["guardrailConfig"] = {"guardrailIdentifier": self._guardrail[0],
                                       "guardrailVersion": self._guardrail[1], "streamProcessingMode": "sync"}
        try:
            events = self._for(timeout).converse_stream(**body)["stream"]
        except (ClientError, BotoCoreError) as exc:
            raise _upstream(exc) from exc
        calls = 0
        try:
            for event in events:
                delta = _stream_delta(event, calls)
                if delta is not None:
                    calls += sum(1 for call in delta.tool_calls if "id" in call)
                    yield delta
        except (ClientError, BotoCoreError) as exc:
            raise _upstream(exc) from exc

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings:
        client, vectors, tokens = self._for(timeout), [], 0
        try:
            if model.startswith("cohere."):
                reply = json.loads(client.invoke_model(modelId=model, body=json.dumps(
                    {"texts": inputs, "input_type": "search_document"}))["body"].read())
                return Embeddings([list(map(float, v)) for v in reply["embeddings"]])
            for text in inputs:  # Titan embeds one text per call
                raw = client.invoke_model(modelId=model, body=json.dumps({"inputText": text}))["body"].read()
                reply = json.loads(raw)
                vectors.append(list(map(float, reply["embedding"])))
                tokens += int(reply.get("inputTextTokenCount", 0))
        except (ClientError, BotoCoreError) as exc:
            raise _upstream(exc) from exc
        return Embeddings(vectors, Usage(prompt_tokens=tokens))

    def media(self, request: MediaRequest, model: str, key: str | None, timeout: float) -> MediaResult:
        """Images from Amazon Nova Canvas or Titan Image Generator (their shared TEXT_IMAGE task),
        in OpenAI's image reply shape; Bedrock has no OpenAI-style audio models."""
        if request.operation != "images":
            raise UpstreamError(400, f"bedrock targets serve no audio/{request.operation}: route this alias to an "
                                     "OpenAI-style target")
        fields = request.fields
        width, height = (int(x) for x in str(fields.get("size") or IMAGE_SIZE).replace("auto", IMAGE_SIZE).split("x"))
        quality = "premium" if fields.get("quality") in ("hd", "high") else "standard"
        body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": request.text},
                "imageGenerationConfig": {"numberOfImages": int(fields.get("n") or 1), "width": width,
                                          "height": height, "quality": quality}}
        try:
            reply = json.loads(self._for(timeout).invoke_model(modelId=model, body=json.dumps(body))["body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise _upstream(exc) from exc
        if reply.get("error") or not reply.get("images"):
            raise UpstreamError(400 if reply.get("error") else 502,
                                f"bedrock image: {reply.get('error') or 'no images'}")
        url = fields.get("response_format") != "b64_json"
        data = [{"url": f"data:image/png;base64,{image}"} if url else {"b64_json": image} for image in reply["images"]]
        return MediaResult(json.dumps({"created": int(time.time()), "data": data}).encode(), "application/json",
                           units=len(data))


def _usage(usage: dict[str, Any]) -> Usage:
    """Converse's usage: input tokens apart from the prompt cache's writes and reads."""
    return Usage.split(int(usage.get("inputTokens", 0)), int(usage.get("cacheWriteInputTokens") or 0),
                       int(usage.get("cacheReadInputTokens") or 0), int(usage.get("outputTokens", 0)))
