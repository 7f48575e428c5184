"""Every door's responses, stream chunks, events and error bodies against OpenAI's published
OpenAPI document (tests/data/openai_openapi_subset.json, extracted from openai/openai-openapi)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from llm_gateway.local import LocalGateway

SPEC = json.loads((Path(__file__).parent / "data" / "openai_openapi_subset.json").read_text())


def nullable(node: Any) -> Any:
    """The document marks nullable fields the OpenAPI 3.0 way (``nullable: true``), which JSON
    Schema ignores: spell it out (a null type, a null in the enum, or a null beside the $ref)."""
    if isinstance(node, list):
        return [nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: nullable(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        elif "type" not in node:
            return {"anyOf": [node, {"type": "null"}]}
    return node


SCHEMAS = nullable(SPEC["components"]["schemas"])


def validator(name: str) -> Draft202012Validator:
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": SCHEMAS},
                "$ref": f"#/components/schemas/{name}"}
    return Draft202012Validator(document)


def problems(name: str, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator(name).iter_errors(instance)]


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line.removeprefix("data: "))


QUESTION = {"role": "user", "content": "What does HTTP status 418 mean?"}


def test_chat_completion_and_its_chunks(http: httpx.Client) -> None:
    answer = http.post("/v1/chat/completions", json={"model": "default", "messages": [QUESTION]})
    assert answer.status_code == 200 and problems("CreateChatCompletionResponse", answer.json()) == []
    with http.stream("POST", "/v1/chat/completions", json={
            "model": "default", "messages": [QUESTION], "stream": True, "stream_options": {"include_usage": True},
            "temperature": 1.5}) as stream:
        chunks = list(events(stream))
    assert len(chunks) >= 3
    for chunk in chunks:
        assert problems("CreateChatCompletionStreamResponse", chunk) == [], chunk
    assert all("usage" in c and c["usage"] is None for c in chunks[:-1]) and chunks[-1]["usage"]


def test_responses_object_and_events(http: httpx.Client) -> None:
    answer = http.post("/v1/responses", json={"model": "default", "input": "What does HTTP status 418 mean?"})
    assert answer.status_code == 200 and problems("Response", answer.json()) == []
    with http.stream("POST", "/v1/responses", json={"model": "default", "stream": True, "temperature": 1.5,
                                                    "input": "What does HTTP status 418 mean?"}) as stream:
        sent = list(events(stream))
    assert sent[0]["type"] == "response.created" and sent[-1]["type"] == "response.completed"
    for event in sent:
        assert problems("ResponseStreamEvent", event) == [], event


def test_models_and_embeddings(http: httpx.Client) -> None:
    assert problems("ListModelsResponse", http.get("/v1/models").json()) == []
    assert problems("Model", http.get("/v1/models/default").json()) == []
    vectors = http.post("/v1/embeddings", json={"model": "text-embedding", "input": ["a", "b"]})
    assert problems("CreateEmbeddingResponse", vectors.json()) == []


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/v1/chat/completions", {"model": "default", "messages": []}, 400),
    ("POST", "/v1/chat/completions", {"model": "no-such-model", "messages": [QUESTION]}, 404),
    ("GET", "/v1/chat/completions", None, 405),
    ("GET", "/v1/nothing-here", None, 404),
    ("POST", "/v1/embeddings", {"model": "text-embedding", "input": 5}, 400),
])
def test_error_bodies(http: httpx.Client, method: str, path: str, body: Any, status: int) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == status
    assert problems("ErrorResponse", response.json()) == []


def test_key_errors_are_401_in_shape(gateway: LocalGateway) -> None:
    for headers in ({}, {"Authorization": "Bearer gw_sk_" + "q" * 43}):
        response = httpx.get(f"{gateway.url}/v1/models", headers=headers)
        assert response.status_code == 401 and problems("ErrorResponse", response.json()) == []
