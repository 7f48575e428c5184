"""The eval loop's judge: a second model call grades each answer; the scores of a batch are kept
in DynamoDB with one write (a ``PutItem`` each cost as much again as the judging around it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llm_gateway.core.cache import EntryRef, SemanticCache
from llm_gateway.core.records import MAX_BATCH_WRITE, batch_write
from llm_gateway.core.tasks import ModelTasks

RUBRIC = "helpfulness_accuracy"


@dataclass(frozen=True)
class Score:
    request_id: str
    score: float
    rubric: str
    tenant_id: str = ""
    model_id: str = ""
    evicted: bool = False  # the answer was cached, and this score took it out of the cache
    created_at: int = 0


class Judge:
    def __init__(self, tasks: ModelTasks, scores_table: str, client: Any, *, cache: SemanticCache | None = None,
                 evict_below: float = 0.0) -> None:
        self._tasks, self._table, self._ddb = tasks, scores_table, client
        self._cache, self._evict_below = cache, evict_below

    def score(self, detail: dict[str, Any]) -> Score | None:
        """Grade one answer event (``save`` keeps it); None for a refused answer. Every event is
        graded: the publisher sampled them (``EvalEvents``). A cached answer scored below the bar
        is evicted here."""
        if detail.get("refused"):
            return None
        verdict = self._tasks.judge(query=detail["question"], response=detail["answer"], rubric=RUBRIC)
        value = float(verdict["score"])
        return Score(detail["request_id"], value, str(verdict["rubric"]), str(detail.get("tenant_id", "")),
                     str(detail.get("model_id", "")), self._evicts(value, detail), int(time.time()))

    def save(self, scores: list[Score]) -> set[str]:
        """Write ``scores``, 25 to a call; the request ids of those DynamoDB did not take. Keyed on
        request_id: SQS delivers at least once, and a redelivery rewrites the same row."""
        rows = {score.request_id: {  # one row an answer, even if a batch holds it twice
            "request_id": {"S": score.request_id},
            "score": {"N": repr(score.score)},
            "rubric": {"S": score.rubric},
            "tenant_id": {"S": score.tenant_id},
            "model_id": {"S": score.model_id},
            "created_at": {"N": str(score.created_at)},
            "evicted": {"BOOL": score.evicted},
        } for score in scores}
        puts, unsaved = [{"PutRequest": {"Item": row}} for row in rows.values()], set()
        for start in range(0, len(puts), MAX_BATCH_WRITE):
            left = batch_write(self._ddb, {self._table: puts[start:start + MAX_BATCH_WRITE]}).get(self._table, [])
            unsaved |= {put["PutRequest"]["Item"]["request_id"]["S"] for put in left}
        return unsaved

    def _evicts(self, score: float, detail: dict[str, Any]) -> bool:
        """A cached answer the judge scores below the bar is not served again."""
        if self._cache is None or not detail.get("cache_ref") or score >= self._evict_below:
            return False
        self._cache.evict(EntryRef.of(detail["cache_ref"]))
        return True
