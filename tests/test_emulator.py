"""The local runner's fixes to moto, checked against what DynamoDB answers."""

from __future__ import annotations

import base64
import gc
import gzip
import http.client
import io
import json
import math
import operator
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import numpy
import pytest
from moto import mock_aws
from moto.s3vectors.models import s3vectors_backends

from llm_gateway.core.usage import USAGE_LINE_PATTERN, UsageRecord
from llm_gateway.local import counter_updates, iam_audit
from llm_gateway.local.cloudformation import ACCOUNT, REGION
from llm_gateway.local.counter_updates import Unsupported, apply, direct_counter_updates
from llm_gateway.local.emulator import (
    CallLedger,
    EmulatorProcess,
    _RecentlyDeleted,
    cheap_queue_scans,
    direct_item_responses,
    event_units,
    item_undo_transactions,
    items_sized_once,
    partitioned_queries,
    write_units,
)
from llm_gateway.local.lambda_emulation import FunctionFailed, QueuePoller
from llm_gateway.local.log_subscriptions import LogDelivery
from llm_gateway.local.runner import TASK_ROOT, free_port
from llm_gateway.local.s3vectors import _Rows, vector_queries
from tests.conftest import eventually

OPS = {">=": operator.ge, ">": operator.gt, "<": operator.lt, "<=": operator.le}


def _table_t() -> Any:
    """A client of moto in-process, with table ``t``: string ``pk`` and ``sk``."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    return ddb


@pytest.mark.parametrize("forward", [True, False])
def test_a_range_query_reads_a_window_and_answers_as_dynamodb_does(forward: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Range conditions with a Limit are answered from a bisection of the partition's sorted keys
    (kept through puts, overwrites and deletes): the same items, in the same order, with a
    LastEvaluatedKey exactly when more match."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto in-process, not a local runner's emulator
    partitioned_queries()
    rng = random.Random(5)
    with mock_aws():
        ddb = _table_t()
        stored: set[str] = set()
        for step in range(200):
            sk = f"{rng.randrange(1000):03x}"
            if step % 5 == 4 and stored:
                gone = rng.choice(sorted(stored))
                ddb.delete_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": gone}})
                stored.discard(gone)
            ddb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": str(step)}})
            ddb.put_item(TableName="t", Item={"pk": {"S": "other"}, "sk": {"S": sk}})
            stored.add(sk)
            if step % 10:
                continue
            at, limit = f"{rng.randrange(1000):03x}", rng.randint(1, 6)
            for op in (">=", ">", "<", "<="):
                reply = ddb.query(TableName="t", KeyConditionExpression=f"pk = :p AND sk {op} :at", Limit=limit,
                                  ScanIndexForward=forward,
                                  ExpressionAttributeValues={":p": {"S": "p"}, ":at": {"S": at}})
                matching = sorted(k for k in stored if OPS[op](k, at))
                expected = (matching if forward else matching[::-1])[:limit]
                assert [i["sk"]["S"] for i in reply["Items"]] == expected, (op, at, limit)
                assert ("LastEvaluatedKey" in reply) == (len(matching) > limit)


def test_a_cancelled_transaction_leaves_every_item_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transactions back up only the items they write: a cancelled one (its third condition fails
    after a put and an update were applied) restores both and reports each item's reason, as
    DynamoDB does; a transaction that holds applies all of it."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    item_undo_transactions()
    with mock_aws():
        ddb = _table_t()
        for n in range(50):
            ddb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": f"{n:02}"}, "n": {"N": "1"}})
        before = ddb.scan(TableName="t")["Items"]

        def transaction(condition: str) -> list[dict[str, Any]]:
            return [{"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}},
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "07"}},
                                "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                    {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "08"}},
                                "UpdateExpression": "ADD n :one", "ConditionExpression": condition,
                                "ExpressionAttributeValues": {":one": {"N": "1"}}}}]

        with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
            ddb.transact_write_items(TransactItems=transaction("attribute_not_exists(pk)"))
        reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
        assert reasons == ["None", "None", "ConditionalCheckFailed"]
        assert sorted(ddb.scan(TableName="t")["Items"], key=str) == sorted(before, key=str)

        ddb.transact_write_items(TransactItems=transaction("attribute_exists(pk)"))
        after = {i["sk"]["S"]: i.get("n", {}).get("N") for i in ddb.scan(TableName="t")["Items"]}
        assert (after["new"], after["07"], after["08"], after["09"]) == (None, "2", "2", "1")


def test_an_item_sized_once_is_built_and_refused_as_moto_does() -> None:
    """DynamoDB's item size limit, summed once: the same attributes, and the same refusal on either
    side of the limit, as moto's attribute-by-attribute check."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    items_sized_once()
    ours, motos = Item.__init__, Item.__init__.motos  # type: ignore[attr-defined]

    def built(init: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
        item: Any = Item.__new__(Item)
        try:
            init(item, DynamoType(attrs["pk"]), None, attrs)
        except ItemSizeTooLarge:
            return None
        return {key: value.to_json() for key, value in item.attrs.items()}

    cases = [{"pk": {"S": "p"}, "n": {"N": "1"}, "l": {"L": [{"S": "a"}, {"N": "2"}]},
              "m": {"M": {"k": {"BOOL": True}}}}]
    for filler in (404_000, 404_988, 404_989, 404_990, 406_000):  # the limit falls between the middle ones
        cases.append({"pk": {"S": "p"}, "text": {"S": "x" * filler}, "ss": {"SS": ["a", "bb"]}})
    results = [built(ours, attrs) for attrs in cases]
    assert results == [built(motos, attrs) for attrs in cases]
    assert results[0] and None in results and results[1]  # both sides of the limit were tried


def test_item_responses_written_directly_equal_motos(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator writes item operations' results with json.dumps instead of moto's shape walk:
    every value type, each operation, the same answer as moto's own writer gives."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto.dynamodb.responses import DynamoResult

    item = {"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": b"\x00\xffbin"},
            "t": {"BOOL": True}, "z": {"NULL": True}, "l": {"L": [{"S": "x"}, {"N": "2"}, {"B": b"\x01"}]},
            "m": {"M": {"in": {"SS": ["a", "b"]}, "bs": {"BS": [b"\x02", b"\x03"]}}}, "ns": {"NS": ["1", "2"]}}
    key = {"pk": {"S": "p"}, "sk": {"S": "a"}}

    def answers() -> list[dict[str, Any]]:
        with mock_aws():
            ddb = _table_t()
            replies = [
                ddb.put_item(TableName="t", Item=item, ReturnConsumedCapacity="TOTAL"),
                ddb.put_item(TableName="t", Item=item, ReturnValues="ALL_OLD"),
                ddb.get_item(TableName="t", Key=key),
                ddb.query(TableName="t", KeyConditionExpression="pk = :p", Limit=1,
                          ExpressionAttributeValues={":p": {"S": "p"}}),
                ddb.scan(TableName="t"),
                ddb.batch_get_item(RequestItems={"t": {"Keys": [key]}}),
                ddb.update_item(TableName="t", Key=key, UpdateExpression="ADD c :one",
                                ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW"),
                ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {**key, "sk": {"S": "b"}}}}]}),
                ddb.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD"),
            ]
        for reply in replies:
            reply.pop("ResponseMetadata")
        return replies

    motos = getattr(DynamoResult.execute_result, "moto", DynamoResult.execute_result)
    monkeypatch.setattr(DynamoResult, "execute_result", motos)  # moto's own writer; undone after the test
    mothers = answers()
    direct_item_responses()
    assert answers() == mothers


