"""What the constructs and the runtime agree on, in one dependency-free module.

The constructs import this (never the runtime modules, which need boto3), so a CDK app that
``pip install``s the package synthesizes without the Lambda dependencies, and a value that both
sides use (a provider name, an event name, a default model) is written once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Powertools service names, which are also the metrics' ``service`` dimension.
GATEWAY_SERVICE = "llm-gateway"
AUTHORIZER_SERVICE = "llm-gateway-authorizer"
JUDGE_SERVICE = "llm-gateway-judge"
METRICS_NAMESPACE = "LLMGateway"
# Metrics the gateway emits (EMF) that operators watch; per outcome it also emits Outcome_<kind>.
METRIC_CACHE_HITS = "Outcome_cached"
METRIC_GUARDRAIL_BLOCKS = "GuardrailBlocks"  # input blocked or answer refused
METRIC_RATE_LIMITED = "RateLimited"  # answered 429: a quota was spent
METRIC_JUDGE_SCORE = "JudgeScore"
EVENT_SOURCE = "llm-gateway"
ANSWER_EVENT = "answer.generated"

DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
DEFAULT_EMBED_MODEL_ID = "amazon.titan-embed-text-v2:0"

# ``builtin``: the rule engine shipped in the package; ``bedrock``: ApplyGuardrail.
GUARDRAIL_BACKENDS = ("builtin", "bedrock")
LLM_MODES = ("bedrock", "local")
PROVIDERS = ("bedrock", "openai", "anthropic", "local")
COMPATIBLE = "openai_compatible:"  # + a profile name: any OpenAI-compatible server
STRATEGIES = ("weighted", "cost")


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(choices)}")
    return value


def check_provider(provider: str) -> str:
    if provider.startswith(COMPATIBLE) and re.fullmatch(r"[A-Za-z0-9_-]+", provider[len(COMPATIBLE):]):
        return provider
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: expected one of {', '.join(PROVIDERS)} "
                         f"or {COMPATIBLE}<profile>")
    return provider


def env_prefix(provider: str) -> str:
    """openai -> OPENAI, anthropic -> ANTHROPIC, openai_compatible:gemini -> OPENAI_COMPAT_GEMINI."""
    if provider.startswith(COMPATIBLE):
        provider = "openai_compat_" + provider.split(":", 1)[1]
    return re.sub(r"[^A-Z0-9]", "_", provider.upper())


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    weight: float = 1.0
    key_id: str | None = None
    input_price: float = 0.0  # USD per million tokens, for the cost strategy
    output_price: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}" + (f"#{self.key_id}" if self.key_id else "")

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Target:
        return cls(provider=check_provider(str(raw["provider"])), model=str(raw["model"]),
                   weight=float(raw.get("weight", 1)), key_id=raw.get("key_id"),
                   input_price=float(raw.get("input_price", 0)), output_price=float(raw.get("output_price", 0)))


@dataclass(frozen=True)
class Route:
    alias: str
    targets: tuple[Target, ...]
    fallbacks: tuple[str, ...] = ()
    strategy: str = "weighted"  # or "cost": the cheapest healthy target first
    retries: int = 2  # per target, on 429 / 5xx / timeouts
    timeout: float = 60.0  # seconds per attempt
    enabled: bool = True

    @classmethod
    def parse(cls, alias: str, raw: dict[str, Any]) -> Route:
        targets = raw.get("targets") or []
        if isinstance(targets, str):
            targets = json.loads(targets)
        try:
            strategy = check_choice("strategy", raw.get("strategy", "weighted"), STRATEGIES)
            return cls(alias=alias, targets=tuple(Target.parse(t) for t in targets),
                       fallbacks=tuple(raw.get("fallbacks") or ()), strategy=strategy,
                       retries=int(raw.get("retries", 2)), timeout=float(raw.get("timeout", 60)),
                       enabled=bool(raw.get("enabled", True)))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"route {alias}: {error}") from None


def parse_routes(document: str) -> dict[str, Route]:
    return {alias: Route.parse(alias, raw) for alias, raw in json.loads(document or "{}").items()}
