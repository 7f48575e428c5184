"""The gateway's canonical chat shapes (OpenAI's), which every provider translates to and from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# Request fields passed through to providers that speak OpenAI's wire format.
PASSTHROUGH = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "tools",
               "tool_choice", "parallel_tool_calls", "response_format", "presence_penalty",
               "frequency_penalty", "logit_bias", "user", "n")


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)  # the PASSTHROUGH fields the client sent
    # ``chat`` for a client's request; the gateway's own tasks (``judge``, ``guardrail_input``, ...)
    # name themselves and what they are about, for accounting and for the local stand-in.
    task: str = "chat"
    subject: str = ""

    @property
    def max_tokens(self) -> int | None:
        value = self.params.get("max_completion_tokens") or self.params.get("max_tokens")
        return int(value) if value else None

    @property
    def uses_tools(self) -> bool:
        return bool(self.params.get("tools")) or any(
            m.get("role") == "tool" or m.get("tool_calls") for m in self.messages)


@dataclass(frozen=True)
class Usage:
    """Tokens as OpenAI counts them: ``prompt_tokens`` includes the ``cached_tokens`` the provider
    read from its own prompt cache."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def split(cls, uncached: int, cache_written: int, cache_read: int, completion: int) -> Usage:
        """Anthropic's and Bedrock's count: input tokens apart from the cache's writes and reads."""
        return cls(uncached + cache_written + cache_read, completion, cache_read)

    def as_openai(self) -> dict[str, Any]:
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                                 "total_tokens": self.total_tokens}
        if self.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


@dataclass(frozen=True)
class ChatResult:
    text: str
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Delta:
    """One streamed piece: text, tool-call fragments (OpenAI's delta shape), an end, or usage."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    model: str = ""  # the model that embedded, where it is not the one asked for (the local stand-in)


class UpstreamError(Exception):
    """A provider call failed. ``retryable``: worth retrying on the same target (429, 5xx, timeout);
    ``fallback``: worth trying another target (everything but a request the provider rejected)."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None,
                 provider: str = "") -> None:
        super().__init__(message)  # the detail, for logs: may hold the upstream's own words
        self.status, self.retry_after, self.provider = status, retry_after, provider

    @property
    def retryable(self) -> bool:
        return self.status in (408, 409, 429) or self.status >= 500

    @property
    def fallback(self) -> bool:
        return self.status not in (400, 413, 422)


class StreamBroken(Exception):
    """The upstream stream failed after the first byte reached the client: no fallback is possible."""


def estimate_tokens(messages: Sequence[dict[str, Any]], max_tokens: int) -> int:
    """A request's tokens before it runs, for quota reservation: a token per three characters sent
    (English averages about four, code and most other languages fewer: an estimate that errs high
    is given back at settlement, one that errs low lets concurrent requests overrun), plus every
    token it may get back."""
    return sum(len(text_of(m.get("content"))) for m in messages) // 3 + 1 + max_tokens


def text_of(content: Any) -> str:
    """OpenAI message content (a string, or parts) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def collect(deltas: Iterator[Delta]) -> ChatResult:
    """A stream folded into one result (how a buffered request is served from a streaming source)."""
    text, finish, usage = [], "stop", Usage()
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas:
        text.append(delta.text)
        for call in delta.tool_calls:
            slot = calls.setdefault(call.get("index", 0), {"id": "", "type": "function",
                                                            "function": {"name": "", "arguments": ""}})
            slot["id"] = call.get("id") or slot["id"]
            fn = call.get("function", {})
            slot["function"]["name"] += fn.get("name") or ""
            slot["function"]["arguments"] += fn.get("arguments") or ""
        finish = delta.finish_reason or finish
        usage = delta.usage or usage
    return ChatResult("".join(text), finish, [calls[i] for i in sorted(calls)], usage)
