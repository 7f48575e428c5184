"""Judge failures: retried by SQS, dead-lettered in the end; the rest of the batch is scored."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.stub import Stubber

from llm_gateway.contract import ANSWER_EVENT, EVENT_SOURCE
from llm_gateway.core.judge import Judge, Score
from llm_gateway.core.records import AnswerEvent, EvalEvents, GroupCommit
from llm_gateway.local import LocalGateway
from tests.conftest import eventually


def answer_event(question: str, answer: str = "An answer.") -> dict[str, Any]:
    """What the EvalLoop rule delivers to the queue: the EventBridge envelope."""
    return {"version": "0", "id": str(uuid.uuid4()), "source": EVENT_SOURCE, "detail-type": ANSWER_EVENT,
            "detail": {"request_id": uuid.uuid4().hex, "tenant_id": "t1", "model_alias": "default",
                       "model_id": "local-jsonl", "question": question, "answer": answer}}


def queue_urls(gateway: LocalGateway) -> tuple[str, str]:
    sqs = gateway.client("sqs")
    urls = sqs.list_queues()["QueueUrls"]
    main = next(u for u in urls if "EvalLoopQueue" in u)
    dlq = next(u for u in urls if "EvalLoopDeadLetterQueue" in u)
    return main, dlq


def score_of(gateway: LocalGateway, table: str, request_id: str) -> dict[str, Any] | None:
    return gateway.client("dynamodb").get_item(
        TableName=table, Key={"request_id": {"S": request_id}}).get("Item")


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [
        {"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": json.dumps(body), "attributes": {},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
        for i, body in enumerate(bodies)]}


def test_partial_batch_response_reports_only_the_failure(gateway: LocalGateway, tables: dict[str, str]) -> None:
    good, bad = answer_event("How do I rotate an IAM session?"), answer_event("judge-breaker")
    result = gateway.function("EvalLoopJudge")(sqs_event(good, bad))

    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    row = score_of(gateway, tables["scores"], good["detail"]["request_id"])
    assert row and row["score"]["N"] == "0.92"
    assert score_of(gateway, tables["scores"], bad["detail"]["request_id"]) is None


def test_failing_message_ends_in_dlq_and_others_are_scored(gateway: LocalGateway, tables: dict[str, str]) -> None:
    sqs = gateway.client("sqs")
    main, dlq = queue_urls(gateway)
    good, bad = answer_event("How do I append to a list?"), answer_event("judge-breaker again")
    sqs.send_message_batch(QueueUrl=main, Entries=[
        {"Id": "good", "MessageBody": json.dumps(good)}, {"Id": "bad", "MessageBody": json.dumps(bad)}])

    assert eventually(lambda: score_of(gateway, tables["scores"], good["detail"]["request_id"]))

    def dead_lettered() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                   AttributeNames=["All"]).get("Messages", [])

    messages = eventually(dead_lettered, timeout=20)
    assert [json.loads(m["Body"])["detail"]["request_id"] for m in messages] == [bad["detail"]["request_id"]]
    assert int(messages[0]["Attributes"]["ApproximateReceiveCount"]) >= 3  # retried before giving up
    assert score_of(gateway, tables["scores"], bad["detail"]["request_id"]) is None


def test_refused_answers_are_not_judged(gateway: LocalGateway, tables: dict[str, str]) -> None:
    event = answer_event("How do I rotate an IAM session?")
    event["detail"]["refused"] = True
    assert gateway.function("EvalLoopJudge")(sqs_event(event)) == {"batchItemFailures": []}
    assert score_of(gateway, tables["scores"], event["detail"]["request_id"]) is None


def test_a_batchs_scores_are_written_at_once(gateway: LocalGateway, tables: dict[str, str]) -> None:
    events = [answer_event(f"How do I rotate IAM session number {i}?") for i in range(4)]
    gateway.emulator.calls(clear=True)
    assert gateway.function("EvalLoopJudge")(sqs_event(*events)) == {"batchItemFailures": []}
    writes = [call["operation"] for call in gateway.emulator.calls()
              if call["operation"] in ("DynamoDB.PutItem", "DynamoDB.BatchWriteItem")]
    assert writes == ["DynamoDB.BatchWriteItem"]
    for event in events:
        row = score_of(gateway, tables["scores"], event["detail"]["request_id"])
        assert row and row["score"]["N"] == "0.92" and row["tenant_id"]["S"] == "t1"


def test_scores_dynamodb_does_not_take_are_reported_unsaved() -> None:
    """``UnprocessedItems`` (throttling) is retried, and what is still left is handed back, so that
    the judge function reports those answers for redelivery."""
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    judge = Judge(tasks=None, scores_table="scores", client=client)  # type: ignore[arg-type]
    kept, throttled = Score("r-kept", 0.9, "rubric"), Score("r-throttled", 0.4, "rubric")
    left = {"scores": [{"PutRequest": {"Item": {"request_id": {"S": "r-throttled"}}}}]}
    with Stubber(client) as stub:
        stub.add_response("batch_write_item", {"UnprocessedItems": left})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}})
        assert judge.save([kept, throttled]) == set()  # taken on the second call
        for _ in range(4):
            stub.add_response("batch_write_item", {"UnprocessedItems": left})
        assert judge.save([kept, throttled]) == {"r-throttled"}
        stub.assert_no_pending_responses()


def test_a_group_commit_sends_what_queued_meanwhile_together_and_fails_only_its_own() -> None:
    """The first caller sends alone at once; the callers that arrive during that send go out
    together next, within the item limit and the weight budget; each caller hears only its own
    item's failure."""
    sent: list[list[int]] = []
    first_in_flight, release = threading.Event(), threading.Event()

    def send(items: list[int]) -> list[Exception | None]:
        sent.append(items)
        if items == [0]:
            first_in_flight.set()
            release.wait(5)
        return [ValueError(f"odd {i}") if i % 2 else None for i in items]

    commit = GroupCommit(send, limit=4, budget=10, weight=lambda i: 5 if i == 7 else 1, busy=lambda: False)
    failures: dict[int, str] = {}

    def call(i: int) -> None:
        try:
            commit(i)
        except ValueError as exc:
            failures[i] = str(exc)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_in_flight.wait(5)
    rest = [threading.Thread(target=call, args=(i,)) for i in range(1, 11)]
    for thread in rest:
        thread.start()
    eventually(lambda: len(commit._queue) == 10, timeout=5, interval=0.01)
    release.set()
    for thread in [first, *rest]:
        thread.join(5)

    assert sent[0] == [0] and sorted(i for batch in sent for i in batch) == list(range(11))
    assert all(len(batch) <= 4 and sum(5 if i == 7 else 1 for i in batch) <= 10 for batch in sent)
    assert len(sent) == 4  # 0, then ten in three sends
    assert failures == {i: f"odd {i}" for i in range(1, 11, 2)}


