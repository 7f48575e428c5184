"""Key lookup as the store grows (issue 11): the authorizer's ``KeyStore.find`` with 10, 1,000 and
100,000 keys in the table, on moto in-process. Prints items read and p50/p99 per lookup: one GetItem
by the key's hash, whatever the count (the earlier secret compared every stored hash, and held at
most about 300 keys in its 64 KB)."""

from __future__ import annotations

import os
import statistics
import time

import boto3
from moto import mock_aws

from llm_gateway.contract import KEYS_BY_ID_INDEX
from llm_gateway.core.tenants import KeyStore, key_item, new_record

SIZES = tuple(int(n) for n in os.environ.get("BENCH_KEY_SIZES", "10,1000,100000").split(","))


def main() -> None:
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    print(f"{'keys':>8} {'items read/lookup':>18} {'lookup ms p50':>14} {'p99':>7}   (seeded in)")
    for size in SIZES:
        with mock_aws():
            ddb = boto3.client("dynamodb")
            ddb.create_table(TableName="keys", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "hash", "AttributeType": "S"},
                                                   {"AttributeName": "key_id", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "hash", "KeyType": "HASH"}],
                             GlobalSecondaryIndexes=[{
                                 "IndexName": KEYS_BY_ID_INDEX, "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "key_id", "KeyType": "HASH"}]}])
            started = time.perf_counter()
            made = [new_record(f"t_{i % 500}", f"key {i}") for i in range(size)]
            for at in range(0, size, 25):
                ddb.batch_write_item(RequestItems={"keys": [{"PutRequest": {"Item": key_item(r)}}
                                                            for _, r in made[at:at + 25]]})
            seeded = time.perf_counter() - started
            store, reads = KeyStore("keys", ddb), list[int]()
            ddb.meta.events.register("after-call.dynamodb",
                                     lambda parsed, reads=reads, **_: reads.append(int("Item" in parsed)))
            probes = [made[i * size // 200][0] for i in range(200)]
            timings = []
            for key in probes:
                t0 = time.perf_counter()
                assert store.find(key) is not None
                timings.append((time.perf_counter() - t0) * 1000)
            p99 = statistics.quantiles(timings, n=100)[98]
            print(f"{size:>8,} {sum(reads) / len(probes):>18.1f} {statistics.median(timings):>14.2f} {p99:>7.2f}"
                  f"   ({seeded:.0f} s)")


if __name__ == "__main__":
    main()
