"""Runtime configuration, read once from the environment the construct (or the local runner) sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from llm_gateway.contract import DEFAULT_EMBED_MODEL_ID, DEFAULT_MODEL_ID

DEFAULT_ANSWERS = str(resources.files("llm_gateway.core") / "answers.jsonl")


@dataclass(frozen=True)
class Settings:
    cache_table: str = ""
    incidents_table: str = ""
    scores_table: str = ""
    event_bus_name: str = ""
    llm_mode: str = "local"
    answers_path: str = DEFAULT_ANSWERS
    model_id: str = DEFAULT_MODEL_ID
    embed_model_id: str = DEFAULT_EMBED_MODEL_ID
    judge_model_id: str = DEFAULT_MODEL_ID
    guardrail_backend: str = "builtin"
    guardrail_id: str = ""
    guardrail_version: str = "DRAFT"
    system_prompt: str = "You are Eng-Helper, a concise assistant for software engineers."
    default_model_alias: str = "default"
    default_embedding_alias: str = "text-embedding"
    cache_threshold: float = 0.92
    cache_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 32 * 1024
    max_output_tokens: int = 1024
    sample_rate: float = 1.0
    rate_limits_table: str = ""
    default_rpm: int = 60
    default_rpd: int = 1000
    default_tpm: int | None = None
    keys_secret_id: str = ""
    keys_cache_seconds: int = 60
    keys_refresh_seconds: float = 5.0
    routes_json: str = ""
    routes_table: str = ""
    routes_cache_seconds: float = 30.0
    cooldown_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            cache_table=env.get("CACHE_TABLE", d.cache_table),
            incidents_table=env.get("INCIDENTS_TABLE", d.incidents_table),
            scores_table=env.get("SCORES_TABLE", d.scores_table),
            event_bus_name=env.get("EVENT_BUS_NAME", d.event_bus_name),
            llm_mode=env.get("LLM_MODE", d.llm_mode),
            answers_path=env.get("LLM_LOCAL_ANSWERS_PATH") or d.answers_path,
            model_id=env.get("MODEL_ID", d.model_id),
            embed_model_id=env.get("EMBED_MODEL_ID", d.embed_model_id),
            judge_model_id=env.get("JUDGE_MODEL_ID", d.judge_model_id),
            guardrail_backend=env.get("GUARDRAIL_BACKEND", d.guardrail_backend),
            guardrail_id=env.get("GUARDRAIL_ID", d.guardrail_id),
            guardrail_version=env.get("GUARDRAIL_VERSION", d.guardrail_version),
            system_prompt=env.get("SYSTEM_PROMPT", d.system_prompt),
            default_model_alias=env.get("DEFAULT_MODEL_ALIAS", d.default_model_alias),
            default_embedding_alias=env.get("DEFAULT_EMBEDDING_ALIAS", d.default_embedding_alias),
            cache_threshold=float(env.get("CACHE_SIMILARITY_THRESHOLD", d.cache_threshold)),
            cache_ttl_seconds=int(env.get("CACHE_TTL_SECONDS", d.cache_ttl_seconds)),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", d.max_body_bytes)),
            max_output_tokens=int(env.get("MAX_OUTPUT_TOKENS", d.max_output_tokens)),
            sample_rate=float(env.get("SAMPLE_RATE", d.sample_rate)),
            rate_limits_table=env.get("RATE_LIMITS_TABLE", d.rate_limits_table),
            default_rpm=int(env.get("RPM_LIMIT", d.default_rpm)),
            default_rpd=int(env.get("RPD_LIMIT", d.default_rpd)),
            default_tpm=int(env["TPM_LIMIT"]) if env.get("TPM_LIMIT") else d.default_tpm,
            keys_secret_id=env.get("KEYS_SECRET_ID", d.keys_secret_id),
            keys_cache_seconds=int(env.get("KEYS_CACHE_SECONDS", d.keys_cache_seconds)),
            keys_refresh_seconds=float(env.get("KEYS_REFRESH_SECONDS", d.keys_refresh_seconds)),
            routes_json=env.get("ROUTES_JSON", d.routes_json),
            routes_table=env.get("ROUTES_TABLE", d.routes_table),
            routes_cache_seconds=float(env.get("ROUTES_CACHE_SECONDS", d.routes_cache_seconds)),
            cooldown_seconds=float(env.get("ROUTE_COOLDOWN_SECONDS", d.cooldown_seconds)),
        )
