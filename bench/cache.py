"""Semantic cache at scale: exact-repeat hits, semantic recall and items read per lookup with
1e3, 1e4 and 1e5 entries in one scope (issue 10).

The entries live in DynamoDB as the gateway writes them (``SemanticCache.store`` through boto3) on
moto in-process, with the local runner's partitioned-``Query`` fix applied. The 103 paraphrase pairs
of the shipped calibration file are the questions: one side is cached among the distractors, the
other is asked. Distractors are 384-d vectors drawn from a Gaussian fitted to the all-MiniLM-L6-v2
embeddings of the file's questions (their mean and covariance), so they crowd the same region of
the space real questions do; embedding 1e5 real questions would take half an hour on 2 cores.

Recall is measured against a brute-force scan with the same threshold and verification: the share
of the paraphrases the scan would serve that the index also serves.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
import numpy as np
from moto import mock_aws

from llm_gateway.cache_cli import read_pairs
from llm_gateway.contract import cache_threshold_for
from llm_gateway.core.cache import Embedding, Scope, SemanticCache
from llm_gateway.core.providers import minilm
from llm_gateway.core.verify import same_question
from llm_gateway.local.emulator import partitioned_queries

SIZES = tuple(int(n) for n in os.environ.get("BENCH_CACHE_SIZES", "1000,10000,100000").split(","))
TABLE = "bench-cache"


def make_table(ddb: Any) -> None:
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])


def count_reads(ddb: Any) -> list[int]:
    reads: list[int] = []
    ddb.meta.events.register("after-call.dynamodb.Query", lambda parsed, **_: reads.append(int(parsed["Count"])))
    ddb.meta.events.register("after-call.dynamodb.GetItem", lambda parsed, **_: reads.append(int("Item" in parsed)))
    return reads


def main() -> None:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    partitioned_queries()
    pairs = [p for p in read_pairs(None) if p.same]
    model = minilm.load()
    cached = np.array(model.embed([p.a for p in pairs]))
    asked = np.array(model.embed([p.b for p in pairs]))
    rng = np.random.default_rng(7)
    real = np.vstack([cached, asked])
    mean, cov = real.mean(0), np.cov(real, rowvar=False) + 1e-4 * np.eye(real.shape[1])
    threshold = cache_threshold_for(minilm.NAME)
    print(f"semantic cache at scale ({minilm.NAME}, threshold {threshold}, {len(pairs)} paraphrase pairs asked)")
    print(f"{'entries':>8} {'exact hits':>11} {'served':>7} {'scan serves':>12} {'recall':>7} "
          f"{'items read/lookup':>18} {'queries/lookup':>15} {'lookup ms p50':>14}")
    for size in SIZES:
        with mock_aws():
            ddb = boto3.client("dynamodb")
            make_table(ddb)
            cache, scope = SemanticCache(TABLE, ddb), Scope("t_bench", "default")
            distractors = rng.multivariate_normal(mean, cov, size - len(pairs), method="cholesky")
            distractors /= np.linalg.norm(distractors, axis=1, keepdims=True)
            started = time.perf_counter()
            for i, vector in enumerate(distractors):
                cache.store(scope, f"distractor question {i}", "-", Embedding(vector.tolist(), minilm.NAME),
                            request_id=f"d{i}")
            for i, (pair, vector) in enumerate(zip(pairs, cached, strict=True)):
                cache.store(scope, pair.a, f"answer {i}", Embedding(vector.tolist(), minilm.NAME), request_id=f"p{i}")
            seeded = time.perf_counter() - started

            reads = count_reads(ddb)
            exact = 0
            for i, (pair, vector) in enumerate(zip(pairs, cached, strict=True)):
                repeat = cache.lookup(scope, pair.a, Embedding(vector.tolist(), minilm.NAME))
                exact += bool(repeat and repeat.answer == f"answer {i}")
            reads.clear()
            served, scan_serves, timings, per_lookup, queries = 0, 0, [], [], []
            for i, (pair, vector) in enumerate(zip(pairs, asked, strict=True)):
                before = len(reads)
                t0 = time.perf_counter()
                hit = cache.lookup(scope, pair.b, Embedding(vector.tolist(), minilm.NAME))
                timings.append((time.perf_counter() - t0) * 1000)
                per_lookup.append(sum(reads[before:]) - (1 if hit else 0))  # items of the index, not the answer
                queries.append(len(reads) - before - (1 if hit else 0))
                # What a scan of every entry would serve: the most similar verified one, if it is ours.
                ours = float(cached[i] @ vector)
                nearest_distractor = float((distractors @ vector).max())
                scan_hit = ours >= threshold and same_question(pair.b, pair.a) and ours >= nearest_distractor
                scan_serves += scan_hit
                served += bool(scan_hit and hit and hit.answer == f"answer {i}")
            print(f"{size:>8,} {exact:>5}/{len(pairs):<5} {served:>7} {scan_serves:>12} "
                  f"{served / max(scan_serves, 1):>7.1%} {np.mean(per_lookup):>18.1f} {np.mean(queries):>15.1f} "
                  f"{np.median(timings):>14.2f}   (seeded in {seeded:.0f} s)")


if __name__ == "__main__":
    main()
