"""Semantic cache at scale: exact-repeat hits, semantic recall and items read per lookup with
1e3, 1e4 and 1e5 entries in one scope (issue 10), for both semantic indexes: the LSH forest on
DynamoDB (the default) and S3 Vectors (``SemanticCache(vector_index=True)``).

The entries live in DynamoDB as the gateway writes them (``SemanticCache.store`` through boto3) on
moto in-process, with the local runner's partitioned-``Query`` fix applied. The 103 paraphrase pairs
of the shipped calibration file are the questions: one side is cached among the distractors, the
other is asked. Distractors are 384-d vectors drawn from a Gaussian fitted to the all-MiniLM-L6-v2
embeddings of the file's questions (their mean and covariance), so they crowd the same region of
the space real questions do; embedding 1e5 real questions would take half an hour on 2 cores.

Recall is measured against a brute-force scan with the same threshold and verification: the share
of the paraphrases the scan would serve that the index also serves. The S3 Vectors rows run on the
local emulator, whose QueryVectors is exact: they show the cache's own logic holds at every size
(items read stay at top-k), not S3 Vectors' approximate recall, which only AWS can measure. Seeding
the forest with 1e5 entries through moto takes about half an hour, so its sizes stop at
BENCH_CACHE_LSH_MAX (default 10000).
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
from llm_gateway.core.cache import Embedding, Scope, SemanticCache, VectorBucketIndex
from llm_gateway.core.providers import minilm
from llm_gateway.core.verify import same_question
from llm_gateway.local.emulator import partitioned_queries
from llm_gateway.local.s3vectors import vector_queries

SIZES = tuple(int(n) for n in os.environ.get("BENCH_CACHE_SIZES", "1000,10000,100000").split(","))
LSH_MAX = int(os.environ.get("BENCH_CACHE_LSH_MAX", "10000"))
TABLE = "bench-cache"


def make_table(ddb: Any) -> None:
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])


def count_reads(clients: list[Any]) -> list[int]:
    """Items read by the cache's clients, one entry per call: DynamoDB Query and GetItem, S3 Vectors
    QueryVectors."""
    reads: list[int] = []
    for client in clients:
        events = client.meta.events
        events.register("after-call.dynamodb.Query", lambda parsed, **_: reads.append(int(parsed["Count"])))
        events.register("after-call.dynamodb.GetItem", lambda parsed, **_: reads.append(int("Item" in parsed)))
        events.register("after-call.s3vectors.QueryVectors",
                        lambda parsed, **_: reads.append(len(parsed["vectors"])))
    return reads


def seeded_cache(index: str, size: int, distractors: Any, pairs: list[Any],
                 cached: Any) -> tuple[SemanticCache, list[Any]]:
    """A cache of ``size`` entries in one scope (the distractors, then the cached side of each
    pair), and the clients it reads with."""
    ddb, scope = boto3.client("dynamodb"), Scope("t_bench", "default")
    make_table(ddb)
    vectors = None
    if index == "s3vectors":
        vectors_client = boto3.client("s3vectors")
        vectors_client.create_vector_bucket(vectorBucketName="bench-cache")
        vectors = VectorBucketIndex(vectors_client.get_vector_bucket(vectorBucketName="bench-cache")
                                    ["vectorBucket"]["vectorBucketArn"], vectors_client)
    cache = SemanticCache(TABLE, ddb, vectors=vectors)
    embeddings = [Embedding(vector.tolist(), minilm.NAME) for vector in distractors]
    if vectors:  # in bulk: what the index holds is what store() would put, without 1e5 round trips
        expires = int(time.time()) + 3600
        vectors.add([(cache.ref(scope, e, f"d{i}", f"distractor question {i}").vectors[0], scope,
                      f"distractor question {i}", e, expires) for i, e in enumerate(embeddings)])
    else:
        for i, embedding in enumerate(embeddings):
            cache.store(scope, f"distractor question {i}", "-", embedding, request_id=f"d{i}")
    for i, (pair, vector) in enumerate(zip(pairs, cached, strict=True)):
        cache.store(scope, pair.a, f"answer {i}", Embedding(vector.tolist(), minilm.NAME), request_id=f"p{i}")
    return cache, [ddb, *([vectors_client] if vectors else [])]


def main() -> None:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    partitioned_queries()
    vector_queries()
    pairs = [p for p in read_pairs(None) if p.same]
    model = minilm.load()
    cached = np.array(model.embed([p.a for p in pairs]))
    asked = np.array(model.embed([p.b for p in pairs]))
    rng = np.random.default_rng(7)
    real = np.vstack([cached, asked])
    mean, cov = real.mean(0), np.cov(real, rowvar=False) + 1e-4 * np.eye(real.shape[1])
    threshold = cache_threshold_for(minilm.NAME)
    scope = Scope("t_bench", "default")
    print(f"semantic cache at scale ({minilm.NAME}, threshold {threshold}, {len(pairs)} paraphrase pairs asked)")
    print(f"{'index':>10} {'entries':>8} {'exact hits':>11} {'served':>7} {'scan serves':>12} {'recall':>7} "
          f"{'items read/lookup':>18} {'calls/lookup':>13} {'lookup ms p50':>14}")
    for size in SIZES:
        distractors = rng.multivariate_normal(mean, cov, size - len(pairs), method="cholesky")
        distractors /= np.linalg.norm(distractors, axis=1, keepdims=True)
        for index in ("lsh", "s3vectors"):
            if index == "lsh" and size > LSH_MAX:
                print(f"{index:>10} {size:>8,}   (skipped: seeding takes ~30 min; BENCH_CACHE_LSH_MAX={size} runs it)")
                continue
            with mock_aws():
                started = time.perf_counter()
                cache, clients = seeded_cache(index, size, distractors, pairs, cached)
                seeded = time.perf_counter() - started
                reads = count_reads(clients)
                exact = 0
                for i, (pair, vector) in enumerate(zip(pairs, cached, strict=True)):
                    repeat = cache.lookup(scope, pair.a, Embedding(vector.tolist(), minilm.NAME))
                    exact += bool(repeat and repeat.answer == f"answer {i}")
                reads.clear()
                served, scan_serves, timings, per_lookup, calls = 0, 0, [], [], []
                for i, (pair, vector) in enumerate(zip(pairs, asked, strict=True)):
                    before = len(reads)
                    t0 = time.perf_counter()
                    hit = cache.lookup(scope, pair.b, Embedding(vector.tolist(), minilm.NAME))
                    timings.append((time.perf_counter() - t0) * 1000)
                    per_lookup.append(sum(reads[before:]) - (1 if hit else 0))  # the index's items, not the answer
                    calls.append(len(reads) - before - (1 if hit else 0))
                    # What a scan of every entry would serve: the most similar verified one, if it is ours.
                    ours = float(cached[i] @ vector)
                    nearest_distractor = float((distractors @ vector).max())
                    scan_hit = ours >= threshold and same_question(pair.b, pair.a) and ours >= nearest_distractor
                    scan_serves += scan_hit
                    served += bool(scan_hit and hit and hit.answer == f"answer {i}")
            print(f"{index:>10} {size:>8,} {exact:>5}/{len(pairs):<5} {served:>7} {scan_serves:>12} "
                  f"{served / max(scan_serves, 1):>7.1%} {np.mean(per_lookup):>18.1f} {np.mean(calls):>13.1f} "
                  f"{np.median(timings):>14.2f}   (seeded in {seeded:.0f} s)")


if __name__ == "__main__":
    main()
