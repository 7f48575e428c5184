"""The AWS cost of a million requests, by component, from the AWS calls a bench run counted (the
emulator's call ledger: operation and bytes of each call) and list prices. Used by
bench/performance.py; the README quotes its table.

Prices: us-east-1 list prices (on-demand, no free tier) as the team knew them on 2026-11-24; no
pricing page could be fetched from this machine, so check them before quoting a bill. The S3
Vectors minimum of 128 KB of logical data per PutVectors call is taken from a summary of its
pricing page, not the page itself. Lambda is priced for arm64, the architecture the constructs
deploy. The authorizer is left out: API Gateway caches its answer per key for the TTL, so it runs
about once per key every 5 minutes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

PRICES_READ_ON = "2026-11-24"
API_GATEWAY_REST = 3.50e-6  # per request
LAMBDA_REQUEST = 0.20e-6
LAMBDA_GB_SECOND_ARM = 0.0000133334
DYNAMODB_WRITE_UNIT = 0.625e-6  # on-demand, per write request unit (1 KB)
DYNAMODB_READ_UNIT = 0.125e-6  # per read request unit (4 KB strongly consistent, 8 KB eventually)
EVENTBRIDGE_EVENT = 1.00e-6  # custom events, per 64 KB
SQS_REQUEST = 0.40e-6  # standard queues, per 64 KB chunk
S3V_QUERY = 2.50e-6  # per QueryVectors call (data processed: under $0.01 a million at 1e4 vectors)
S3V_PUT_GB = 0.20  # per GB of logical data put, at least 128 KB a call
CLOUDWATCH_LOG_GB = 0.50  # ingestion
LOG_BYTES_PER_REQUEST = 1_500  # the request record and the function's platform lines (an estimate)
USAGE_LINE_BYTES = 600  # a usage record's log line (about 570 for a default-profile answer)
USAGE_BATCH = 10  # usage lines a subscription delivery carries, an assumption (at 20 requests/s, about 20)
USAGE_MB, USAGE_SECONDS = 512, 0.1  # the usage function's size, and its time a delivery (a transaction)

GATEWAY_MB_BEFORE = 1024  # what the construct asked for before issue 12
JUDGE_MB = 512
JUDGE_SECONDS = 1.0  # the judge model's answer time, per judged request (an assumption)

KB, GB = 1024, 1024**3


def per_request(calls: list[dict[str, Any]], requests: int) -> dict[str, float]:
    """Dollars per request by component, from the calls the emulator served for ``requests``."""
    cost: dict[str, float] = defaultdict(float)
    for call in calls:
        service, _, operation = call["operation"].partition(".")
        sent, received = int(call["sent"]), int(call["received"])
        if service == "DynamoDB":
            if operation in ("Query", "GetItem", "BatchGetItem", "Scan"):
                cost["DynamoDB reads"] += max(1, math.ceil(received / (8 * KB))) * DYNAMODB_READ_UNIT
            elif operation in ("UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
                # the emulator's count: a unit per KB of each item, twice that in a transaction
                cost["DynamoDB writes"] += int(call.get("units") or max(1, math.ceil(sent / KB))) \
                    * DYNAMODB_WRITE_UNIT
        elif service == "AWSEvents" and operation == "PutEvents":  # the emulator's count: events, not calls
            cost["EventBridge"] += int(call.get("units") or max(1, math.ceil(sent / (64 * KB)))) * EVENTBRIDGE_EVENT
        elif service == "AmazonSQS" and operation != "ReceiveMessage":  # polls are the judge's, below
            cost["SQS"] += max(1, math.ceil(sent / (64 * KB))) * SQS_REQUEST
        elif service == "s3vectors" and operation == "QueryVectors":
            cost["S3 Vectors"] += S3V_QUERY
        elif service == "s3vectors" and operation == "PutVectors":
            cost["S3 Vectors"] += max(sent, 128 * KB) / GB * S3V_PUT_GB
    return {name: value / requests for name, value in cost.items()}


def table(calls: list[dict[str, Any]], requests: int, *, memory_mb: int, answer_s: float, overhead_s: float,
          judged: float) -> dict[str, float]:
    """Dollars per million requests by component."""
    rows = {"API Gateway (REST)": API_GATEWAY_REST,
            "Lambda, gateway": LAMBDA_REQUEST + memory_mb / 1024 * (answer_s + overhead_s) * LAMBDA_GB_SECOND_ARM,
            **per_request(calls, requests),
            "CloudWatch Logs": (LOG_BYTES_PER_REQUEST + USAGE_LINE_BYTES) / GB * CLOUDWATCH_LOG_GB,
            # the usage ledger's deliveries (its DynamoDB writes are in the writes line)
            "Lambda, usage": (LAMBDA_REQUEST + USAGE_MB / 1024 * USAGE_SECONDS * LAMBDA_GB_SECOND_ARM) / USAGE_BATCH}
    if judged:
        # one invocation per batch of up to 10 events; the judge waits for its model once per judged event
        rows["Lambda, judge"] = LAMBDA_REQUEST / 10 + judged * JUDGE_MB / 1024 * JUDGE_SECONDS * LAMBDA_GB_SECOND_ARM
    return {name: value * 1e6 for name, value in rows.items()}


def print_costs(calls: dict[str, list[dict[str, Any]]], requests: int, *, gateway_mb: float, memory_mb: int,
                overhead_ms: dict[str, float], judged: float) -> None:
    print(f"\n== AWS cost of a million requests (USD, us-east-1 list prices as of {PRICES_READ_ON}; "
          f"calls counted in this run) ==")
    columns = [(profile, answer_s) for profile in calls for answer_s in (1.0, 10.0)]
    tables = {(profile, answer_s): table(calls[profile], requests, memory_mb=memory_mb, answer_s=answer_s,
                                         overhead_s=overhead_ms[profile] / 1000,
                                         judged=judged if profile == "default" else 0.0)
              for profile, answer_s in columns}
    before = table(calls["default"], requests, memory_mb=GATEWAY_MB_BEFORE, answer_s=1.0,
                   overhead_s=overhead_ms["default"] / 1000, judged=judged)
    names = list(dict.fromkeys(name for t in tables.values() for name in t))
    print(f"{'component':22s}" + "".join(f"{f'{p}, {a:.0f} s':>20s}" for p, a in columns))
    for name in names:
        print(f"{name:22s}" + "".join(f"{tables[c].get(name, 0.0):20.2f}" for c in columns))
    print(f"{'total':22s}" + "".join(f"{sum(tables[c].values()):20.2f}" for c in columns))
    print(f"Gateway function at {memory_mb} MB (it peaked at {gateway_mb:.0f} MB here); judge samples "
          f"{judged:.0%} of answers at {JUDGE_MB} MB, {JUDGE_SECONDS:.0f} s each.")
    print(f"The same calls at 1,024 MB, the construct's earlier size (default, 1 s): {sum(before.values()):.2f}; "
          f"now {sum(tables[('default', 1.0)].values()):.2f} "
          f"({sum(tables[('default', 1.0)].values()) / sum(before.values()):.2f}x)")
    container = 378.0  # a month: AWS's LiteLLM-on-ECS guidance, before any token
    per_million = sum(tables[("default", 1.0)].values())
    print(f"Break-even with an always-on container deployment (${container:.0f} a month): "
          f"{container / per_million:.1f} million requests of 1 s a month "
          f"({container / per_million * 1e6 / (30 * 86400):.1f} requests/s on average)")
