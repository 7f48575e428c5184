"""OpenAI's wire formats, one renderer each, shared by every door that speaks them: the chat
completion object and its SSE chunks (ending ``data: [DONE]``), the Responses object and its event
sequence. A stream that breaks after its first byte ends with an in-band error and no ending, so it
never looks complete."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llm_gateway.api.answering import in_band
from llm_gateway.core.chat import Usage
from llm_gateway.core.pipeline import Outcome, Stream

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
Done = Callable[[Outcome], None]  # told the final outcome, before the stream's last events


def sse(data: dict[str, Any] | str, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


@dataclass(frozen=True)
class Chat:
    """One chat completion's identity: ``chatcmpl-<request id>``, the model asked for, when."""

    request_id: str
    model: str
    created: int

    def completion(self, outcome: Outcome) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": outcome.answer or None, "refusal": None}
        if outcome.tool_calls:
            message["tool_calls"] = outcome.tool_calls
        return {"id": f"chatcmpl-{self.request_id}", "object": "chat.completion", "created": self.created,
                "model": self.model, "usage": outcome.usage.as_openai(),
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": outcome.finish_reason}]}

    def chunks(self, stream: Stream, *, include_usage: bool, done: Done) -> Iterator[str]:
        base: dict[str, Any] = {"id": f"chatcmpl-{self.request_id}", "object": "chat.completion.chunk",
                                "created": self.created, "model": self.model}
        if include_usage:  # as OpenAI does: every chunk but the last carries "usage": null
            base["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return sse({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

        yield chunk({"role": "assistant", "content": ""})
        try:
            for delta in stream:
                if delta.text or delta.tool_calls:
                    yield chunk({"content": delta.text} if delta.text else {"tool_calls": delta.tool_calls})
        except Exception as exc:
            yield sse(in_band(exc).openai_body())
            return
        final = stream.outcome or stream.head
        done(final)
        yield chunk({}, final.finish_reason)
        if include_usage:
            yield sse({**base, "choices": [], "usage": final.usage.as_openai()})
        yield sse("[DONE]")


@dataclass(frozen=True)
class Response:
    """One Responses API response: ``resp_<request id>``, echoing the request's settings."""

    request_id: str
    body: dict[str, Any]
    created: int

    @property
    def message_id(self) -> str:
        return f"msg_{self.request_id}"

    def object(self, outcome: Outcome | None) -> dict[str, Any]:
        body, output, status, incomplete = self.body, [], "in_progress", None
        if outcome is not None:
            status = "incomplete" if outcome.kind == "refused" or outcome.finish_reason == "length" else "completed"
            if outcome.answer:
                output.append(self._message(outcome.answer))
            output += [{"type": "function_call", "id": f"fc_{call.get('id')}", "call_id": call.get("id"),
                        "name": call["function"]["name"], "arguments": call["function"]["arguments"],
                        "status": "completed"} for call in outcome.tool_calls]
            if status == "incomplete":
                incomplete = {"reason": "content_filter" if outcome.kind == "refused" else "max_output_tokens"}
        usage = outcome.usage if outcome else Usage()
        return {
            "id": f"resp_{self.request_id}", "object": "response", "created_at": self.created, "status": status,
            "model": body["model"], "output": output, "error": None, "incomplete_details": incomplete,
            "instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
            "parallel_tool_calls": True, "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "max_output_tokens": body.get("max_output_tokens"), "text": {"format": {"type": "text"}},
            **({"usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
                          "total_tokens": usage.total_tokens,
                          "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": 0}}} if outcome else {})}

    def _message(self, text: str, status: str = "completed") -> dict[str, Any]:
        content = ([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
                   if status == "completed" else [])
        return {"type": "message", "id": self.message_id, "status": status, "role": "assistant", "content": content}

    def events(self, stream: Stream, *, done: Done) -> Iterator[str]:
        sequence = iter(range(1_000_000))

        def event(kind: str, **fields: Any) -> str:
            return sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

        started = self.object(None)
        yield event("response.created", response=started)
        yield event("response.in_progress", response=started)
        place = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
        yield event("response.output_item.added", output_index=0, item=self._message("", "in_progress"))
        yield event("response.content_part.added", **place, part={"type": "output_text", "text": "",
                                                                  "annotations": [], "logprobs": []})
        text = []
        try:
            for delta in stream:
                if delta.text:
                    text.append(delta.text)
                    yield event("response.output_text.delta", **place, delta=delta.text, logprobs=[])
        except Exception as exc:
            error = in_band(exc)
            yield event("error", code=error.code, message=error.message, param=error.param)
            return
        final = stream.outcome or stream.head
        done(final)
        message = self._message("".join(text))
        yield event("response.output_text.done", **place, text=message["content"][0]["text"], logprobs=[])
        yield event("response.content_part.done", **place, part=message["content"][0])
        yield event("response.output_item.done", output_index=0, item=message)
        response = self.object(final)
        response["output"] = [message, *(o for o in response["output"] if o["type"] != "message")]
        kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        yield event(kind, response=response)
