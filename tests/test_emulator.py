"""The local runner's fixes to moto, checked against what DynamoDB answers."""

from __future__ import annotations

import operator
import random

import boto3
import pytest
from moto import mock_aws

from llm_gateway.local.emulator import partitioned_queries

OPS = {">=": operator.ge, ">": operator.gt, "<": operator.lt, "<=": operator.le}


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
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}])
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
