"""The gateway's own model calls: embeddings for the cache, guardrail classification, judging.

Each is a task on a route (the ``embed`` and ``judge`` aliases by default, overridable like any
route), so it gets the router's retries, fallbacks, cooldowns and key pools like a client's call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llm_gateway.contract import Route
from llm_gateway.core.cache import Embedding
from llm_gateway.core.chat import ChatRequest, UpstreamError
from llm_gateway.core.routing import Router

JUDGE_PROMPT = (
    "Grade how well the answer serves the question ({rubric}). Reply with JSON only: "
    '{{"score": <number 0..1>, "rubric": "{rubric}"}}.\n\nQuestion:\n{query}\n\nAnswer:\n{response}'
)
CLASSIFY_PROMPT = (
    "You are a safety classifier ({rubric}). Reply with JSON only: "
    '{{"flagged": true|false, "reason": "<short snake_case reason or null>"}}.\n\nText:\n{text}'
)
VERIFY_PROMPT = (
    "Would one correct answer serve both questions equally well? Questions that differ in an operation, "
    "a direction, a name, a number or a negation need different answers. Reply with JSON only: "
    '{{"same": true|false}}.\n\nQuestion A:\n{question}\n\nQuestion B:\n{cached}'
)
VERDICT_TOKENS = 100


@dataclass
class ModelTasks:
    router: Router
    embed_alias: str = "embed"
    judge_alias: str = "judge"

    def _route(self, alias: str) -> Route:
        route = self.router.routes.get(alias)
        if route is None:
            raise UpstreamError(503, f"no enabled route for the gateway's task alias {alias!r}")
        return route

    def embed(self, text: str) -> Embedding:
        embeddings, served = self.router.embed(self._route(self.embed_alias), [text])
        return Embedding(embeddings.vectors[0], embeddings.model or served.model)

    def same_question(self, question: str, cached: str) -> bool:
        """Whether a cached answer to ``cached`` answers ``question`` (a route's ``cache_verify:
        model``); anything but a clear yes is a no."""
        verdict = self._verdict("cache_verify", question, VERIFY_PROMPT.format(question=question, cached=cached))
        return verdict.get("same") is True

    def _verdict(self, task: str, subject: str, prompt: str) -> dict[str, Any]:
        request = ChatRequest([{"role": "user", "content": prompt}], {"max_tokens": VERDICT_TOKENS},
                              task=task, subject=subject)
        result, _ = self.router.complete(self._route(self.judge_alias), request)
        return json_object(result.text)

    def classify(self, text: str, *, rubric: str) -> dict[str, Any]:
        verdict = self._verdict(rubric, text, CLASSIFY_PROMPT.format(rubric=rubric, text=text))
        return {"flagged": bool(verdict.get("flagged")), "reason": verdict.get("reason")}

    def judge(self, *, query: str, response: str, rubric: str) -> dict[str, Any]:
        verdict = self._verdict("judge", query, JUDGE_PROMPT.format(rubric=rubric, query=query, response=response))
        try:
            score = min(1.0, max(0.0, float(verdict["score"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(502, f"the judge gave no score: {verdict!r}"[:300]) from exc
        return {"score": score, "rubric": str(verdict.get("rubric") or rubric)}


def json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a model's reply (models like to wrap JSON in prose)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        value = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(502, f"the model did not reply with a JSON object: {text[:200]!r}")
    return value
