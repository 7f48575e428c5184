"""What the constructs and the runtime agree on, in one dependency-free module.

The constructs import this (never the runtime modules, which need boto3), so a CDK app that
``pip install``s the package synthesizes without the Lambda dependencies, and a value that both
sides use (a provider name, an event name, a default model) is written once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any

# Powertools service names, which are also the metrics' ``service`` dimension.
GATEWAY_SERVICE = "llm-gateway"
AUTHORIZER_SERVICE = "llm-gateway-authorizer"
JUDGE_SERVICE = "llm-gateway-judge"
USAGE_SERVICE = "llm-gateway-usage"
KEY_SWEEPER_SERVICE = "llm-gateway-key-sweeper"
LEX_SERVICE = "llm-gateway-lex"
METRICS_NAMESPACE = "LLMGateway"
# Metrics the gateway emits (EMF) that operators watch; per outcome it also emits Outcome_<kind>.
METRIC_CACHE_HITS = "Outcome_cached"
METRIC_GUARDRAIL_BLOCKS = "GuardrailBlocks"  # input blocked or answer refused
METRIC_RATE_LIMITED = "RateLimited"  # answered 429: a quota was spent
METRIC_JUDGE_SCORE = "JudgeScore"
METRIC_DEGRADED = "Degraded"  # by dimension "dependency": a DEGRADED name (a metric filter on the logs)
METRIC_BUDGET_NEARLY_SPENT = "BudgetNearlySpent"  # a request left a budget with <= BUDGET_WARNING of it, or none
BUDGET_WARNING = 0.1
METRIC_KEYS_EXPIRED = "KeysExpired"  # marked expired by the key sweeper
METRIC_KEYS_EXPIRING = "KeysExpiringSoon"  # active keys within KEY_EXPIRY_WARNING_DAYS of expiry: rotate them
# What the usage function emits per batch (service-wide; blocks also by "reason", spend also by
# "tenant" for the tenants a stack names: bounded cardinality), from the records it writes.
METRIC_COST = "CostUSD"
METRIC_SAVED = "CacheSavedUSD"
METRIC_TOKENS = "Tokens"
METRIC_TENANT_COST = "TenantCostUSD"
METRIC_TENANT_REQUESTS = "TenantRequests"
OTHER_TENANTS = "other"
# Dependencies the gateway carries on without (core.degraded): each has a metric and an alarm.
DEGRADED = {
    "routes_table": "the routes table could not be read: the routes defined in code serve",
    "route_row": "a routes-table row is invalid: it is skipped, the alias's code route serves",
    "counters_table": "the quota counters could not be updated: QUOTA_STORE_FAILURE decides (open or closed)",
    "eval_events": "an answer event could not be published: it is not judged",
    "cache": "the semantic cache could not be read or written: the model answers",
    "incidents": "a guardrail incident could not be recorded (the block itself stands)",
    "usage_ledger": "a usage record could not be written: the request is missing from usage and billing",
}
QUOTA_STORE_FAILURE = ("open", "closed")  # when the counters table fails: admit (and count a metric), or 503
EVENT_SOURCE = "llm-gateway"
ANSWER_EVENT = "answer.generated"

DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
DEFAULT_EMBED_MODEL_ID = "amazon.titan-embed-text-v2:0"
DEFAULT_ANSWERS = str(resources.files("llm_gateway.core") / "answers.jsonl")

# ``builtin``: the rule engine shipped in the package; ``bedrock``: ApplyGuardrail; ``layered``:
# builtin first (free, local, milliseconds), then ApplyGuardrail on what it lets through.
GUARDRAIL_BACKENDS = ("builtin", "bedrock", "layered")
# PII entity types (the Bedrock Guardrail's names and placeholders) anonymised in answers, and the
# secrets that make an answer refused; the construct's GuardrailPolicy and the builtin engine both
# take them from here, so both backends answer alike.
PII_ANONYMIZED = frozenset({"EMAIL", "PHONE", "CREDIT_DEBIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
                            "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "AWS_ACCESS_KEY"})
PII_BLOCKED = frozenset({"AWS_SECRET_KEY", "PASSWORD"})


@dataclass(frozen=True)
class GuardrailProfile:
    """How strict the builtin engine is for a key or a route: the score that blocks a question, the
    attack families it looks for, and whether the question's own PII is anonymised too."""

    block_at: float = 1.0
    families: frozenset[str] | None = None  # None: every family
    anonymize_input: bool = False


