"""The model behind one interface (DESIGN.md section 5).

``LLM_MODE=local`` answers from a JSONL file (``step``, ``pattern``, ``response``; first match wins)
so every run is deterministic; ``LLM_MODE=bedrock`` calls Amazon Bedrock.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from typing import Any, Protocol

import boto3

from llm_gateway.core.settings import Settings

LOCAL_EMBED_DIM = 64


class LLMError(RuntimeError):
    """The model (or its stand-in) failed; the caller decides whether that is retryable."""


def estimate_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer counts (words and punctuation), for models that report no usage."""
    return len(re.findall(r"\w+|[^\w\s]", text))


class LLMClient(Protocol):
    model_id: str

    def classify(self, text: str, *, rubric: str) -> dict[str, Any]: ...

    def embed(self, text: str) -> list[float]: ...

    def generate(self, prompt: str, *, system: str = "") -> str: ...

    def judge(self, *, query: str, response: str, rubric: str) -> dict[str, Any]: ...


class LocalLLMClient:
    """Pre-written answers from JSONL files, for tests and the local runner.

    ``answers_path`` may name several files separated by ``os.pathsep``; earlier files win, so a
    test can put its own entries in front of the shipped defaults. A response holding ``error``
    raises ``LLMError``: that is how a failing model is rehearsed.
    """

    model_id = "local-jsonl"

    def __init__(self, answers_path: str) -> None:
        self._rules: dict[str, list[tuple[re.Pattern[str], Any]]] = {}
        for path in answers_path.split(os.pathsep):
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    entry = json.loads(line)
                    self._rules.setdefault(entry["step"], []).append(
                        (re.compile(entry["pattern"]), entry["response"])
                    )

    def _answer(self, step: str, text: str) -> Any:
        for pattern, response in self._rules.get(step, ()):
            if pattern.search(text):
                if isinstance(response, dict) and "error" in response:
                    raise LLMError(f"{step}: {response['error']}")
                return response
        return None

    def classify(self, text: str, *, rubric: str) -> dict[str, Any]:
        return self._answer(rubric, text) or {"flagged": False, "reason": None}

    def embed(self, text: str) -> list[float]:
        answer = self._answer("embed", text)
        return list(answer["vector"]) if answer else hashed_embedding(text)

    def generate(self, prompt: str, *, system: str = "") -> str:
        answer = self._answer("generate", prompt)
        if answer is None:
            raise LLMError("generate: no local answer matches the prompt")
        return str(answer["text"])

    def judge(self, *, query: str, response: str, rubric: str) -> dict[str, Any]:
        answer = self._answer("judge", query)
        if answer is None:
            raise LLMError("judge: no local answer matches the question")
        return {"score": float(answer["score"]), "rubric": answer.get("rubric", rubric)}


def hashed_embedding(text: str, dim: int = LOCAL_EMBED_DIM) -> list[float]:
    """A deterministic bag-of-words vector for text no answers-file entry pins down, so unrelated
    questions stay far apart and share-most-words questions land close."""
    vector = [0.0] * dim
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest[:2], "big") % dim] += 1.0 if digest[2] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


JUDGE_PROMPT = (
    "Grade how well the answer serves the question ({rubric}). Reply with JSON only: "
    '{{"score": <number 0..1>, "rubric": "{rubric}"}}.\n\nQuestion:\n{query}\n\nAnswer:\n{response}'
)
CLASSIFY_PROMPT = (
    "You are a safety classifier ({rubric}). Reply with JSON only: "
    '{{"flagged": true|false, "reason": "<short snake_case reason or null>"}}.\n\nText:\n{text}'
)


class BedrockLLMClient:
    """Amazon Bedrock: Converse for text, Titan (or Cohere) for embeddings."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.model_id = settings.model_id
        self._embed_model = settings.embed_model_id
        self._judge_model = settings.judge_model_id
        self._max_tokens = settings.max_output_tokens
        self._client = client or boto3.client("bedrock-runtime")

    def _converse(self, model_id: str, prompt: str, system: str = "", max_tokens: int | None = None) -> str:
        request: dict[str, Any] = {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens or self._max_tokens},
        }
        if system:
            request["system"] = [{"text": system}]
        try:
            reply = self._client.converse(**request)
        except Exception as exc:  # botocore raises many types; the pipeline needs one
            raise LLMError(f"bedrock converse failed: {exc}") from exc
        blocks = reply["output"]["message"]["content"]
        return "".join(block.get("text", "") for block in blocks)

    def generate(self, prompt: str, *, system: str = "") -> str:
        return self._converse(self.model_id, prompt, system)

    def embed(self, text: str) -> list[float]:
        body = (
            {"texts": [text], "input_type": "search_query"}
            if self._embed_model.startswith("cohere.")
            else {"inputText": text}
        )
        try:
            reply = self._client.invoke_model(modelId=self._embed_model, body=json.dumps(body))
        except Exception as exc:
            raise LLMError(f"bedrock embedding failed: {exc}") from exc
        payload = json.loads(reply["body"].read())
        vector = payload["embeddings"][0] if "embeddings" in payload else payload["embedding"]
        return [float(x) for x in vector]

    def classify(self, text: str, *, rubric: str) -> dict[str, Any]:
        prompt = CLASSIFY_PROMPT.format(rubric=rubric, text=text)
        verdict = _json_object(self._converse(self._judge_model, prompt, max_tokens=100))
        return {"flagged": bool(verdict.get("flagged")), "reason": verdict.get("reason")}

    def judge(self, *, query: str, response: str, rubric: str) -> dict[str, Any]:
        prompt = JUDGE_PROMPT.format(rubric=rubric, query=query, response=response)
        verdict = _json_object(self._converse(self._judge_model, prompt, max_tokens=100))
        score = min(1.0, max(0.0, float(verdict["score"])))
        return {"score": score, "rubric": str(verdict.get("rubric") or rubric)}


def _json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's reply (models like to wrap JSON in prose)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise LLMError(f"model did not reply with JSON: {text[:200]!r}")
    try:
        value = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise LLMError(f"model replied with malformed JSON: {text[:200]!r}") from exc
    if not isinstance(value, dict):
        raise LLMError("model replied with JSON that is not an object")
    return value


def get_client(settings: Settings) -> LLMClient:
    if settings.llm_mode == "local":
        return LocalLLMClient(settings.answers_path)
    if settings.llm_mode == "bedrock":
        return BedrockLLMClient(settings)
    raise ValueError(f"unknown LLM_MODE: {settings.llm_mode!r}")