def test_emulated_vector_queries_stay_exact_through_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """QueryVectors answers from a matrix updated in place by puts, overwrites and deletes: always
    the same neighbours, in the same order, as comparing against every stored vector."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    vector_queries()
    rng = random.Random(9)
    with mock_aws():
        s3v = boto3.client("s3vectors", region_name="us-east-1")
        s3v.create_vector_bucket(vectorBucketName="bkt")
        s3v.create_index(vectorBucketName="bkt", indexName="idx", dataType="float32", dimension=4,
                         distanceMetric="cosine")
        stored: dict[str, list[float]] = {}
        for step in range(120):
            key = f"k{rng.randrange(40)}"
            if step % 4 == 3 and stored:
                gone = rng.choice(sorted(stored))
                s3v.delete_vectors(vectorBucketName="bkt", indexName="idx", keys=[gone])
                del stored[gone]
            data = [rng.uniform(-1, 1) for _ in range(4)]
            s3v.put_vectors(vectorBucketName="bkt", indexName="idx", vectors=[{"key": key, "data": {"float32": data}}])
            stored[key] = [float(numpy.float32(x)) for x in data]
            query = [rng.uniform(-1, 1) for _ in range(4)]
            found = s3v.query_vectors(vectorBucketName="bkt", indexName="idx", topK=5, queryVector={"float32": query},
                                      returnDistance=True)["vectors"]
            expected = sorted(stored, key=lambda k: 1 - _cosine(stored[k], query))[:5]
            assert [v["key"] for v in found] == expected

        # Past the partial sort's reach: a filter that only the farthest vectors pass.
        many = [{"key": f"m{i}", "data": {"float32": [1.0, i / 500, 0.0, 0.0]}, "metadata": {"far": i >= 495}}
                for i in range(500)]
        for start in range(0, 500, 100):
            s3v.put_vectors(vectorBucketName="bkt", indexName="idx", vectors=many[start:start + 100])
        found = s3v.query_vectors(vectorBucketName="bkt", indexName="idx", topK=3, filter={"far": True},
                                  queryVector={"float32": [1, 0, 0, 0]})["vectors"]
        assert [v["key"] for v in found] == ["m495", "m496", "m497"]


@pytest.mark.parametrize("shape", ["spread", "clustered"])
def test_the_int8_first_pass_finds_exactly_the_nearest_rows(shape: str) -> None:
    """Past ``INT8_FROM`` rows a cosine query reads int8 codes first and scores exactly only the
    rows that can be among the nearest: the same rows, distances and order (ties by row) as
    scoring every row, through overwrites and deletes, among exact duplicates, and where 200
    rows lie within 1e-3 of each other, far closer than int8 scores can tell apart."""
    rng = numpy.random.default_rng(3)
    rows = _Rows(numpy, 384)
    size = rows.INT8_FROM + 500
    centres = rng.normal(size=(12, 384)).astype(numpy.float32)
    data = (centres[rng.integers(0, 12, size)] + 0.05 * rng.normal(size=(size, 384)) if shape == "clustered"
            else rng.normal(size=(size, 384))).astype(numpy.float32)
    data[1::97] = data[::97][:len(data[1::97])]  # exact duplicates: ties
    target = rng.normal(size=384)
    target /= numpy.linalg.norm(target)
    for i, cosine in zip(range(size - 200, size), numpy.linspace(0.9, 0.901, 200), strict=True):
        aside = rng.normal(size=384)
        aside -= aside @ target * target
        data[i] = cosine * target + math.sqrt(1 - cosine ** 2) * aside / numpy.linalg.norm(aside)
    for i, vector in enumerate(data):
        rows.put(f"k{i}", vector)
    for i in range(0, 300, 3):
        rows.delete(f"k{i}")
        rows.put(f"k{i + 1}", data[i + 2] * 2)  # the same direction, another length
    near = data[rng.integers(0, size, 10)] + 0.01 * rng.normal(size=(10, 384))
    for query in [target, *rng.normal(size=(10, 384)), *near]:
        q = query.astype(numpy.float32)
        head = rows.cosine_head(q, 32)
        assert head is not None
        every = rows.cosine(q)
        expected = numpy.lexsort((numpy.arange(len(every)), every))[:32]
        assert head[0].tolist() == expected.tolist()
        assert numpy.allclose(head[1], every[expected], atol=1e-6)


def test_stored_vectors_are_not_lists_the_collector_walks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A put's numbers are kept in one array a vector, not a list of Python floats: at 1e4 vectors
    of 384 those lists were 123 MB, and every full collection walked them (up to 111 ms). They
    read back exactly as they were put."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    vector_queries()
    with mock_aws():
        s3v = boto3.client("s3vectors", region_name="us-east-1")
        s3v.create_vector_bucket(vectorBucketName="bkt")
        s3v.create_index(vectorBucketName="bkt", indexName="idx", dataType="float32", dimension=3,
                         distanceMetric="cosine")
        put = [{"key": f"k{i}", "data": {"float32": [0.1 * i, 0.5, -2.0]}} for i in range(5)]
        s3v.put_vectors(vectorBucketName="bkt", indexName="idx", vectors=put)
        backend = s3vectors_backends["123456789012"]["aws"]
        index = backend.get_index("bkt", index_name="idx", index_arn="")
        # What a collection visits from each vector's numbers: a list's every float, an array's type.
        assert all(len(gc.get_referents(vector.data["float32"])) <= 1 for vector in index.vectors.values())
        got = s3v.get_vectors(vectorBucketName="bkt", indexName="idx", keys=[v["key"] for v in put], returnData=True)
        assert sorted(got["vectors"], key=lambda v: v["key"]) == put


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_the_call_ledger_counts_dynamodb_write_units_as_dynamodb_bills_them() -> None:
    """A unit per KB of each item written, twice that in a transaction: what the bench's cost table
    prices (a transaction's bytes would undercount its units five times over)."""
    record = {"pk": {"S": "request#t"}, "sk": {"S": "x"}, "record": {"S": "r" * 1500}}
    counter = {"Update": {"TableName": "t", "Key": {"pk": {"S": "usage#t"}, "sk": {"S": "2026-11-25#*"}},
                          "UpdateExpression": "ADD #n0 :v0", "ExpressionAttributeNames": {"#n0": "requests"},
                          "ExpressionAttributeValues": {":v0": {"N": "1"}}}}
    transaction = {"TransactItems": [{"Put": {"TableName": "t", "Item": record}}, *[counter] * 4]}
    assert write_units("DynamoDB.TransactWriteItems", json.dumps(transaction).encode()) == 2 * (2 + 4)
    assert write_units("DynamoDB.PutItem", json.dumps({"TableName": "t", "Item": {"pk": {"S": "k"}}}).encode()) == 1
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": record}}, {"DeleteRequest": {"Key": {"pk": {"S": "k"}}}}]}}
    assert write_units("DynamoDB.BatchWriteItem", json.dumps(batch).encode()) == 2 + 1

    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"{}"]

    ledger, body = CallLedger(app), json.dumps(transaction).encode()
    ledger({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "PATH_INFO": "/", "REQUEST_METHOD": "POST"}, lambda *_: None)
    assert seen == [body]  # the emulator still reads the request whole
    listing = json.loads(b"".join(ledger({"PATH_INFO": "/_local/calls", "REQUEST_METHOD": "GET"}, lambda *_: None)))
    assert listing[0]["operation"] == "DynamoDB.TransactWriteItems" and listing[0]["units"] == 12


