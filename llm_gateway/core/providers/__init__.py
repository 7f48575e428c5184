"""Model providers behind one interface: ``complete``, ``stream`` and ``embed`` in the gateway's
canonical (OpenAI) shapes. ``Providers`` builds them from the environment and hands out keys."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from llm_gateway.contract import compatible_env, secret_env
from llm_gateway.core.chat import ChatRequest, ChatResult, Delta, Embeddings
from llm_gateway.core.media import MediaRequest, MediaResult


class Provider(Protocol):
    def complete(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> ChatResult: ...

    def stream(self, request: ChatRequest, model: str, key: str | None, timeout: float) -> Iterator[Delta]: ...

    def embed(self, inputs: list[str], model: str, key: str | None, timeout: float) -> Embeddings: ...


@runtime_checkable
class MediaProvider(Protocol):
    """A provider that also serves images and audio (``core.media``)."""

    def media(self, request: MediaRequest, model: str, key: str | None, timeout: float) -> MediaResult: ...


class KeyPools:
    """Provider API keys from Secrets Manager.

    ``<PREFIX>_SECRET_ARN`` names the provider's secret, ``<PREFIX>_SECRET_ARN_<KEY_ID>`` the one
    a target's ``key_id`` picks (falling back to the default). A secret holding a JSON array is a
    pool, used round-robin; a JSON object's ``api_key`` or a plain string is one key.
    """

    def __init__(self, env: Mapping[str, str], fetch: Any) -> None:
        self._env, self._fetch = env, fetch
        self._turns: dict[str, Iterator[int]] = {}
        self._lock = threading.Lock()

    def key(self, provider: str, key_id: str | None = None) -> str | None:
        arn = (self._env.get(secret_env(provider, key_id)) if key_id else None) or self._env.get(secret_env(provider))
        if not arn:
            return None
        value = str(self._fetch(arn)).strip()
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(parsed, list) and parsed:
            with self._lock:
                turn = next(self._turns.setdefault(arn, itertools.count()))
            return str(parsed[turn % len(parsed)])
        if isinstance(parsed, dict):
            return str(parsed.get("api_key") or parsed.get("apiKey") or parsed.get("key") or "") or None
        return str(parsed)


class Providers:
    """Provider instances by name, built on first use from the environment."""

    def __init__(self, env: Mapping[str, str] | None = None, *, local: Provider | None = None,
                 bedrock_client: Any = None, secrets: Any = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self._local, self._bedrock_client = local, bedrock_client
        self._built: dict[str, Provider] = {}
        self._lock = threading.Lock()
        self._secrets = secrets
        self.keys = KeyPools(self.env, self._secret)

    def _secret(self, arn: str) -> Any:
        """A secret's value, cached for 5 minutes; the client is built when a key is first needed."""
        with self._lock:
            if self._secrets is None:
                from aws_lambda_powertools.utilities.parameters import SecretsProvider

                from llm_gateway.core import aws

                self._secrets = SecretsProvider(boto3_client=aws.client("secretsmanager"))
        return self._secrets.get(arn, max_age=300)

    def get(self, name: str) -> Provider:
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name)
            return self._built[name]

    def _build(self, name: str) -> Provider:
        from llm_gateway.core.providers.anthropic import AnthropicProvider
        from llm_gateway.core.providers.bedrock import BedrockProvider
        from llm_gateway.core.providers.openai import OpenAIProvider

        if name == "local" or (self._local is not None and (name == "bedrock" or (
                name == "openai" and not self.env.get("OPENAI_BASE_URL") and not self.env.get(secret_env(name))))):
            if self._local is None:
                raise KeyError("the local model stand-in is only available with LLM_MODE=local")
            # LLM_MODE=local: the JSONL stand-in answers for Bedrock, and for OpenAI where no key or URL is set
            return self._local
        if name == "bedrock":
            guarded = self.env.get("GUARDRAIL_BACKEND") in ("bedrock", "layered") and self.env.get("GUARDRAIL_ID")
            guardrail = (self.env["GUARDRAIL_ID"], self.env.get("GUARDRAIL_VERSION", "DRAFT")) if guarded else None
            return BedrockProvider(self._bedrock_client, guardrail)
        if name == "openai":
            return OpenAIProvider(self.env.get("OPENAI_BASE_URL", "https://api.openai.com/v1"))
        if name == "anthropic":
            return AnthropicProvider(self.env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com"))
        if name.startswith("openai_compatible:"):
            base_url = self.env.get(compatible_env(name, "BASE_URL"))
            if not base_url:
                raise KeyError(f"{name}: set {compatible_env(name, 'BASE_URL')}")
            return OpenAIProvider(base_url, endpoint_mode=self.env.get(compatible_env(name, "ENDPOINT_MODE"), "chat"))
        raise KeyError(f"unknown provider {name!r}")
