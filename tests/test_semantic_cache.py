"""Cache correctness before hit rate: no wrong answers, no scans."""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx
import pytest

from llm_gateway.core.cache import Scope, SemanticCache, same_question
from llm_gateway.local import LocalGateway
from tests.conftest import eventually


@pytest.mark.parametrize(("a", "b", "same"), [
    ("How do I rotate an IAM session credential?", "What is the way to renew an iam session?", True),
    ("How do I convert a string to an int?", "How do I convert an int to a string?", False),
    ("How do I install Python 3.11?", "How do I install Python 3.12?", False),
    ("Can I delete a bucket with objects in it?", "Can I not delete a bucket with objects in it?", False),
    ("How do I copy files from S3 to my laptop?", "How do I copy files from my laptop to S3?", False),
    ("In Python, how do I convert a string to an int?", "How do I convert a string to an int in Python?", True),
    # opposite operations
    ("How do I add a user to a group in Linux?", "How do I remove a user from a group in Linux?", False),
    ("Encrypt a file with openssl", "Decrypt a file with openssl", False),
    ("Sort a list in ascending order", "Sort a list in descending order", False),
    ("Upload a file to S3 with boto3", "Download a file from S3 with boto3", False),
    ("Set the max memory for Redis", "Set the min memory for Redis", False),
    ("Run docker with sudo", "Run docker without sudo", False),
    # other named things, other quantities; names with digits are names, not quantities
    ("Connect to Postgres from Python", "Connect to MySQL from Python", False),
    ("Scale the deployment to 3 replicas", "Scale the deployment to 5 replicas", False),
    ("How do I start an EC2 instance?", "What is the way to start an EC2 instance?", True),
    ("Open port 8080 in the security group", "How do I open port 8080 in a security group?", True),
    ("How to run Docker without sudo?", "How to run docker without root privileges?", True),
])
def test_verification_beyond_cosine(a: str, b: str, same: bool) -> None:
    assert same_question(a, b) is same


def test_opposite_questions_are_not_served_each_others_answer(http: httpx.Client) -> None:
    first = http.post("/ask", json={"question": "How do I convert a string to an int in Python?"}).json()
    second = http.post("/ask", json={"question": "How do I convert an int to a string in Python?"}).json()
    assert first["answer"] == "Use int(text)." and second["answer"] == "Use str(number)."
    assert second["cache_hit"] is False  # identical vectors, different question
    third = http.post("/ask", json={"question": "In Python, how do I convert a string to an int?"}).json()
    assert third["answer"] == "Use int(text)." and third["cache_hit"] is True  # a reordering is a paraphrase


