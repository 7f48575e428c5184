"""Routing over fake upstream providers (real HTTP servers on loopback speaking each wire format)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Generator, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from llm_gateway.core.chat import ChatRequest, UpstreamError, collect
from llm_gateway.core.media import MediaRequest
from llm_gateway.core.providers import Providers
from llm_gateway.core.providers.bedrock import BedrockProvider
from llm_gateway.core.routing import Route, Router, RouteTable, parse_routes
from llm_gateway.core.usage import Prices
from llm_gateway.local import LocalGateway
from tests.fakes import FakeUpstream

HELLO = ChatRequest([{"role": "user", "content": "hello"}])


@pytest.fixture
def fakes() -> Iterator[dict[str, FakeUpstream]]:
    servers = {name: FakeUpstream(name).start() for name in ("a", "b", "c")}
    yield servers
    for server in servers.values():
        server.stop()


def router(routes: dict[str, Any], env: dict[str, str] | None = None, *, secrets: Any = None, **kwargs: Any) -> Router:
    table = RouteTable(parse_routes(__import__("json").dumps(routes)))
    providers = Providers(env or {}, secrets=secrets or SecretsProvider(boto3_client=_unused_sm()))
    return Router(table, providers, rng=random.Random(7), sleep=kwargs.pop("sleep", lambda _: None), **kwargs)


def route_of(r: Router, alias: str) -> Route:
    route = r.routes.get(alias)
    assert route is not None, alias
    return route


def _unused_sm() -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                        aws_access_key_id="x", aws_secret_access_key="x")


def compat(fakes: dict[str, FakeUpstream], *names: str) -> dict[str, str]:
    """Each fake as an ``openai_compatible:<name>`` profile."""
    return {f"OPENAI_COMPAT_{n.upper()}_BASE_URL": f"{fakes[n].url}/v1" for n in names}


def target(name: str, **extra: Any) -> dict[str, Any]:
    return {"provider": f"openai_compatible:{name}", "model": f"model-{name}", **extra}


def test_weights_are_honoured(fakes: dict[str, FakeUpstream]) -> None:
    r = router({"mix": {"targets": [target("a", weight=70), target("b", weight=30)]}}, compat(fakes, "a", "b"))
    route = route_of(r, "mix")
    served = Counter(r.complete(route, HELLO)[1].target.model for _ in range(400))
    assert 0.63 <= served["model-a"] / 400 <= 0.77, served


def test_cost_strategy_prefers_the_cheapest_healthy_target(fakes: dict[str, FakeUpstream]) -> None:
    routes = {"cheap": {"strategy": "cost", "retries": 0, "targets": [
        target("a", input_price=3, output_price=15), target("b", input_price=0.1, output_price=0.4)]}}
    r = router(routes, compat(fakes, "a", "b"))
    assert {r.complete(route_of(r, "cheap"), HELLO)[1].target.model for _ in range(5)} == {"model-b"}
    fakes["b"].failures = [500]
    result, served = r.complete(route_of(r, "cheap"), HELLO)
    assert served.target.model == "model-a" and result.text.startswith("Hello from a")


def test_cost_strategy_reads_the_price_table_where_a_route_gives_no_prices(fakes: dict[str, FakeUpstream]) -> None:
    """The ledger's table (``prices.json`` under the deployment's overrides) ranks the targets too:
    one table for what a request costs and for which target is cheapest."""
    table = Prices({"model-a": {"input": 3, "output": 15}, "model-b": {"input": 0.1, "output": 0.4}})
    routes = {"cheap": {"strategy": "cost", "retries": 0, "targets": [target("a", weight=9), target("b")]}}
    r = router(routes, compat(fakes, "a", "b"), prices=table)
    assert {r.complete(route_of(r, "cheap"), HELLO)[1].target.model for _ in range(5)} == {"model-b"}


@pytest.mark.parametrize("failure", [500, 503, 429])
def test_retries_then_falls_back(fakes: dict[str, FakeUpstream], failure: int) -> None:
    naps: list[float] = []
    r = router({"main": {"retries": 2, "targets": [target("a")], "fallbacks": ["backup"]},
                "backup": {"targets": [target("b")]}}, compat(fakes, "a", "b"), sleep=naps.append)
    fakes["a"].failures = [failure] * 10
    result, served = r.complete(route_of(r, "main"), HELLO)
    assert result.text.startswith("Hello from b") and served.attempts == 4
    assert fakes["a"].calls() == 3 and fakes["b"].calls() == 1
    assert len(naps) == 2 and all(0 < n <= 4 for n in naps)
    if failure == 429:
        assert naps == [1.0, 1.0]  # the upstream's Retry-After


def test_timeout_falls_back(fakes: dict[str, FakeUpstream]) -> None:
    fakes["a"].delay = 2.0
    r = router({"main": {"retries": 0, "timeout": 0.3, "targets": [target("a")], "fallbacks": ["backup"]},
                "backup": {"targets": [target("b")]}}, compat(fakes, "a", "b"))
    result, _ = r.complete(route_of(r, "main"), HELLO)
    assert result.text.startswith("Hello from b")


def test_a_rejected_request_is_not_retried_elsewhere(fakes: dict[str, FakeUpstream]) -> None:
    fakes["a"].failures = [400]
    r = router({"main": {"targets": [target("a")], "fallbacks": ["backup"]}, "backup": {"targets": [target("b")]}},
               compat(fakes, "a", "b"))
    with pytest.raises(UpstreamError) as rejected:
        r.complete(route_of(r, "main"), HELLO)
    assert rejected.value.status == 400 and fakes["b"].calls() == 0


def test_cooldown_takes_a_failing_target_out_of_rotation(fakes: dict[str, FakeUpstream]) -> None:
    r = router({"pair": {"retries": 0, "targets": [target("a", weight=1000), target("b", weight=1)]}},
               compat(fakes, "a", "b"), cooldown_seconds=60)
    fakes["a"].failures = [500]
    assert r.complete(route_of(r, "pair"), HELLO)[1].target.model == "model-b"
    for _ in range(5):  # a is cooling down: not even tried, though it carries nearly all the weight
        assert r.complete(route_of(r, "pair"), HELLO)[1].target.model == "model-b"
    assert fakes["a"].calls() == 1
    r._cool_until["openai_compatible:a/model-a"] = 0  # the cooldown ends
    assert r.complete(route_of(r, "pair"), HELLO)[1].target.model == "model-a"


def test_stream_falls_back_before_the_first_byte_but_never_after(fakes: dict[str, FakeUpstream]) -> None:
    r = router({"main": {"retries": 0, "targets": [target("a")], "fallbacks": ["backup"]},
                "backup": {"targets": [target("b")]}}, compat(fakes, "a", "b"))
    fakes["a"].failures = [503]
    deltas, served = r.stream(route_of(r, "main"), HELLO)
    assert served.target.model == "model-b" and collect(deltas).text == fakes["b"].text

    fakes["a"].break_after = 4  # the role chunk and three tokens, then the connection drops
    deltas, served = r.stream(route_of(r, "main"), HELLO)
    assert served.target.model == "model-a"
    received = []
    with pytest.raises(UpstreamError):
        for delta in deltas:
            received.append(delta.text)
    assert "".join(received) == "".join(fakes["a"].tokens[:3])
    assert fakes["b"].calls() == 1  # only the earlier, pre-first-byte fallback


def test_a_stream_left_before_its_end_leaves_no_half_read_connection(fakes: dict[str, FakeUpstream]) -> None:
    """The rest of an abandoned stream (a client gone) arrives after it is left: its connection is
    closed, so the next calls on the pool read their own replies, not that stream's tail."""
    r = router({"main": {"retries": 0, "targets": [target("a")]}}, compat(fakes, "a"))
    fakes["a"].chunk_delay = 0.02
    deltas, _ = r.stream(route_of(r, "main"), HELLO)
    assert isinstance(deltas, Generator)
    assert next(deltas).text == "" and next(deltas).text == fakes["a"].tokens[0]
    deltas.close()
    fakes["a"].chunk_delay = 0.0
    for _ in range(3):
        assert r.complete(route_of(r, "main"), HELLO)[0].text == fakes["a"].text
    assert collect(r.stream(route_of(r, "main"), HELLO)[0]).text == fakes["a"].text