GUARDRAIL_PROFILES = {
    "standard": GuardrailProfile(),
    # Weak signals block together sooner; the user's PII never reaches the model.
    "strict": GuardrailProfile(block_at=0.6, anonymize_input=True),
    # Internal tools and red-team keys: only strong, unambiguous signals block.
    "relaxed": GuardrailProfile(block_at=1.5),
}
LLM_MODES = ("bedrock", "local")
PROVIDERS = ("bedrock", "openai", "anthropic", "local")
COMPATIBLE = "openai_compatible:"  # + a profile name: any OpenAI-compatible server
STRATEGIES = ("weighted", "cost")
# What a route may switch off (``"skip": [...]``, or ``"passthrough": true`` for all of them): every
# step is on unless a route says otherwise.
PIPELINE_STEPS = ("quotas", "guardrails", "cache", "judge")
CACHE_VERIFY = ("rules", "model")  # "model": the judge alias also confirms a semantic hit
KEYS_BY_ID_INDEX = "by-key-id"  # the keys table's index from a key's public id to its item
CACHE_PURGE_INDEX = "by-tenant"  # the cache table's sparse index over entry items (by tenant)

# The semantic cache's cosine threshold per embedding model, from `llm-gateway cache calibrate` on
# the team's pair file (llm_gateway/cache_pairs.jsonl): the lowest threshold from which on no hard
# negative is served once verification has run, plus a 0.05 margin, and not below 0.75 (where the
# cosine alone stops telling rephrasings from other questions). CACHE_SIMILARITY_THRESHOLD
# overrides it for every model. Titan and Cohere are not listed until someone with Bedrock access
# runs the calibration against them (this team's machines have none): until then they get the
# strict default.
CACHE_THRESHOLDS = {
    "all-MiniLM-L6-v2": 0.75,  # the local stand-in's embedder (2026-11-25, int8: 76% of paraphrases, 0 wrong)
}
DEFAULT_CACHE_THRESHOLD = 0.92  # an embedding model nobody has calibrated: stay strict


RAG_SOURCE_TEXT = "source_text"  # a RAG vector's document text: non-filterable metadata (seed 003)

# The vector dimension of each embedding model's output (a RAG index is made for one).
EMBEDDING_DIMENSIONS = {
    "amazon.titan-embed-text-v2:0": 1024, "amazon.titan-embed-text-v1": 1536,
    "cohere.embed-english-v3": 1024, "cohere.embed-multilingual-v3": 1024,
    "text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536,
    "all-MiniLM-L6-v2": 384,
}


def cache_threshold_for(model: str) -> float:
    return CACHE_THRESHOLDS.get(model, DEFAULT_CACHE_THRESHOLD)


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


def check_profile(name: str | None) -> str | None:
    return None if name is None else check_choice("guardrail profile", str(name), tuple(GUARDRAIL_PROFILES))


def env_prefix(provider: str) -> str:
    """openai -> OPENAI, anthropic -> ANTHROPIC, openai_compatible:gemini -> OPENAI_COMPAT_GEMINI."""
    if provider.startswith(COMPATIBLE):
        provider = "openai_compat_" + provider.split(":", 1)[1]
    return re.sub(r"[^A-Z0-9]", "_", provider.upper())


def secret_env(provider: str, key_id: str | None = None) -> str:
    """The variable naming the secret of a provider's key (or of one of its keys, by ``key_id``)."""
    return f"{env_prefix(provider)}_SECRET_ARN" + (f"_{env_prefix(key_id)}" if key_id else "")