def test_the_call_ledger_counts_the_events_a_put_events_is_billed_for() -> None:
    """An event per entry (per 64 KB of it): a PutEvents call that carries three entries, the
    answers of three requests, is billed three events, not one."""
    small = {"Source": "s", "DetailType": "t", "Detail": json.dumps({"answer": "a" * 1000})}
    large = {**small, "Detail": json.dumps({"answer": "a" * 100_000})}
    assert event_units(json.dumps({"Entries": [small, small, small]}).encode()) == 3
    assert event_units(json.dumps({"Entries": [small, large]}).encode()) == 1 + 2
    assert event_units(b"not json") == 0


def test_numeric_adds_applied_directly_answer_as_moto_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters (``ADD #a :x, ...``) added up directly come out as DynamoDB's ADD defines them,
    inside transactions too; what is not in the grammar is still moto's to validate."""
    from decimal import Decimal

    from botocore.exceptions import ClientError

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    direct_counter_updates()
    rng = random.Random(5)
    with mock_aws():
        ddb = _table_t()
        expected: dict[tuple[str, str], dict[str, Decimal]] = {}
        for step in range(200):
            key = (f"p{rng.randrange(3)}", f"s{rng.randrange(3)}")
            counters = rng.sample(["requests", "tokens", "cost", "block:x"], rng.randrange(1, 4))
            amounts = {c: rng.choice(["1", "7", "-2", "0.25", "1000000"]) for c in counters}
            update = {"TableName": "t", "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
                      "UpdateExpression": "ADD " + ", ".join(f"#n{i} :v{i}" for i in range(len(counters))),
                      "ExpressionAttributeNames": {f"#n{i}": c for i, c in enumerate(counters)},
                      "ExpressionAttributeValues": {f":v{i}": {"N": amounts[c]} for i, c in enumerate(counters)}}
            if step % 3:
                ddb.update_item(**update)
            else:
                ddb.transact_write_items(TransactItems=[{"Update": update}])
            for c in counters:
                expected.setdefault(key, {})[c] = expected.get(key, {}).get(c, Decimal(0)) + Decimal(amounts[c])
        for (pk, sk), counts in expected.items():
            item = ddb.get_item(TableName="t", Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
            assert {c: Decimal(item[c]["N"]) for c in counts} == counts

        first = {"pk": {"S": "p0"}, "sk": {"S": "s0"}}
        ddb.put_item(TableName="t", Item={**first, "label": {"S": "text"}})
        with pytest.raises(ClientError):  # ADD to a string: moto's own validation answers
            ddb.update_item(TableName="t", Key=first, UpdateExpression="ADD #n :v",
                            ExpressionAttributeNames={"#n": "label"}, ExpressionAttributeValues={":v": {"N": "1"}})
        with pytest.raises(ClientError):  # a condition that fails
            ddb.update_item(TableName="t", Key=first, UpdateExpression="ADD #n :v", ConditionExpression="#n > :v",
                            ExpressionAttributeNames={"#n": "hits"}, ExpressionAttributeValues={":v": {"N": "1"}})


def _random_update(rng: random.Random) -> dict[str, Any]:
    """An UpdateItem in the counters' grammar, or just outside it (a string added, a path
    written twice, an unused or missing placeholder, ``<>``, a nested path, a reserved word)."""
    names = {"#r": "requests", "#m": "minute", "#l": "label", "#x": "expires_at"}
    values: dict[str, dict[str, str]] = {}

    def value(kind: str = "N") -> str:  # moto fails (a 500) comparing a string with a number: kept apart
        placeholder = f":v{len(values)}"
        values[placeholder] = ({"S": rng.choice("ab")} if kind == "S"
                               else {"N": rng.choice(["0", "1", "3", "-2", "0.5", "10"])})
        return placeholder

    def path() -> str:
        return rng.choice(["#r", "#m", "#l", "#x", "tokens", "tokens", "#r", "#m"])

    def kind(path: str) -> str:
        return "S" if path == "#l" else "N"

    def condition(depth: int = 0) -> str:
        pick = rng.random()
        if depth < 2 and pick < 0.35:
            return f"({condition(depth + 1)}) {rng.choice(['AND', 'OR', 'and'])} {condition(depth + 1)}"
        if depth < 2 and pick < 0.42:
            return f"NOT ({condition(depth + 1)})"
        if pick < 0.6:
            return f"{rng.choice(['attribute_exists', 'attribute_not_exists'])}({path()})"
        left = path()
        right = value(kind(left))
        if rng.random() < 0.2:
            left, right = right, left
        return f"{left} {rng.choice(['=', '<', '<=', '>', '>=', '>=', '<', '<>'])} {right}"

    adds = [f"{p} {value('S' if rng.random() < 0.05 else 'N')}" for p in
            [rng.choice(["#r", "#m", "#x", "tokens"]) for _ in range(rng.randrange(0, 3))]]
    sets = [f"{p} = {rng.choice([value(kind(p)), f'if_not_exists({p}, {value(kind(p))})'])}" for p in
            [path() for _ in range(rng.randrange(0 if adds else 1, 3))]]
    update = " ".join(part for part in (("ADD " + ", ".join(adds)) if adds else "",
                                        ("SET " + ", ".join(sets)) if sets else "") if part)
    request: dict[str, Any] = {"TableName": "t", "UpdateExpression": update,
                               "Key": {"pk": {"S": f"p{rng.randrange(2)}"}, "sk": {"S": f"s{rng.randrange(2)}"}}}
    if rng.random() < 0.7:
        request["ConditionExpression"] = condition()
    if rng.random() < 0.5:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if rng.random() < 0.03:
        request["UpdateExpression"] += ", expires_at = :v0" if sets else " SET a.b = :v0"
    used = " ".join([request["UpdateExpression"], request.get("ConditionExpression", "")])
    kept_names = {k: v for k, v in names.items() if k in used or rng.random() < 0.03}
    request |= {"ExpressionAttributeValues": {k: v for k, v in values.items() if k in used or rng.random() < 0.03}}
    return request | ({"ExpressionAttributeNames": kept_names} if kept_names else {})


def test_counter_updates_applied_directly_answer_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random updates and conditions in the counters' grammar (and just outside it), each run
    through both paths: the same answers (attributes, errors, the item a failed condition returns)
    and the same items at the end. Most of them are decided by the direct path."""
    from botocore.exceptions import ClientError
    from moto.dynamodb import models, responses

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    direct_counter_updates()
    moto_update = models.DynamoDBBackend.update_item.moto  # type: ignore[attr-defined]
    moto_parser = responses.create_condition_expression_parser.moto  # type: ignore[attr-defined]
    rng = random.Random(11)
    requests = [_random_update(rng) for _ in range(300)]
    decided = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal decided
        try:
            item = apply(*args, **kwargs)
        except Unsupported:
            raise
        except Exception:
            decided += 1
            raise
        decided += 1
        return item

    def run() -> tuple[list[Any], list[Any]]:
        with mock_aws():
            ddb, answers = _table_t(), []
            for request in requests:
                try:
                    answers.append(("ok", ddb.update_item(**request, ReturnValues="ALL_NEW").get("Attributes")))
                except ClientError as error:
                    answers.append((error.response["Error"]["Code"], error.response.get("Item")))
            return answers, sorted(ddb.scan(TableName="t")["Items"], key=lambda item: json.dumps(item, sort_keys=True))

    monkeypatch.setattr(counter_updates, "apply", counted)
    fast = run()
    with monkeypatch.context() as moto_only:
        moto_only.setattr(models.DynamoDBBackend, "update_item", moto_update)
        moto_only.setattr(responses, "create_condition_expression_parser", moto_parser)
        assert run() == fast
    outcomes = {code for code, _ in fast[0]}
    assert {"ok", "ConditionalCheckFailedException", "ValidationException"} <= outcomes
    assert any(code == "ConditionalCheckFailedException" and item for code, item in fast[0])
    assert decided > len(requests) / 2, decided


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    """The emulator as the local runner starts it: in a process of its own, over HTTP."""
    process = EmulatorProcess().start()
    yield process
    process.stop()


def test_connections_are_kept_alive_and_no_request_is_swallowed(emulator: EmulatorProcess) -> None:
    """werkzeug's server closes every connection after its response; the emulator keeps them
    alive, as AWS's endpoints do (one connection for many calls). A body the app does not read (the
    call listing ignores it) must not be taken for the next request, nor the next request for it."""
    host, port = emulator.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    list_tables = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261125/us-east-1/dynamodb/aws4_request, "
                                    "SignedHeaders=host, Signature=0"}
    sockets = []
    calls = [("POST", "/", b"{}", list_tables), ("GET", "/_local/calls", b"x" * 5000, {}),
             ("POST", "/", b"{}", list_tables), ("POST", "/", b"{}", list_tables)]
    for method, path, body, headers in calls:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200 and response.getheader("Connection") != "close"
        assert answer == {"TableNames": []} if path == "/" else isinstance(answer, list)
        sockets.append(connection.sock)
    assert all(s is sockets[0] for s in sockets)
    connection.close()


def test_the_server_reads_pipelined_and_chunked_requests_and_refuses_malformed_ones(
        emulator: EmulatorProcess) -> None:
    """Two requests written at once are answered in order on one connection, the second with a
    chunked body; ``Connection: close`` is honoured; a malformed request line gets a 400 and the
    connection is closed."""
    host, port = emulator.endpoint.removeprefix("http://").split(":")
    target = ("X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\n"
              "Authorization: AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/dynamodb/aws4_request, "
              "SignedHeaders=host, Signature=0\r\nHost: x\r\n")
    sized = f"POST / HTTP/1.1\r\n{target}Content-Length: 2\r\n\r\n{{}}"
    chunked = (f"POST / HTTP/1.1\r\n{target}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "1\r\n{\r\n1\r\n}\r\n0\r\n\r\n")

    def exchange(data: str) -> bytes:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(data.encode())
            received = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                received += chunk
            return received

    answers = exchange(sized + chunked).split(b"HTTP/1.1 ")[1:]
    assert [a.split(b" ", 1)[0] for a in answers] == [b"200", b"200"]
    assert all(a.endswith(b'{"TableNames": []}') for a in answers)
    assert b"Connection: close" in answers[1] and b"Connection: close" not in answers[0]
    assert exchange("NOT A REQUEST\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_vector_calls_served_directly_equal_motos_and_its_errors_stay(emulator: EmulatorProcess) -> None:
    """A PutVectors or QueryVectors naming its index by ARN is served without moto's shape walk; by
    names it goes through moto: the same vectors stored, the same neighbours, distances and
    metadata found. What the direct path cannot serve (no such index, a vector of the wrong size)
    gets moto's own error."""
    s3v = boto3.client("s3vectors", endpoint_url=emulator.endpoint, region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    s3v.create_vector_bucket(vectorBucketName="direct")
    rng = random.Random(3)
    vectors = [{"key": f"k{i}", "data": {"float32": [rng.uniform(-1, 1) for _ in range(8)]},
                "metadata": {"scope": f"s{i % 3}", "question": f"q{i}"}} for i in range(60)]
    arns = {}
    for name in ("by-arn", "by-name"):
        s3v.create_index(vectorBucketName="direct", indexName=name, dataType="float32", dimension=8,
                         distanceMetric="cosine", metadataConfiguration={"nonFilterableMetadataKeys": ["question"]})
        arns[name] = s3v.get_index(vectorBucketName="direct", indexName=name)["index"]["indexArn"]
    emulator.calls(clear=True)
    for start in range(0, 60, 20):
        s3v.put_vectors(indexArn=arns["by-arn"], vectors=vectors[start:start + 20])
        s3v.put_vectors(vectorBucketName="direct", indexName="by-name", vectors=vectors[start:start + 20])
    stored = {name: s3v.get_vectors(vectorBucketName="direct", indexName=name, keys=[v["key"] for v in vectors],
                                    returnData=True, returnMetadata=True)["vectors"] for name in arns}
    assert len(stored["by-arn"]) == 60 and stored["by-arn"] == stored["by-name"]
    for _ in range(5):
        query = {"topK": 4, "queryVector": {"float32": [rng.uniform(-1, 1) for _ in range(8)]},
                 "filter": {"scope": "s1"}, "returnDistance": True, "returnMetadata": True}
        direct = s3v.query_vectors(indexArn=arns["by-arn"], **query)
        through_moto = s3v.query_vectors(vectorBucketName="direct", indexName="by-name", **query)
        assert direct["vectors"] and direct["vectors"] == through_moto["vectors"]
        assert direct["distanceMetric"] == through_moto["distanceMetric"] == "cosine"
    operations = [c["operation"] for c in emulator.calls()]  # still counted, as the benches read them
    assert operations.count("s3vectors.PutVectors") == 6 and operations.count("s3vectors.QueryVectors") == 10

    nowhere = arns["by-arn"].replace("/by-arn", "/nothing")
    with pytest.raises(s3v.exceptions.NotFoundException):
        s3v.query_vectors(indexArn=nowhere, topK=1, queryVector={"float32": [1.0] * 8})
    with pytest.raises(s3v.exceptions.NotFoundException):
        s3v.put_vectors(indexArn=nowhere, vectors=vectors[:1])
    with pytest.raises(s3v.exceptions.ValidationException):
        s3v.query_vectors(indexArn=arns["by-arn"], topK=1, queryVector={"float32": [1.0] * 3})
    with pytest.raises(s3v.exceptions.ValidationException):
        s3v.put_vectors(indexArn=arns["by-arn"], vectors=[{"key": "short", "data": {"float32": [1.0]}}])


@pytest.mark.parametrize("window", [0, 1])
def test_a_queue_trigger_gathers_its_batching_window_before_invoking(window: int, emulator: EmulatorProcess) -> None:
    """Lambda's SQS poller waits up to MaximumBatchingWindowInSeconds for a fuller batch (the usage
    ledger's trigger sets 1 s): three records sent 0.2 s apart are one invocation with a window and
    three without."""
    sqs = boto3.client("sqs", endpoint_url=emulator.endpoint, region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    url = sqs.create_queue(QueueName=f"records-{window}")["QueueUrl"]
    batches: list[list[str]] = []

    class Function:
        function = SimpleNamespace(name="ledger")

        def __call__(self, event: dict[str, Any]) -> None:
            batches.append([r["body"] for r in event["Records"]])

    poller = QueuePoller(sqs, url, "arn:aws:sqs:us-east-1:000000000000:records", Function(),  # type: ignore[arg-type]
                         batch_size=25, report_failures=False, retry_delay=1, log=print, batching_window=window)
    poller.start()
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        time.sleep(0.2)
    assert eventually(lambda: sum(map(len, batches)) == 3, timeout=5)
    assert batches == ([["a", "b", "c"]] if window else [["a"], ["b"], ["c"]])
    poller.stopping.set()


def test_a_log_subscription_delivers_matching_lines_and_dead_letters_what_keeps_failing(
        emulator: EmulatorProcess) -> None:
    """CloudWatch Logs to a Lambda destination, as the local runner emulates it: the lines the
    pattern matches, gathered in one ``awslogs`` event; a delivery that fails is retried as Lambda
    retries an asynchronous invocation, then goes to the on-failure queue in Lambda's record."""
    sqs = boto3.client("sqs", endpoint_url=emulator.endpoint, region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")
    url = sqs.create_queue(QueueName="usage-dead-letters")["QueueUrl"]
    events: list[dict[str, Any]] = []
    failing = {"times": 1}

    def function(event: dict[str, Any]) -> None:
        events.append(event)
        if failing["times"]:
            failing["times"] -= 1
            raise FunctionFailed("RecordsNotWritten: not now")

    def lines(event: dict[str, Any]) -> list[str]:
        data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
        return [e["message"] for e in data["logEvents"]]

    with pytest.raises(ValueError, match="emulates"):
        LogDelivery("g", "f", "[ip, user]", function, "arn", retries=2, retry_delay=0, on_failure=None, log=print)
    delivery = LogDelivery("/aws/lambda/gateway", "usage-records", USAGE_LINE_PATTERN, function,
                           "arn:aws:lambda:us-east-1:123456789012:function:usage", retries=2, retry_delay=0.05,
                           on_failure=lambda body: sqs.send_message(QueueUrl=url, MessageBody=body),
                           log=print, window=0.3)
    delivery.start()
    record = UsageRecord("r1", "t", "answered", 200, at=1764000000.0)
    for line in ('{"level": "INFO", "message": "usage_record"}', record.line(), "not json", record.line()):
        delivery.offer(line)
    assert eventually(lambda: len(events) == 2, timeout=5)  # failed once, delivered on the first retry
    assert lines(events[0]) == lines(events[1]) == [record.line(), record.line()]

    failing["times"] = 3  # more than the two retries
    delivery.offer(record.line())
    message = eventually(lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"), timeout=10)
    dead = json.loads(message[0]["Body"])
    assert dead["requestContext"]["condition"] == "RetriesExhausted"
    assert dead["requestContext"]["approximateInvokeCount"] == 3 and len(events) == 5
    assert lines(dead["requestPayload"]) == [record.line()]
    assert dead["responsePayload"]["errorMessage"] == "RecordsNotWritten: not now"
    delivery.stop()


def test_queues_scanned_cheaply_answer_as_sqs_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQS with ``cheap_queue_scans``: what it counts, delivers, keeps and deletes is what moto
    (and SQS) answer, through visibility timeouts, delays, retention and old receipt handles."""
    from botocore.exceptions import ClientError
    from moto.sqs import models

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    cheap_queue_scans()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for body in ("a", "b", "c"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)

        def counts() -> tuple[int, int, int]:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return tuple(int(attributes[f"ApproximateNumberOfMessages{kind}"])  # type: ignore[return-value]
                         for kind in ("", "NotVisible", "Delayed"))

        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
        assert [m["Body"] for m in first] == ["a", "b"] and counts() == (1, 2, 1)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # again: accepted
        assert counts() == (1, 1, 1)

        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        assert [m["Body"] for m in again] == ["c"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=0)
        redelivered = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in redelivered) == ["b", "c"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"])  # an older handle of "b"
        with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")

        queue: Any = models.sqs_backends["123456789012"]["us-east-1"].get_queue("q")
        for message in queue._messages:  # older than the queue keeps messages
            message.sent_timestamp -= 61_000
            message.visible_at = message.delayed_until = 0
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_a_queue_remembers_only_its_latest_deleted_handles() -> None:
    """A repeated delete is accepted for the latest handles; older ones are forgotten, so a long
    session's memory does not grow with every message it ever deleted."""
    deleted = _RecentlyDeleted(size=3)
    deleted.add(["a", "b"])
    deleted.add(["c", "d", "e"])
    assert [h in deleted for h in "abcde"] == [False, False, True, True, True]


def test_the_iam_audit_finds_a_call_its_role_does_not_grant() -> None:
    """What IAM checks for a call, as AWS checks it: a batch on each of its tables, a transaction
    by its items' own actions, a query on its index; a call that names no function is not audited."""
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/scores"
    role = [{"Action": ["dynamodb:PutItem", "dynamodb:Query"], "Resource": [table, f"{table}/index/*"]}]

    def call(caller: str, operation: str, request: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(caller, *need) for need in iam_audit.needs(operation, json.dumps(request).encode(), REGION, ACCOUNT)]

    judge = iam_audit.access_key("Judge")
    calls = [call(judge, "DynamoDB.Query", {"TableName": "scores", "IndexName": "by_tenant"}),
             call(judge, "DynamoDB.TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "scores"}}]}),
             call(judge, "DynamoDB.BatchWriteItem", {"RequestItems": {"scores": []}}),
             call(judge, "DynamoDB.DeleteItem", {"TableName": "other"}),
             call("local", "DynamoDB.DeleteItem", {"TableName": "scores"})]  # a test's own call
    assert iam_audit.denied([need for c in calls for need in c], {"Judge": role}) == [
        f"Judge: dynamodb:BatchWriteItem on {table}",
        f"Judge: dynamodb:DeleteItem on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"]


def test_ctrl_c_stops_make_dev_quietly() -> None:
    """Ctrl-C in the terminal running ``make dev`` reaches its whole process group (the runner, the
    emulator, each function's process, the encoder): everything stops, with no KeyboardInterrupt
    traceback from any of them (the emulator's server and the functions' bootstraps printed one)."""
    running = subprocess.Popen([sys.executable, "-m", "llm_gateway.local", "--port", str(free_port())],
                               cwd=TASK_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    assert running.stdout is not None
    started = ""
    for line in running.stdout:
        started += line
        if "running locally" in line:
            break
    assert "running locally" in started, started
    time.sleep(1)
    os.killpg(running.pid, signal.SIGINT)
    after, _ = running.communicate(timeout=60)
    assert running.returncode == 0 and "Traceback" not in after and "KeyboardInterrupt" not in after, after
    group = ["pgrep", "-g", str(running.pid)]  # no process of the group left
    assert eventually(lambda: subprocess.run(group, check=False, capture_output=True).returncode == 1, timeout=10)
