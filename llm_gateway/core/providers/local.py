"""The JSONL model stand-in as a provider (``LLM_MODE=local``): it streams its answer token by token."""

from __future__ import annotations

import re
from collections.abc import Iterator

from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings, Usage, text_of
from llm_gateway.core.llm import LocalLLMClient, estimate_tokens


class LocalProvider:
    label, model_label = "local", LocalLLMClient.model_id  # what answered, whatever the route says

    def __init__(self, client: LocalLLMClient) -> None:
        self.client = client

    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult:
        last_user = next((text_of(m.get("content")) for m in reversed(request.messages) if m["role"] == "user"), "")
        system = "\n".join(text_of(m.get("content")) for m in request.messages if m["role"] == "system")
        text, finish = self.client.generate(last_user, system=system), "stop"
        prompt_tokens = sum(estimate_tokens(text_of(m.get("content"))) for m in request.messages)
        if request.max_tokens and estimate_tokens(text) > request.max_tokens:
            text, finish = "".join(re.findall(r"\S+\s*", text)[: request.max_tokens]), "length"
        return ChatResult(text, finish, usage=Usage(prompt_tokens, estimate_tokens(text)))

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]:
        result = self.complete(request, model, key, timeout)
        for token in re.findall(r"\S+\s*|\s+", result.text):
            yield Delta(text=token)
        yield Delta(finish_reason=result.finish_reason)
        yield Delta(usage=result.usage)

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings:
        return Embeddings([self.client.embed(text) for text in inputs],
                          Usage(prompt_tokens=sum(estimate_tokens(t) for t in inputs)))