def compatible_env(provider: str, setting: str) -> str:
    """``<PREFIX>_BASE_URL`` / ``<PREFIX>_ENDPOINT_MODE`` of a provider."""
    return f"{env_prefix(provider)}_{setting}"


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    weight: float = 1.0
    key_id: str | None = None
    input_price: float = 0.0  # USD per million tokens (0: the price table's), for the cost strategy and the ledger
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
    guardrail_profile: str | None = None  # a GUARDRAIL_PROFILES name; a key's own profile wins
    cache_verify: str = "rules"  # a CACHE_VERIFY name: what confirms a semantic cache hit
    skip: frozenset[str] = frozenset()  # PIPELINE_STEPS this route goes without

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
                       enabled=bool(raw.get("enabled", True)),
                       guardrail_profile=check_profile(raw.get("guardrail_profile")),
                       cache_verify=check_choice("cache_verify", raw.get("cache_verify", "rules"), CACHE_VERIFY),
                       skip=_skipped(raw))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"route {alias}: {error}") from None


def _skipped(raw: dict[str, Any]) -> frozenset[str]:
    if raw.get("passthrough") is True:
        return frozenset(PIPELINE_STEPS)
    steps = raw.get("skip") or []
    if not isinstance(steps, list | tuple | set | frozenset):
        raise ValueError(f"skip must be a list of {', '.join(PIPELINE_STEPS)}")
    return frozenset(check_choice("pipeline step", str(step), PIPELINE_STEPS) for step in steps)


def parse_routes(document: str) -> dict[str, Route]:
    return {alias: Route.parse(alias, raw) for alias, raw in json.loads(document or "{}").items()}


def _env(name: str, default: Any, kind: type | None = None) -> Any:
    """A setting read from the environment variable ``name`` (as ``kind``: the default's type)."""
    return field(default=default, metadata={"env": name, "kind": kind or type(default)})


