"""The eval loop's judge: a second model call grades each answer; the score is kept in DynamoDB."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llm_gateway.core.cache import EntryRef, SemanticCache
from llm_gateway.core.tasks import ModelTasks

RUBRIC = "helpfulness_accuracy"


@dataclass(frozen=True)
class Score:
    request_id: str
    score: float
    rubric: str


class Judge:
    def __init__(self, tasks: ModelTasks, scores_table: str, client: Any, *, sample_rate: float = 1.0,
                 sample: Callable[[], float] = random.random, cache: SemanticCache | None = None,
                 evict_below: float = 0.0) -> None:
        self._tasks, self._table, self._ddb = tasks, scores_table, client
        self._sample_rate, self._sample = sample_rate, sample
        self._cache, self._evict_below = cache, evict_below

    def score(self, detail: dict[str, Any]) -> Score | None:
        """Grade one answer event; None when it is not to be graded (refused, or not sampled)."""
        if detail.get("refused") or self._sample() >= self._sample_rate:
            return None
        verdict = self._tasks.judge(query=detail["question"], response=detail["answer"], rubric=RUBRIC)
        score = Score(detail["request_id"], float(verdict["score"]), str(verdict["rubric"]))
        # Keyed on request_id: SQS delivers at least once, and a redelivery rewrites the same row.
        self._ddb.put_item(TableName=self._table, Item={
            "request_id": {"S": score.request_id},
            "score": {"N": repr(score.score)},
            "rubric": {"S": score.rubric},
            "tenant_id": {"S": str(detail.get("tenant_id", ""))},
            "model_id": {"S": str(detail.get("model_id", ""))},
            "created_at": {"N": str(int(time.time()))},
            "evicted": {"BOOL": self._evicts(score, detail)},
        })
        return score

    def _evicts(self, score: Score, detail: dict[str, Any]) -> bool:
        """A cached answer the judge scores below the bar is not served again."""
        if self._cache is None or not detail.get("cache_ref") or score.score >= self._evict_below:
            return False
        self._cache.evict(EntryRef.of(detail["cache_ref"]))
        return True
