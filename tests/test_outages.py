"""AWS dependencies failing under a running gateway (issue 11): each outage is injected into the
emulator (the table or bus deleted, a bad row written) and the gateway must answer, never a 500,
with the degradation logged under its ``degraded`` name (the metric filter's source)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from llm_gateway.api.errors import api_error
from llm_gateway.contract import DEFAULT_ANSWERS
from llm_gateway.core.ratelimit import QuotaStoreUnavailable, RateLimiter
from llm_gateway.core.tenants import Quotas
from llm_gateway.local import LocalGateway
from llm_gateway.local.lambda_emulation import Sandbox
from llm_gateway.local.runner import TASK_ROOT
from tests.conftest import TEST_ANSWERS, eventually, log_records


@pytest.fixture(scope="module")
def gateway(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalGateway]:
    """A gateway of its own: these tests break its dependencies."""
    with (tmp_path_factory.mktemp("outages") / "functions.log").open("w+") as log:
        local = LocalGateway(templates["dev"], stack_name="LlmGateway-dev", await_records=True, quiet=True,
                             answers_path=os.pathsep.join([TEST_ANSWERS, DEFAULT_ANSWERS]),
                             environment={"ROUTES_CACHE_SECONDS": "0"}, sandbox=Sandbox(TASK_ROOT, log=log))
        with local:
            yield local


def ask(gateway: LocalGateway, question: str, key: str | None = None) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {key or gateway.dev_key}", "Cache-Control": "no-store"},
                      json={"model": "default", "messages": [{"role": "user", "content": question}]})


def degraded(gateway: LocalGateway, dependency: str) -> bool:
    return any(record.get("degraded") == dependency for record in log_records(gateway))


def test_a_bad_route_row_is_skipped_not_served(gateway: LocalGateway) -> None:
    table = gateway.deployment.outputs["RoutesTableName"]
    gateway.client("dynamodb").put_item(TableName=table, Item={
        "alias": {"S": "default"}, "strategy": {"S": "cheapest"},
        "targets": {"L": [{"M": {"provider": {"S": "openia"}, "model": {"S": "gpt-4o"}}}]}})
    models = httpx.get(f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {gateway.dev_key}"})
    assert models.status_code == 200 and "default" in {m["id"] for m in models.json()["data"]}
    assert ask(gateway, "How do I append to a python list in place?").status_code == 200  # the code's route
    assert eventually(lambda: degraded(gateway, "route_row"))


def test_without_the_routes_table_the_code_routes_serve(gateway: LocalGateway) -> None:
    gateway.client("dynamodb").delete_table(TableName=gateway.deployment.outputs["RoutesTableName"])
    models = httpx.get(f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {gateway.dev_key}"})
    assert models.status_code == 200 and "default" in {m["id"] for m in models.json()["data"]}
    assert ask(gateway, "What is a python list comprehension?").status_code == 200
    assert eventually(lambda: degraded(gateway, "routes_table"))


def test_without_the_counters_table_requests_fail_open_in_dev(gateway: LocalGateway) -> None:
    # A tenant of its own: the dev tenant's earlier requests may have left this process a quota
    # lease, which admits without a count (so without meeting the outage) until it runs out.
    key, _ = gateway.keys().create("t_outage", "outage")
    gateway.client("dynamodb").delete_table(TableName=gateway.environment_of_gateway()["RATE_LIMITS_TABLE"])
    answered = ask(gateway, "How do I sort a dict by value in Python?", key)
    assert answered.status_code == 200 and "x-ratelimit-limit-requests" not in answered.headers  # uncounted
    assert eventually(lambda: degraded(gateway, "counters_table"))


def test_without_the_event_bus_answers_go_out_and_their_events_are_kept(gateway: LocalGateway) -> None:
    env = gateway.environment_of_gateway()
    gateway.client("events").delete_event_bus(Name=env["EVENT_BUS_NAME"])
    answered = ask(gateway, "How do I reverse a string in Python?")
    assert answered.status_code == 200
    assert eventually(lambda: degraded(gateway, "eval_events"))
    request_id = answered.headers["x-gateway-request-id"]

    def kept() -> list[dict[str, Any]]:  # the queue is also the judge's DLQ: other tests' messages may be there
        received = gateway.client("sqs").receive_message(QueueUrl=env["EVAL_KEEP_QUEUE_URL"], MaxNumberOfMessages=10,
                                                         VisibilityTimeout=0)
        envelopes = (json.loads(m["Body"]) for m in received.get("Messages", []))
        return [e for e in envelopes if e.get("detail", {}).get("request_id") == request_id]

    envelopes = eventually(kept)
    assert len(envelopes) == 1 and envelopes[0]["detail-type"] == "answer.generated"  # as the judge reads it


def test_a_closed_quota_policy_refuses_when_the_counters_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prod policy (QUOTA_STORE_FAILURE=closed), against a counters table that is not there."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        limiter = RateLimiter("no-such-table", boto3.client("dynamodb", region_name="us-east-1"), Quotas(rpm=5),
                              on_store_failure="closed")
        with pytest.raises(QuotaStoreUnavailable) as refused:
            limiter.admit("t_closed")
        error = api_error(refused.value)
        assert error and error.status == 503 and error.headers["retry-after"] == "1"
        assert error.openai_body()["error"]["code"] == "quota_store_unavailable"
        opened = RateLimiter("no-such-table", boto3.client("dynamodb", region_name="us-east-1"), Quotas(rpm=5))
        assert opened.admit("t_open") is None  # admitted, uncounted
