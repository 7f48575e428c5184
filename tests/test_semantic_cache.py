"""Cache correctness before hit rate: no wrong answers, no scans."""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx
import pytest

from llm_gateway.core.cache import Scope, SemanticCache, same_question
from llm_gateway.local import LocalGateway


@pytest.mark.parametrize(("a", "b", "same"), [
    ("How do I rotate an IAM session credential?", "What is the way to renew an iam session?", True),
    ("How do I convert a string to an int?", "How do I convert an int to a string?", False),
    ("How do I install Python 3.11?", "How do I install Python 3.12?", False),
    ("Can I delete a bucket with objects in it?", "Can I not delete a bucket with objects in it?", False),
    ("How do I copy files from S3 to my laptop?", "How do I copy files from my laptop to S3?", False),
    ("In Python, how do I convert a string to an int?", "How do I convert a string to an int in Python?", True),
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
    assert len(reads) == 2 and all(scanned <= 20 for _, scanned in reads)  # 2 bands, newest 20 each