def test_a_stream_read_to_its_end_marker_leaves_its_connection_for_the_next_call(
        fakes: dict[str, FakeUpstream]) -> None:
    """Left at ``[DONE]``, a stream's body has only its last bytes behind it: read, its kept-alive
    connection serves the next call (closed, each stream after a stream paid a new TLS handshake)."""
    r = router({"main": {"retries": 0, "targets": [target("a")]}}, compat(fakes, "a"))
    assert collect(r.stream(route_of(r, "main"), HELLO)[0]).text == fakes["a"].text
    assert collect(r.stream(route_of(r, "main"), HELLO)[0]).text == fakes["a"].text
    assert r.complete(route_of(r, "main"), HELLO)[0].text == fakes["a"].text
    first, second, third = (seen.client for seen in fakes["a"].seen[-3:])
    assert first is not None and first == second == third


def test_key_pool_rotates_round_robin_and_key_ids_pick_accounts(fakes: dict[str, FakeUpstream],
                                                                 gateway: LocalGateway) -> None:
    sm = gateway.client("secretsmanager")
    pool = sm.create_secret(Name="openai-pool", SecretString='["sk-one", "sk-two", "sk-three"]')["ARN"]
    second = sm.create_secret(Name="openai-account2", SecretString='{"api_key": "sk-account2"}')["ARN"]
    env = {"OPENAI_BASE_URL": f"{fakes['a'].url}/v1", "OPENAI_SECRET_ARN": pool, "OPENAI_SECRET_ARN_ACCOUNT2": second}
    r = router({"gpt": {"targets": [{"provider": "openai", "model": "gpt-x"}]},
                "gpt2": {"targets": [{"provider": "openai", "model": "gpt-x", "key_id": "account2"}]}},
               env, secrets=SecretsProvider(boto3_client=sm))
    for _ in range(6):
        r.complete(route_of(r, "gpt"), HELLO)
    r.complete(route_of(r, "gpt2"), HELLO)
    keys = [s.headers["authorization"] for s in fakes["a"].seen]
    assert keys == ["Bearer sk-one", "Bearer sk-two", "Bearer sk-three"] * 2 + ["Bearer sk-account2"]


