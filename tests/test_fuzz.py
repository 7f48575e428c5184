"""Property-based fuzzing of every door through the local API Gateway (issue 11): generated bodies
(valid ones with a field retyped, dropped or added, arbitrary JSON, broken bytes, deep nesting, huge
numbers, lone surrogates), wrong methods and unknown paths. Never a 5xx; every error in OpenAI's
shape (``/ask``'s bad requests in its seed shape). The examples are derived from a fixed seed, so
CI is repeatable; ``FUZZ_EXAMPLES`` and ``FUZZ_RANDOM=1`` widen a local run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_gateway.core.tenants import Quotas
from llm_gateway.local import LocalGateway
from tests.conftest import dev_gateway

# Per door (an eighth for each of seed 003's six), 4x for paths: 2,106 generated, 2,084 sent (an answered
# body is not sent again); issue 11 asks for 2,000.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "216"))


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                    database=None)

USER = {"role": "user", "content": "How do I reverse a list in Python?"}
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "default", "messages": [USER], "max_tokens": 32},
    "/v1/responses": {"model": "default", "input": "How do I reverse a list in Python?"},
    "/v1/embeddings": {"model": "text-embedding", "input": ["reverse a list"]},
    "/ask": {"question": "How do I reverse a list in Python?"},
    "/invoke": {"prompt": "How do I reverse a list in Python?"},
    "/v1/rag/ingest": {"documents": [{"key": "fuzz-doc", "text": "Reverse a list in place: my_list.reverse()."}]},
    "/v1/rag/query": {"query": "How do I reverse a list in Python?", "model": "default", "top_k": 2},
    "/v1/rag/delete": {"keys": ["fuzz-gone"]},
    "/v1/images/generations": {"model": "dall-e-3", "prompt": "a list, reversed", "size": "256x256"},
    "/v1/audio/speech": {"model": "tts-1", "input": "reverse a list", "voice": "nova"},
    "/v1/audio/transcriptions": {"model": "whisper-1", "audio": "//uQZA==", "filename": "a.mp3"},
}
SEED_003 = {"/v1/rag/ingest", "/v1/rag/query", "/v1/rag/delete", "/v1/images/generations", "/v1/audio/speech",
            "/v1/audio/transcriptions"}  # newer doors on the same parsing: an eighth of the examples each
FIELDS = {  # documented fields a generated value may replace
    "/v1/chat/completions": ["model", "messages", "stream", "stream_options", "temperature", "top_p", "n",
                             "max_tokens", "max_completion_tokens", "stop", "presence_penalty", "logit_bias",
                             "seed", "user", "tools", "tool_choice", "response_format", "metadata", "logprobs"],
    "/v1/responses": ["model", "input", "instructions", "stream", "temperature", "top_p", "max_output_tokens",
                      "tools", "tool_choice", "metadata", "previous_response_id"],
    "/v1/embeddings": ["model", "input", "encoding_format", "dimensions", "user"],
    "/ask": ["question"],
    "/invoke": ["prompt"],
    "/v1/rag/ingest": ["documents", "index_name", "embedding_model"],
    "/v1/rag/query": ["query", "model", "stream", "top_k", "index_name", "system_prompt", "metadata_filter",
                      "embedding_model", "temperature", "max_tokens"],
    "/v1/rag/delete": ["keys", "index_name"],
    "/v1/images/generations": ["model", "prompt", "n", "size", "quality", "response_format", "style", "user"],
    "/v1/audio/speech": ["model", "input", "voice", "response_format", "speed", "instructions"],
    "/v1/audio/transcriptions": ["model", "audio", "filename", "language", "prompt", "response_format",
                                 "temperature", "timestamp_granularities"],
}

text = st.text(st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e"]), max_size=40)
scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False) | text)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(["role", "content", "type", "text", "name",
                                                             "function", "include_usage", "url"]) | text,
                                             inner, max_size=4), max_leaves=12)
parts = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_text", "bogus"]),
                               "text": json_values})
messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", "x"]),
                                           "content": text | st.lists(parts, max_size=3) | json_values}),
                    max_size=3)


def mutated(path: str) -> st.SearchStrategy[bytes]:
    """A valid body with one field retyped, one dropped or an unknown one added; or no JSON at all."""
    valid = VALID[path]
    retyped = st.tuples(st.sampled_from(FIELDS[path]), json_values | messages).map(
        lambda kv: {**valid, kv[0]: kv[1]})
    dropped = st.sampled_from(sorted(valid)).map(lambda k: {f: v for f, v in valid.items() if f != k})
    added = st.tuples(text, json_values).map(lambda kv: {**valid, kv[0]: kv[1]})
    # Weighted toward bodies that must be refused: a valid one costs a model call, a refusal 7 ms.
    as_json = st.one_of(retyped, retyped, retyped, dropped, added, json_values).map(
        lambda body: json.dumps(body).encode())
    broken = st.sampled_from([b"", b"{", b'{"model": ', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000,
                              b'{"a":' * 200 + b"1" + b"}" * 200, b'{"max_tokens": 1' + b"0" * 5000 + b"}",
                              b'{"temperature": NaN}', b'{"temperature": 1e999}', b'{"model": "\\ud800"}'])
    return st.one_of(as_json, as_json, as_json, broken, st.binary(max_size=64))


def in_shape(path: str, response: httpx.Response) -> bool:
    body = response.json()
    if path == "/ask" and response.status_code in (400, 413) and isinstance(body.get("error"), str):
        return isinstance(body.get("request_id"), str)
    error = body.get("error")
    return isinstance(error, dict) and set(error) == {"message", "type", "param", "code"} \
        and isinstance(error["message"], str) and isinstance(error["type"], str)


@pytest.fixture(scope="module")
def gateway(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    """Without the usage ledger: recording each of the thousands of bodies sent here (a message
    and a transaction each, on this machine's two cores) doubled this module's time, and the
    ledger has tests of its own (test_usage). For the same reason the judge scores nothing
    (SAMPLE_RATE=0; test_eval_loop covers it), and no request waits for the earlier ones' records."""
    with dev_gateway(templates, tmp_path_factory, environment={"USAGE_RECORDS": "", "SAMPLE_RATE": "0"},
                     await_records=False) as local:
        yield local


@pytest.fixture(scope="module")
def client(gateway: LocalGateway) -> Iterator[httpx.Client]:
    key, _ = gateway.keys().create("t_fuzz", "fuzzing", quotas=Quotas(rpm=1_000_000, rpd=10_000_000, tpm=None))
    with httpx.Client(base_url=gateway.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


ANSWERED: set[tuple[str, str, bytes]] = set()  # answered once, a request is not sent again (a model call each)


def check(client: httpx.Client, path: str, body: bytes, method: str = "POST") -> None:
    if (method, path, body) in ANSWERED:
        return
    response = client.request(method, path, content=body, headers={"content-type": "application/json"})
    if response.status_code < 300:
        ANSWERED.add((method, path, body))
    assert response.status_code < 500, (path, body[:300], response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert in_shape(path, response), (path, body[:300], response.text[:300])


@pytest.mark.parametrize("path", list(VALID))
def test_no_body_reaches_a_5xx_and_every_error_is_in_shape(client: httpx.Client, path: str) -> None:
    @fuzz_settings(EXAMPLES // 8 if path in SEED_003 else EXAMPLES)
    @given(body=mutated(path))
    def fuzz(body: bytes) -> None:
        check(client, path, body)

    fuzz()


@fuzz_settings(EXAMPLES * 4)
@given(path=st.sampled_from([*VALID, "/v1/models", "/v1/models/default", "/nope", "/v1/chat", "/v1/models/%ff",
                             "/openapi.json", "/health"])
       | text.map(lambda t: "/" + quote(t.encode("utf-8", "replace"))),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
def test_every_path_and_method_answers_in_shape(client: httpx.Client, path: str, method: str) -> None:
    check(client, path, b"{}", method)