def test_lookup_cost_is_flat_as_the_cache_grows(gateway: LocalGateway, tables: dict[str, str]) -> None:
    ddb = gateway.client("dynamodb")
    cache = SemanticCache(tables["cache"], ddb, candidates=20)
    scope = Scope("t_flat", "default")
    rng = random.Random(1)
    for i in range(300):
        cache.store(scope, f"question {i}", f"answer {i}", [rng.gauss(0, 1) for _ in range(16)], request_id=str(i))

    reads: list[tuple[str, int]] = []
    lock = threading.Lock()

    def count(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        with lock:
            reads.append((model.name, int(parsed.get("ScannedCount", parsed.get("Count", 0)))))

    ddb.meta.events.register("after-call.dynamodb", count)
    cache.lookup(scope, "question 7", [rng.gauss(0, 1) for _ in range(16)])
    assert {name for name, _ in reads} == {"Query"}  # never a Scan
    # The exact key (one item) and 2 bands (newest 20 each), whatever the cache holds.
    assert len(reads) == 3 and sorted(scanned for _, scanned in reads)[0] <= 1
    assert all(scanned <= 20 for _, scanned in reads)


def test_exact_repeats_hit_however_old(gateway: LocalGateway, tables: dict[str, str]) -> None:
    """With hundreds of entries in one bucket, the oldest question asked again word for word hits."""
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"), candidates=20)
    scope = Scope("t_exact", "default")
    same_bucket = [1.0] * 16  # every entry in the same LSH buckets: only the newest 20 are candidates
    for i in range(120):
        cache.store(scope, f"How do I configure service number {i}?", f"answer {i}", same_bucket, request_id=str(i))
    hit = cache.lookup(scope, "how do I configure service number 0", same_bucket)
    assert hit and hit.answer == "answer 0" and hit.similarity == 1.0
    assert cache.lookup(Scope("t_other", "default"), "How do I configure service number 0?", same_bucket) is None


def chat(http: httpx.Client, content: Any, **params: Any) -> httpx.Response:
    response = http.post("/v1/chat/completions", json={
        "model": "default", "messages": [{"role": "user", "content": content}], **params})
    assert response.status_code == 200, response.text
    return response


def image(pixel: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}


def test_the_scope_covers_what_changes_the_answer(http: httpx.Client) -> None:
    """Same words, different image / output format / tools: never each other's answer."""
    question = "What is shown in this picture of our architecture diagram?"
    first = chat(http, [{"type": "text", "text": question}, image("iVBORw0KGgoAAAAN")])
    assert first.headers["x-gateway-cache-hit"] == "false"
    same = chat(http, [{"type": "text", "text": question}, image("iVBORw0KGgoAAAAN")])
    assert same.headers["x-gateway-cache-hit"] == "true"  # the same image: a repeat
    other = chat(http, [{"type": "text", "text": question}, image("R0lGODlhAQABAIAA")])
    assert other.headers["x-gateway-cache-hit"] == "false"

    text = "Give me the deployment checklist for the payments service."
    assert chat(http, text).headers["x-gateway-cache-hit"] == "false"
    assert chat(http, text).headers["x-gateway-cache-hit"] == "true"
    as_json = chat(http, text, response_format={"type": "json_object"})
    assert as_json.headers["x-gateway-cache-hit"] == "false"
    stopped = chat(http, text, stop=["\n"])
    assert stopped.headers["x-gateway-cache-hit"] == "false"


def test_hot_sampling_is_never_served_from_the_cache(http: httpx.Client) -> None:
    question = "Suggest a creative name for our new internal CLI tool."
    for _ in range(2):
        assert chat(http, question, temperature=1.5).headers["x-gateway-cache-hit"] == "false"


def test_cache_control_bypasses_lookup_or_write(http: httpx.Client) -> None:
    question = "Which log level should the staging gateway use by default?"
    assert chat(http, question).headers["x-gateway-cache-hit"] == "false"
    fresh = http.post("/v1/chat/completions", headers={"Cache-Control": "no-cache"},
                      json={"model": "default", "messages": [{"role": "user", "content": question}]})
    assert fresh.headers["x-gateway-cache-hit"] == "false"  # answered anew (and the entry refreshed)
    assert chat(http, question).headers["x-gateway-cache-hit"] == "true"

    private = "Summarise our incident runbook for the on-call rotation, privately."
    for _ in range(2):
        response = http.post("/v1/chat/completions", headers={"Cache-Control": "no-store"},
                             json={"model": "default", "messages": [{"role": "user", "content": private}]})
        assert response.headers["x-gateway-cache-hit"] == "false"
    assert chat(http, private).headers["x-gateway-cache-hit"] == "false"  # nothing was stored


def test_a_low_judge_score_evicts_the_cached_answer(http: httpx.Client, gateway: LocalGateway,
                                                    tables: dict[str, str]) -> None:
    question = "Give me the flaky answer about restarting the worker"
    assert http.post("/ask", json={"question": question}).json()["cache_hit"] is False
    ddb = gateway.client("dynamodb")

    def entries() -> list[dict[str, Any]]:
        items = ddb.scan(TableName=tables["cache"])["Items"]
        return [i for i in items if i["question"]["S"] == question]

    def evicted() -> bool:
        scores = ddb.scan(TableName=tables["scores"])["Items"]
        return any(s.get("evicted", {}).get("BOOL") for s in scores) and not entries()

    assert eventually(evicted)
    assert http.post("/ask", json={"question": question}).json()["cache_hit"] is False