def test_openai_tools_pass_through(fakes: dict[str, FakeUpstream]) -> None:
    r = router({"gpt": {"targets": [target("a")]}}, compat(fakes, "a"))
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    result, _ = r.complete(route_of(r, "gpt"), ChatRequest([{"role": "user", "content": "weather?"}],
                                                            {"tools": tools, "tool_choice": "auto"}))
    assert fakes["a"].seen[-1].body["tools"] == tools and fakes["a"].seen[-1].body["tool_choice"] == "auto"
    assert result.finish_reason == "tool_calls" and result.tool_calls[0]["function"]["name"] == "weather"


@pytest.mark.parametrize("mode", ["completions", "auto"])
def test_openai_compatible_endpoint_modes(fakes: dict[str, FakeUpstream], mode: str) -> None:
    fakes["a"].no_chat_endpoint = True
    env = {**compat(fakes, "a"), "OPENAI_COMPAT_A_ENDPOINT_MODE": mode}
    r = router({"legacy": {"targets": [target("a")]}}, env)
    result, _ = r.complete(route_of(r, "legacy"), HELLO)
    assert result.text == fakes["a"].text and fakes["a"].calls("/v1/completions") == 1
    assert "user: hello" in fakes["a"].seen[-1].body["prompt"]


def test_anthropic_messages_buffered_streamed_and_tools(fakes: dict[str, FakeUpstream]) -> None:
    env = {"ANTHROPIC_BASE_URL": fakes["c"].url}
    r = router({"claude": {"targets": [{"provider": "anthropic", "model": "claude-x"}]}}, env)
    route = route_of(r, "claude")
    request = ChatRequest([{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}],
                          {"max_tokens": 50, "stop": "END"})
    result, _ = r.complete(route, request)
    sent = fakes["c"].seen[-1]
    assert sent.body["system"] == "be nice" and sent.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert sent.body["max_tokens"] == 50 and sent.body["stop_sequences"] == ["END"]
    assert sent.headers["anthropic-version"] == "2023-06-01"
    # Anthropic counts input apart from cache reads; the gateway counts as OpenAI does.
    assert result.text == fakes["c"].text and (result.usage.prompt_tokens, result.usage.cached_tokens) == (14, 5)

    deltas, _ = r.stream(route, request)
    streamed = collect(deltas)
    assert streamed.text == fakes["c"].text and streamed.usage.completion_tokens == len(fakes["c"].tokens)
    assert (streamed.usage.prompt_tokens, streamed.usage.cached_tokens) == (14, 5)

    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    called, _ = r.complete(route, ChatRequest([{"role": "user", "content": "weather?"}], {"tools": tools}))
    assert fakes["c"].seen[-1].body["tools"] == [{"name": "weather", "description": "",
                                                 "input_schema": {"type": "object"}}]
    assert called.finish_reason == "tool_calls"
    assert called.tool_calls[0]["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}


def test_bedrock_converse_and_event_stream(fakes: dict[str, FakeUpstream]) -> None:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=fakes["c"].url,
                          aws_access_key_id="x", aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    env = {"GUARDRAIL_BACKEND": "bedrock", "GUARDRAIL_ID": "gr-123", "GUARDRAIL_VERSION": "4"}
    providers = Providers(env, secrets=SecretsProvider(boto3_client=_unused_sm()), bedrock_client=client)
    assert isinstance(providers.get("bedrock"), BedrockProvider)
    nova = '{"nova": {"targets": [{"provider": "bedrock", "model": "amazon.nova-lite-v1:0"}]}}'
    r = Router(RouteTable(parse_routes(nova)), providers)
    request = ChatRequest([{"role": "system", "content": "terse"}, {"role": "user", "content": "hi"}],
                          {"max_tokens": 64, "temperature": 0.2})
    result, _ = r.complete(route_of(r, "nova"), request)
    sent = fakes["c"].seen[-1]
    assert sent.path == "/model/amazon.nova-lite-v1:0/converse"
    assert sent.body["system"] == [{"text": "terse"}] and sent.body["inferenceConfig"] == {"maxTokens": 64,
                                                                                            "temperature": 0.2}
    assert result.text == fakes["c"].text and (result.usage.prompt_tokens, result.usage.cached_tokens) == (14, 3)

    assert "guardrailConfig" not in sent.body  # buffered answers are checked by the pipeline, once
    deltas, _ = r.stream(route_of(r, "nova"), request)
    pieces = list(deltas)
    assert fakes["c"].seen[-1].body["guardrailConfig"] == {  # streams are guarded by Bedrock as they flow
        "guardrailIdentifier": "gr-123", "guardrailVersion": "4", "streamProcessingMode": "sync"}
    assert [d.text for d in pieces if d.text] == fakes["c"].tokens  # decoded from the binary event stream
    assert collect(iter(pieces)).usage.completion_tokens == len(fakes["c"].tokens)


def test_bedrock_images_in_openai_shape_and_no_bedrock_audio(fakes: dict[str, FakeUpstream]) -> None:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=fakes["c"].url,
                          aws_access_key_id="x", aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    providers = Providers({}, secrets=SecretsProvider(boto3_client=_unused_sm()), bedrock_client=client)
    r = Router(RouteTable(parse_routes(
        '{"image": {"retries": 0, "targets": [{"provider": "bedrock", "model": "amazon.nova-canvas-v1:0"}]}}')),
        providers)
    result, _ = r.media(route_of(r, "image"), MediaRequest("images", {
        "prompt": "a lighthouse", "n": 2, "size": "512x512", "quality": "hd", "response_format": "b64_json"}))
    assert fakes["c"].seen[-1].path == "/model/amazon.nova-canvas-v1:0/invoke"
    assert fakes["c"].seen[-1].body == {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a lighthouse"},
                                        "imageGenerationConfig": {"numberOfImages": 2, "width": 512, "height": 512,
                                                                  "quality": "premium"}}
    assert json.loads(result.content)["data"] == [{"b64_json": "aW1hZ2U="}] * 2 and result.units == 2
    with pytest.raises(UpstreamError) as no_audio:
        r.media(route_of(r, "image"), MediaRequest("speech", {"input": "hello", "voice": "nova"}))
    assert no_audio.value.status == 400 and "OpenAI-style" in str(no_audio.value)


def test_embeddings_route(fakes: dict[str, FakeUpstream]) -> None:
    r = router({"emb": {"targets": [target("a")]}}, compat(fakes, "a"))
    embeddings, _ = r.embed(route_of(r, "emb"), ["x", "y"])
    assert embeddings.vectors == [[0.1, 0.2, 0.3], [0.2, 0.2, 0.3]]


def test_live_route_overrides_from_the_routes_table(fakes: dict[str, FakeUpstream], gateway: LocalGateway) -> None:
    ddb = gateway.client("dynamodb")
    ddb.create_table(TableName="routes-test", KeySchema=[{"AttributeName": "alias", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "alias", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="routes-test", Item={
        "alias": {"S": "fast"}, "enabled": {"BOOL": True}, "fallbacks": {"L": [{"S": "default"}]},
        "targets": {"L": [{"M": {"provider": {"S": "openai_compatible:b"}, "model": {"S": "model-b"},
                                 "weight": {"N": "100"}}}]}})
    ddb.put_item(TableName="routes-test", Item={"alias": {"S": "old"}, "enabled": {"BOOL": False},
                                                "targets": {"L": []}})
    defaults = parse_routes('{"fast": {"targets": [{"provider": "openai_compatible:a", "model": "model-a"}]},'
                            ' "old": {"targets": [{"provider": "openai_compatible:a", "model": "model-a"}]}}')
    table = RouteTable(defaults, "routes-test", ddb, ttl=30)
    route = table.get("fast")
    assert route == Route.parse("fast", {"fallbacks": ["default"], "targets": [
        {"provider": "openai_compatible:b", "model": "model-b", "weight": 100}]})
    assert table.get("old") is None and "old" not in table.all() and "fast" in table.all()


# -- the gateway's own model calls are routed tasks too --------------------------------------
def test_cache_embeddings_retry_then_fall_back(fakes: dict[str, FakeUpstream]) -> None:
    from llm_gateway.core.tasks import ModelTasks

    naps: list[float] = []
    r = router({"embed": {"retries": 1, "targets": [target("a")], "fallbacks": ["embed-backup"]},
                "embed-backup": {"targets": [target("b")]}}, compat(fakes, "a", "b"), sleep=naps.append)
    fakes["a"].failures = [503] * 10
    vector = ModelTasks(r).embed("How do I rotate an IAM session?")
    assert vector and fakes["a"].calls("/v1/embeddings") == 2 and fakes["b"].calls("/v1/embeddings") == 1
    assert len(naps) == 1


def test_judging_retries_and_falls_back_to_another_judge(fakes: dict[str, FakeUpstream]) -> None:
    from llm_gateway.core.tasks import ModelTasks

    fakes["b"].text = 'Sure. {"score": 0.75, "rubric": "helpfulness_accuracy"}'
    r = router({"judge": {"retries": 1, "targets": [target("a"), target("b")]}}, compat(fakes, "a", "b"))
    fakes["a"].failures = [500] * 10
    r.rng = random.Random(1)  # whichever comes first, a fails twice and b answers
    verdict = ModelTasks(r).judge(query="q?", response="a.", rubric="helpfulness_accuracy")
    assert verdict == {"score": 0.75, "rubric": "helpfulness_accuracy"}
    assert fakes["b"].calls("/v1/chat/completions") == 1


def test_a_judge_that_writes_no_json_is_an_upstream_error(fakes: dict[str, FakeUpstream]) -> None:
    from llm_gateway.core.tasks import ModelTasks

    r = router({"judge": {"retries": 0, "targets": [target("a")]}}, compat(fakes, "a"))
    with pytest.raises(UpstreamError, match="JSON object"):
        ModelTasks(r).judge(query="q?", response="a.", rubric="r")