def test_beside_requests_in_flight_a_group_commit_waits_for_its_batch_to_fill() -> None:
    """While other requests are in flight the first caller's send waits (up to ``linger``) for a
    whole send (``limit`` items, or ``budget`` by weight): one call for three; with none in flight,
    or a full budget already, it sends at once."""
    sent: list[list[int]] = []

    def send(items: list[int]) -> list[Exception | None]:
        sent.append(items)
        return [None] * len(items)

    busy = GroupCommit(send, limit=3, linger=10, busy=lambda: True)
    callers = [threading.Thread(target=busy, args=(i,)) for i in range(3)]
    started = time.monotonic()
    for caller in callers:
        caller.start()
        time.sleep(0.05)
    for caller in callers:
        caller.join(10)
    assert sent == [[0, 1, 2]] and time.monotonic() - started < 5  # sent once the third came, and no wait after

    idle = GroupCommit(send, limit=3, linger=10, busy=lambda: False)
    idle(3)
    assert sent[1:] == [[3]]

    heavy = GroupCommit(send, limit=3, budget=2, weight=lambda _: 2, linger=10, busy=lambda: True)
    started = time.monotonic()
    heavy(4)  # a whole budget's worth already: no wait for company
    assert sent[2:] == [[4]] and time.monotonic() - started < 5