@dataclass(frozen=True)
class Settings:
    """Every setting the functions read, its environment variable and its default, in one place.

    The constructs write these variables (``Settings.env(cache_table=...)``) and take their prop
    defaults from here; the runtime reads them once (``Settings.from_env()``).
    """

    # Models and modes
    llm_mode: str = _env("LLM_MODE", "local")
    answers_path: str = _env("LLM_LOCAL_ANSWERS_PATH", DEFAULT_ANSWERS)
    local_embedder: str = _env("LOCAL_EMBEDDER", "minilm")  # the stand-in's: "minilm" or "hashed"
    model_id: str = _env("MODEL_ID", DEFAULT_MODEL_ID)
    embed_model_id: str = _env("EMBED_MODEL_ID", DEFAULT_EMBED_MODEL_ID)
    judge_model_id: str = _env("JUDGE_MODEL_ID", DEFAULT_MODEL_ID)
    max_output_tokens: int = _env("MAX_OUTPUT_TOKENS", 1024)
    # Aliases: what /ask and /invoke answer with, what /v1/embeddings defaults to, and the
    # gateway's own tasks (cache embeddings, judging and classification), each a route like any.
    default_model_alias: str = _env("DEFAULT_MODEL_ALIAS", "default")
    default_embedding_alias: str = _env("DEFAULT_EMBEDDING_ALIAS", "text-embedding")
    embed_alias: str = _env("EMBED_ALIAS", "embed")
    judge_alias: str = _env("JUDGE_ALIAS", "judge")
    # Routing
    routes_json: str = _env("ROUTES_JSON", "")
    routes_table: str = _env("ROUTES_TABLE", "")
    routes_cache_seconds: float = _env("ROUTES_CACHE_SECONDS", 30.0)
    cooldown_seconds: float = _env("ROUTE_COOLDOWN_SECONDS", 30.0)
    # Guardrails
    guardrail_backend: str = _env("GUARDRAIL_BACKEND", "builtin")
    guardrail_id: str = _env("GUARDRAIL_ID", "")
    guardrail_version: str = _env("GUARDRAIL_VERSION", "DRAFT")
    system_prompt: str = _env("SYSTEM_PROMPT", "You are Eng-Helper, a concise assistant for software engineers.")
    refusal_message: str = _env("REFUSAL_MESSAGE", "I cannot help with that, policy violation.")
    incidents_table: str = _env("INCIDENTS_TABLE", "")
    # Semantic cache
    cache_table: str = _env("CACHE_TABLE", "")
    cache_threshold: float | None = _env("CACHE_SIMILARITY_THRESHOLD", None, float)  # None: per embedding model
    cache_ttl_seconds: int = _env("CACHE_TTL_SECONDS", 7 * 24 * 3600)
    cache_max_temperature: float = _env("CACHE_MAX_TEMPERATURE", 1.0)  # hotter requests are not cached
    cache_vector_bucket_arn: str = _env("CACHE_VECTOR_BUCKET_ARN", "")  # set: semantic index on S3 Vectors
    cache_vector_batch: int = _env("CACHE_VECTOR_BATCH", 1)  # vectors a PutVectors waits for (see VectorBucketIndex)
    cache_vector_linger_seconds: float = _env("CACHE_VECTOR_LINGER_SECONDS", 5.0)
    # RAG (seed 003): documents in an S3 Vectors bucket; "" embedding alias: default_embedding_alias
    rag_vector_bucket_arn: str = _env("RAG_VECTOR_BUCKET_ARN", "")
    rag_index_name: str = _env("RAG_INDEX_NAME", "rag-default")
    rag_embedding_alias: str = _env("RAG_EMBEDDING_ALIAS", "")
    # Eval loop
    event_bus_name: str = _env("EVENT_BUS_NAME", "")
    eval_loop: str = _env("EVAL_LOOP", "")  # the EvalLoop an answer's event is for: its rule matches only those
    eval_keep_queue_url: str = _env("EVAL_KEEP_QUEUE_URL", "")  # where an event the bus refused is kept
    scores_table: str = _env("SCORES_TABLE", "")
    sample_rate: float = _env("SAMPLE_RATE", 1.0)
    cache_evict_below: float = _env("CACHE_EVICT_BELOW", 0.5)  # a judge score under this evicts the cached answer
    # Tenants and quotas
    keys_table: str = _env("KEYS_TABLE", "")
    key_expiry_warning_days: int = _env("KEY_EXPIRY_WARNING_DAYS", 7)
    rate_limits_table: str = _env("RATE_LIMITS_TABLE", "")
    quota_store_failure: str = _env("QUOTA_STORE_FAILURE", "open")  # a QUOTA_STORE_FAILURE name
    quota_max_lease: int = _env("QUOTA_MAX_LEASE", 64)  # a busy tenant's requests counted ahead at most; 1: none
    default_rpm: int = _env("RPM_LIMIT", 60)
    default_rpd: int = _env("RPD_LIMIT", 1000)
    default_tpm: int | None = _env("TPM_LIMIT", None, int)
    # Usage ledger and budgets
    usage_records: str = _env("USAGE_RECORDS", "")  # "log": every request's usage record is a line of its log
    usage_table: str = _env("USAGE_TABLE", "")  # the requests table: records and the counters /v1/billing reads
    usage_retention_days: int = _env("USAGE_RETENTION_DAYS", 90)
    usage_bodies_tenants: str = _env("USAGE_BODIES_TENANTS", "")  # comma-separated: tenants whose bodies are kept
    usage_metric_tenants: str = _env("USAGE_METRIC_TENANTS", "")  # comma-separated: tenants with their own metrics
    prices_json: str = _env("PRICES_JSON", "")  # overrides of core/prices.json, the same shape
    # A Lex chatbot's fulfillment (LexChatbot): its own tenant, and the alias it asks
    lex_tenant_id: str = _env("LEX_TENANT_ID", "lex-chatbot")
    lex_model_alias: str = _env("LEX_MODEL_ALIAS", "default")
    # Requests
    max_body_bytes: int = _env("MAX_BODY_BYTES", 32 * 1024)
    # Uploads (documents to ingest, audio): under Lambda's 6 MB request payload once API Gateway
    # has base64-encoded a binary body.
    max_upload_bytes: int = _env("MAX_UPLOAD_BYTES", 4 * 1024 * 1024)

    @property
    def rag_embedder(self) -> str:
        """The alias RAG embeds with unless a request names one."""
        return self.rag_embedding_alias or self.default_embedding_alias

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw in (None, ""):
                continue
            values[f.name] = f.metadata["kind"](raw)
        return cls(**values)

    @classmethod
    def env(cls, **values: Any) -> dict[str, str]:
        """The environment variables for these settings (``None`` leaves a variable out)."""
        names = {f.name: f.metadata["env"] for f in fields(cls)}
        unknown = set(values) - set(names)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        return {names[k]: str(v) for k, v in values.items() if v is not None}