def test_concurrent_answers_share_put_events_calls_and_every_event_arrives(gateway: LocalGateway) -> None:
    """Answers' eval events from concurrent requests: fewer PutEvents calls than events, on the
    emulated bus, and each event reaches the rule's queue."""
    events, sqs = gateway.client("events"), gateway.client("sqs")
    events.create_event_bus(Name="group-commit")
    queue = sqs.create_queue(QueueName="group-commit")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="group-commit", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="all", EventBusName="group-commit", Targets=[{"Id": "q", "Arn": arn}])
    calls: list[int] = []
    events.meta.events.register("before-call.events.PutEvents",
                                lambda params, **_: calls.append(len(params["body"])))
    publisher = EvalEvents("group-commit", events)
    ids = [uuid.uuid4().hex for _ in range(40)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda i: publisher.answer_generated(AnswerEvent(
            request_id=i, tenant_id="t1", model_alias="default", model_id="m", question="q?", answer="a.")), ids))

    assert len(calls) < len(ids)
    arrived: set[str] = set()

    def drained() -> bool:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            arrived.add(json.loads(message["Body"])["detail"]["request_id"])
        return arrived == set(ids)
    assert eventually(drained)


def test_the_gateway_samples_answers_at_the_source(gateway: LocalGateway) -> None:
    """The EvalLoop's rate is in the publishing function's environment, not the judge's: an answer
    not sampled sends no event (no PutEvents, queue message or judge invocation); one sampled does."""
    from starlette.testclient import TestClient

    from llm_gateway.api.app import create_app
    from llm_gateway.contract import Settings
    from llm_gateway.core.wiring import build_pipeline

    functions = gateway.deployment.functions.values()
    publisher = next(f for f in functions if "GATEWAY_ASGI_APP" in f.environment)
    judge = next(f for f in functions if "SCORES_TABLE" in f.environment and "GATEWAY_ASGI_APP" not in f.environment)
    assert float(publisher.environment["SAMPLE_RATE"]) == 1.0 and "SAMPLE_RATE" not in judge.environment

    def events_sent(rate: str) -> int:
        settings = Settings.from_env({**publisher.environment, "LLM_MODE": "local", "GUARDRAIL_BACKEND": "builtin",
                                     "SAMPLE_RATE": rate})
        pipeline = build_pipeline(settings)
        assert gateway.emulator is not None
        gateway.emulator.calls(clear=True)
        with TestClient(create_app(settings, pipeline)) as client:
            for i in range(3):
                assert client.post("/invoke", json={"prompt": f"sampled at rate {rate}? {uuid.uuid4()} {i}"}).is_success
        assert pipeline.background.wait(10)
        return sum(call.get("units") or 1 for call in gateway.emulator.calls(clear=True)
                   if call["operation"] == "AWSEvents.PutEvents")

    assert events_sent("0") == 0
    assert events_sent("1") == 3


def test_a_shared_bus_carries_other_gateways_answers_to_their_own_judges(gateway: LocalGateway,
                                                                         tables: dict[str, str]) -> None:
    """Each answer event names its EvalLoop (``detail.loop``), and the loop's rule matches only its
    own: another gateway publishing to the same bus (bring your own) is not scored here too."""
    env = gateway.environment_of_gateway()
    events = gateway.client("events")
    ours, theirs = (EvalEvents(env["EVENT_BUS_NAME"], events, loop=loop)
                    for loop in (env["EVAL_LOOP"], "OtherEvalLoop"))
    mine, other = (AnswerEvent(request_id=uuid.uuid4().hex, tenant_id="t1", model_alias="default", model_id="m",
                               question="How do I list files?", answer="Use ls.") for _ in range(2))
    theirs.answer_generated(other)
    ours.answer_generated(mine)
    assert eventually(lambda: score_of(gateway, tables["scores"], mine.request_id))
    time.sleep(1.5)  # the other was published first: had the rule let it through, it would be scored by now
    assert score_of(gateway, tables["scores"], other.request_id) is None
