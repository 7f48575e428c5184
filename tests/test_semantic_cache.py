"""Cache correctness before hit rate: no wrong answers, no scans."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from llm_gateway.__main__ import main
from llm_gateway.cache_cli import read_pairs, table
from llm_gateway.contract import Route, Settings, cache_threshold_for
from llm_gateway.core.cache import Embedding, Scope, SemanticCache, VectorBucketIndex, cosine
from llm_gateway.core.providers import minilm
from llm_gateway.core.vector_wire import fast_vectors
from llm_gateway.core.verify import same_question
from llm_gateway.core.wiring import model_tasks
from llm_gateway.local import LocalGateway
from tests.conftest import eventually, log_records


@pytest.mark.parametrize(("a", "b", "same"), [
    ("How do I rotate an IAM session credential?", "What is the way to renew an iam session?", True),
    ("How do I convert a string to an int?", "How do I convert an int to a string?", False),
    ("How do I install Python 3.11?", "How do I install Python 3.12?", False),
    ("Can I delete a bucket with objects in it?", "Can I not delete a bucket with objects in it?", False),
    ("How do I copy files from S3 to my laptop?", "How do I copy files from my laptop to S3?", False),
    ("In Python, how do I convert a string to an int?", "How do I convert a string to an int in Python?", True),
    # opposite operations
    ("How do I add a user to a group in Linux?", "How do I remove a user from a group in Linux?", False),
    ("Encrypt a file with openssl", "Decrypt a file with openssl", False),
    ("Sort a list in ascending order", "Sort a list in descending order", False),
    ("Upload a file to S3 with boto3", "Download a file from S3 with boto3", False),
    ("Set the max memory for Redis", "Set the min memory for Redis", False),
    ("Run docker with sudo", "Run docker without sudo", False),
    # other named things, other quantities; names with digits are names, not quantities
    ("Connect to Postgres from Python", "Connect to MySQL from Python", False),
    ("Scale the deployment to 3 replicas", "Scale the deployment to 5 replicas", False),
    ("How do I start an EC2 instance?", "What is the way to start an EC2 instance?", True),
    ("Open port 8080 in the security group", "How do I open port 8080 in a security group?", True),
    ("How to run Docker without sudo?", "How to run docker without root privileges?", True),
    # Near misses written after the calibration pairs (eval/corpus/cache_probes.jsonl), one per kind
    # the rules missed, each served by the earlier rules:
    ("What's the difference between == and === in JavaScript?",  # operators are words
     "What's the difference between != and !== in JavaScript?", False),
    ("Did Google acquire YouTube?", "Did YouTube acquire Google?", False),  # two things trade places
    ("How do I find the index of an item in a list?", "How do I find an item by its index in a list?", False),
    ("Can I substitute butter with oil in a cake?", "Can I substitute oil with butter in a cake?", False),
    ("How many ounces are in a pound?", "How many pounds are in an ounce?", False),  # what is counted
    ("What is 7 divided by 2?", "What is 2 divided by 7?", False),  # the numbers' order
    ("What were the sales figures last year?", "What are the sales figures this year?", False),  # when
    ("How do I make my bread rise more?", "How do I stop my bread from rising too much?", False),
    ("How do I print without a newline in Python?", "How do I print a newline in Python?", False),
    ("Give me a vegan lasagna recipe.", "Give me a lasagna recipe.", False),  # a qualifier added
    ("How do I write a for loop in Bash?", "How do I write a while loop in Bash?", False),
    ("Which is bigger, a gigabyte or a gibibyte?", "Which is bigger, a megabyte or a mebibyte?", False),
    ("Why is the sky blue during the day?", "Why is the sky red at sunset?", False),  # colours
    ("Which is faster for reading files, an SSD or an HDD?", "Which is cheaper per terabyte, an SSD or an HDD?",
     False),  # aspects: its speed, its cost
    ("How do I squash the last three commits?", "How do I split the last commit into three?", False),
    # Sets 7 and 8 (each blind once): one thing put for another in its place, with words added
    # elsewhere; how many; one of two things weighed against each other.
    ("How do I unclog a bathroom sink?", "How do I unclog a kitchen sink with a garbage disposal?", False),
    ("How do I get my deposit back from my landlord?",
     "How do I get my deposit back from a car rental company?", False),
    ("What does a tenant have to pay for when moving out?",
     "What does a landlord have to pay for when a tenant moves out?", False),
    ("How do I undo git add for one file?", "How do I undo git add for all files?", False),
    ("Does the employee or the employer pay the social security tax?",
     "How much social security tax does the employer pay?", False),
    ("What's the difference between weather and climate?",
     "What's the difference between climate and climate change?", False),
    # Set 9's (blind once): the same thing moved the other way; a qualifier after an article.
    ("How do I copy a file to a remote server with scp?", "How do I copy a file from a remote server with scp?", False),
    ("How do I increase the font size in VS Code?", "How do I increase the font size in the VS Code terminal?", False),
    # Set 10's (blind once): another operation, however close ("reset" is neither "restart" nor "reboot").
    ("How do I reset my router to factory settings?", "How do I restart my router?", False),
    # ... and rephrasings they still serve
    ("How do I move money from PayPal into my bank account?",
     "How do I transfer money from PayPal to my bank account?", True),
    ("What is the difference between a process and a thread?",
     "What is the difference between a thread and a process?", True),
    ("How do I reverse a list in Python?", "How do I reverse a Python list?", True),
    ("What do cats eat?", "What food do cats eat?", True),
    ("How do I convert a list to a tuple in Python?", "In Python, how can I turn a list into a tuple?", True),
    ("How do I migrate from MySQL to PostgreSQL?", "How do I migrate to Postgres from MySQL?", True),
    ("Who approves expense reports?", "Who is responsible for approving expense reports?", True),
    ("How much disk space does node_modules take?", "What's the size of node_modules on disk?", True),
    ("Explain what a REST API is.", "What is a REST API?", True),
    ("How do I book a meeting room for ten people?", "How can I reserve a meeting room for 10 people?", True),
    ("Why is the sky blue during the day?", "Why does the sky look blue in the daytime?", True),  # forms of a word
    ("Should I stretch before or after running?", "Is it better to stretch before a run or after it?", True),
    ("Is Python pass-by-reference or pass-by-value?", "Does Python pass arguments by reference or by value?", True),
    ("How do I convert a string to lowercase in Java?", "How can I make a Java string lowercase?", True),  # a verb
    ("Which one is faster, a list or a tuple?", "Which is faster: a list or a tuple?", True),  # a pronoun's "one"
    ("How do I export my contacts from Gmail?", "What's the way to export contacts out of Gmail?", True),
])
def test_verification_beyond_cosine(a: str, b: str, same: bool) -> None:
    assert same_question(a, b) is same


def test_opposite_questions_are_not_served_each_others_answer(http: httpx.Client) -> None:
    first = http.post("/ask", json={"question": "How do I convert a string to an int in Python?"}).json()
    second = http.post("/ask", json={"question": "How do I convert an int to a string in Python?"}).json()
    assert first["answer"] == "Use int(text)." and second["answer"] == "Use str(number)."
    assert second["cache_hit"] is False  # identical vectors, different question
    third = http.post("/ask", json={"question": "In Python, how do I convert a string to an int?"}).json()
    assert third["answer"] == "Use int(text)." and third["cache_hit"] is True  # a reordering is a paraphrase


def test_hits_are_in_the_request_records(http: httpx.Client, gateway: LocalGateway) -> None:
    http.post("/ask", json={"question": "How do I list the files of a directory in Go?"})
    hit = http.post("/ask", json={"question": "how do I list the files of a directory in go"}).json()
    assert hit["cache_hit"] is True

    def record() -> dict[str, Any] | None:
        return next((r for r in log_records(gateway) if r.get("message") == "request answered"
                     and r.get("correlation_id") == hit["request_id"]), None)

    logged = eventually(record)
    assert logged and logged["cache_hit"] is True and logged["similarity"] == 1.0


def count_reads(ddb: Any) -> list[tuple[str, int]]:
    """(operation, items read) for every DynamoDB call the client makes from now on."""
    reads: list[tuple[str, int]] = []
    lock = threading.Lock()

    def count(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        with lock:
            reads.append((model.name, int(parsed.get("ScannedCount", parsed.get("Count", 0)))))

    ddb.meta.events.register("after-call.dynamodb", count)
    return reads


def random_embedding(rng: random.Random, model: str = "test-embedder") -> Embedding:
    return Embedding([rng.gauss(0, 1) for _ in range(16)], model)


def test_lookup_cost_is_flat_as_the_cache_grows(gateway: LocalGateway, tables: dict[str, str]) -> None:
    ddb = gateway.client("dynamodb")
    cache = SemanticCache(tables["cache"], ddb, bands=4, candidates=5)
    scope = Scope("t_flat", "default")
    rng = random.Random(1)
    for i in range(300):
        cache.store(scope, f"question {i}", f"answer {i}", random_embedding(rng), request_id=str(i))

    reads = count_reads(ddb)
    cache.lookup(scope, "question 7 again", random_embedding(rng))
    assert {name for name, _ in reads} <= {"Query", "GetItem"}  # never a Scan
    queries = sorted(scanned for name, scanned in reads if name == "Query")
    # The exact key (one item at most) and, per band, the candidates on either side of the
    # question's position: a fixed number of items, whatever the cache holds.
    assert len(queries) == 1 + 4 * 2 and queries[0] <= 1 and all(n <= 5 for n in queries)


def test_exact_repeats_hit_however_old(gateway: LocalGateway, tables: dict[str, str]) -> None:
    """With hundreds of entries at the same LSH position, the oldest question asked again word for
    word hits (one item read)."""
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"))
    scope = Scope("t_exact", "default")
    same_place = Embedding([1.0] * 16, "test-embedder")
    for i in range(120):
        cache.store(scope, f"How do I configure service number {i}?", f"answer {i}", same_place, request_id=str(i))
    hit = cache.lookup(scope, "how do I configure service number 0", same_place)
    assert hit and hit.answer == "answer 0" and hit.similarity == 1.0
    assert cache.lookup(Scope("t_other", "default"), "How do I configure service number 0?", same_place) is None


def test_vectors_of_different_embedding_models_are_never_compared(gateway: LocalGateway,
                                                                  tables: dict[str, str]) -> None:
    """A fallback to another embedding model must not match its vectors against the first one's."""
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"), threshold=0.5)
    scope, vector = Scope("t_models", "default"), [0.3, 0.1, 0.9, 0.2] * 4
    cache.store(scope, "How do I tag an S3 bucket?", "With put-bucket-tagging.", Embedding(vector, "model-a"),
                request_id="r1")
    assert cache.lookup(scope, "What's the way to tag an S3 bucket?", Embedding(vector, "model-a"))
    assert cache.lookup(scope, "What's the way to tag an S3 bucket?", Embedding(vector, "model-b")) is None


def test_purge_by_tenant_alias_or_question(gateway: LocalGateway, tables: dict[str, str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`llm-gateway cache purge` against the running emulator, as an operator runs it."""
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"))
    rng = random.Random(3)
    for tenant, alias, question in [("t_purge_a", "default", "How do I list pods?"),
                                    ("t_purge_a", "fast", "How do I list pods?"),
                                    ("t_purge_a", "default", "How do I list nodes?"),
                                    ("t_purge_b", "default", "How do I list pods?")]:
        cache.store(Scope(tenant, alias), question, "kubectl get ...", random_embedding(rng),
                    request_id=f"{tenant}-{alias}-{question}")

    def purge(*args: str) -> int:
        main(["cache", "purge", "--table", tables["cache"], "--endpoint-url", gateway.aws_endpoint,
              "--region", "us-east-1", *args])
        return int(json.loads(capsys.readouterr().out)["purged"])

    def cached(tenant: str, alias: str, question: str) -> bool:
        return cache.lookup(Scope(tenant, alias), question, random_embedding(rng)) is not None

    assert purge("--tenant", "t_purge_a", "--alias", "fast") == 1
    assert not cached("t_purge_a", "fast", "How do I list pods?")
    assert cached("t_purge_a", "default", "how do i list pods")
    assert purge("--question", "how do I list PODS") == 2  # every tenant's
    assert not cached("t_purge_b", "default", "How do I list pods?")
    assert cached("t_purge_a", "default", "How do I list nodes?")
    assert purge("--tenant", "t_purge_a") == 1
    assert not cached("t_purge_a", "default", "How do I list nodes?")
    items = gateway.client("dynamodb").scan(TableName=tables["cache"])["Items"]
    assert not [i for i in items if "t_purge" in str(i)]  # index items went with their entries


def test_s3_vectors_index_behind_the_same_interface(gateway: LocalGateway, tables: dict[str, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The cache with its semantic candidates from S3 Vectors (the emulator's QueryVectors, through
    boto3): paraphrases hit, scope and embedding model isolate, expiry, eviction and purge hold."""
    s3v, ddb = gateway.client("s3vectors"), gateway.client("dynamodb")
    s3v.create_vector_bucket(vectorBucketName="test-cache-vectors")
    arn = s3v.get_vector_bucket(vectorBucketName="test-cache-vectors")["vectorBucket"]["vectorBucketArn"]
    cache = SemanticCache(tables["cache"], ddb, threshold=0.9, vectors=VectorBucketIndex(arn, s3v))
    scope, near, far = Scope("t_vectors", "default"), [1.0, 0.2, 0.0, 0.1] * 4, [0.0, 0.1, 1.0, 0.0] * 4
    ref = cache.ref(scope, Embedding(near, "model-a"), "r1", "How do I tag an S3 bucket?")
    cache.store(scope, "How do I tag an S3 bucket?", "With put-bucket-tagging.", Embedding(near, "model-a"),
                request_id="r1", ref=ref)
    cache.store(scope, "How do I list pods?", "kubectl get pods", Embedding(far, "model-a"), request_id="r2")
    index = s3v.get_index(indexArn=ref.vectors[0][0])["index"]  # made on first write, as the model needs
    assert index["dimension"] == 16 and index["distanceMetric"] == "cosine"

    paraphrase = "What's the way to tag an S3 bucket?"
    reads = count_reads(ddb)
    hit = cache.lookup(scope, paraphrase, Embedding([x + 0.01 for x in near], "model-a"))
    assert hit and hit.answer == "With put-bucket-tagging." and hit.similarity > 0.99
    assert {name for name, _ in reads} == {"Query", "GetItem"}  # exact key, then the answer: no LSH items
    assert cache.lookup(scope, "How do I tag an S3 object?", Embedding(near, "model-a")) is None  # verified
    assert cache.lookup(Scope("t_other", "default"), paraphrase, Embedding(near, "model-a")) is None
    assert cache.lookup(scope, paraphrase, Embedding(near, "model-b")) is None  # another model's index
    assert not [i for i in ddb.scan(TableName=tables["cache"])["Items"] if "entry_pk" in i and "t_vectors" in str(i)]

    cache.evict(ref)
    assert cache.lookup(scope, paraphrase, Embedding(near, "model-a")) is None
    assert ref.vectors[0][1] not in [v["key"] for v in s3v.list_vectors(indexArn=ref.vectors[0][0])["vectors"]]

    main(["cache", "purge", "--table", tables["cache"], "--endpoint-url", gateway.aws_endpoint,
          "--region", "us-east-1", "--tenant", "t_vectors"])
    assert json.loads(capsys.readouterr().out)["purged"] == 1
    assert s3v.list_vectors(indexArn=ref.vectors[0][0])["vectors"] == []

    stale = SemanticCache(tables["cache"], ddb, threshold=0.9, ttl_seconds=0, vectors=VectorBucketIndex(arn, s3v))
    stale.store(scope, "How do I tag an S3 bucket?", "old", Embedding(near, "model-a"), request_id="r3")
    assert cache.lookup(scope, paraphrase, Embedding(near, "model-a")) is None  # expired is filtered out


class Sent(Exception):
    """Raised by a ``before-send`` handler: the request was built and signed, and goes no further."""


def sent_bodies(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    """The bodies ``client`` signs and would send for ``calls``, caught just before sending."""
    bodies: list[bytes] = []

    def catch(request: Any, **_: Any) -> None:
        bodies.append(request.body)
        raise Sent

    client.meta.events.register("before-send.s3vectors", catch)
    for operation, params in calls:
        with pytest.raises(Sent):
            getattr(client, operation)(**params)
    return bodies


def test_vectors_written_by_msgspec_are_the_json_botocore_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fast_vectors`` takes the vectors out of botocore's per-value serializer and writes them
    into the body before signing: the bodies are botocore's own JSON, every number the same float,
    the caller's parameters are left as they were, and a number that is not finite is refused."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    rng = random.Random(5)
    index = "arn:aws:s3vectors:us-east-1:123456789012:bucket/b/index/cache-1"
    vectors: list[dict[str, Any]] = [
        {"key": f"k{i}", "data": {"float32": [rng.uniform(-1, 1) for _ in range(384)]},
         "metadata": {"scope": "s", "expires_at": 2_000_000_000, "question": f"q{i}"}} for i in range(25)]
    query: dict[str, Any] = {
        "indexArn": index, "topK": 8, "queryVector": {"float32": vectors[0]["data"]["float32"]},
        "filter": {"$and": [{"scope": "s"}, {"expires_at": {"$gt": 1}}]}, "returnMetadata": True,
        "returnDistance": True}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("query_vectors", query), ("put_vectors", {"indexArn": index, "vectors": vectors}),
        ("put_vectors", {"indexArn": index, "vectors": vectors[:1]})]
    before = json.dumps(calls)

    def client() -> Any:
        return boto3.client("s3vectors", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")

    fast, serialized = fast_vectors(client()), list[bytes]()
    fast.meta.events.register("before-call.s3vectors", lambda params, **_: serialized.append(params["body"]))
    assert [json.loads(b) for b in sent_bodies(fast, calls)] == [json.loads(b) for b in sent_bodies(client(), calls)]
    assert all(b"[0.0]" in body and len(body) < 5000 for body in serialized)  # botocore never walked a vector
    assert json.dumps(calls) == before
    with pytest.raises(ValueError, match="not finite"):
        sent_bodies(fast, [("query_vectors", {**query, "queryVector": {"float32": [float("nan")] * 384}})])


class CountingPuts:
    """An S3 Vectors client that counts its PutVectors calls that succeed (each is billed for 128 KB
    or more)."""

    def __init__(self, client: Any) -> None:
        self._client, self.puts = client, list[int]()

    def put_vectors(self, **kw: Any) -> Any:
        reply = self._client.put_vectors(**kw)  # the first, refused until the index exists, is retried
        self.puts.append(len(kw["vectors"]))
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_vector_puts_wait_for_a_batch_or_the_linger(gateway: LocalGateway, tables: dict[str, str]) -> None:
    """prod's ``cacheVectorBatch``: answers' vectors go to S3 Vectors 25 to a call (here 3), or
    when the oldest has waited the linger (5 s) as the next answer arrives; held ones are not
    searchable yet, their answers still hit exactly."""
    s3v, now = CountingPuts(gateway.client("s3vectors")), [0.0]
    s3v.create_vector_bucket(vectorBucketName="test-batched-vectors")
    arn = s3v.get_vector_bucket(vectorBucketName="test-batched-vectors")["vectorBucket"]["vectorBucketArn"]
    vectors = VectorBucketIndex(arn, s3v, batch=3, linger_seconds=5, clock=lambda: now[0])
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"), threshold=0.9, vectors=vectors)
    scope = Scope("t_batched", "default")

    def answer(i: int) -> Embedding:
        embedding = Embedding([1.0, 0.1 * i, 0.0, 0.0], "model-a")
        cache.store(scope, f"How do I tag bucket {i}?", f"answer {i}", embedding, request_id=f"b{i}")
        return embedding

    first = answer(0)
    answer(1)
    assert s3v.puts == []
    assert cache.lookup(scope, "How do I tag bucket 0?", first).answer == "answer 0"  # exact: at once
    assert cache.lookup(scope, "What is the way to tag bucket 0?", first) is None  # semantic: not yet
    answer(2)
    assert s3v.puts == [3]
    hit = cache.lookup(scope, "What is the way to tag bucket 0?", first)
    assert hit is not None and hit.answer == "answer 0"
    answer(3)
    now[0] = 6.0  # past the linger: the next answer takes the held one with it
    answer(4)
    assert s3v.puts == [3, 2]
    answer(5)
    vectors.flush()
    assert s3v.puts == [3, 2, 1]


def chat(http: httpx.Client, content: Any, **params: Any) -> httpx.Response:
    response = http.post("/v1/chat/completions", json={
        "model": "default", "messages": [{"role": "user", "content": content}], **params})
    assert response.status_code == 200, response.text
    return response


def image(pixel: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}


def test_the_scope_covers_what_changes_the_answer(http: httpx.Client) -> None:
    """Same words, different image / output format / tools: never each other's answer."""
    question = "What is shown in this picture of our architecture diagram?"
    first = chat(http, [{"type": "text", "text": question}, image("iVBORw0KGgoAAAAN")])
    assert first.headers["x-gateway-cache-hit"] == "false"
    same = chat(http, [{"type": "text", "text": question}, image("iVBORw0KGgoAAAAN")])
    assert same.headers["x-gateway-cache-hit"] == "true"  # the same image: a repeat
    other = chat(http, [{"type": "text", "text": question}, image("R0lGODlhAQABAIAA")])
    assert other.headers["x-gateway-cache-hit"] == "false"

    text = "Give me the deployment checklist for the payments service."
    assert chat(http, text).headers["x-gateway-cache-hit"] == "false"
    assert chat(http, text).headers["x-gateway-cache-hit"] == "true"
    as_json = chat(http, text, response_format={"type": "json_object"})
    assert as_json.headers["x-gateway-cache-hit"] == "false"
    stopped = chat(http, text, stop=["\n"])
    assert stopped.headers["x-gateway-cache-hit"] == "false"


def test_hot_sampling_is_never_served_from_the_cache(http: httpx.Client) -> None:
    question = "Suggest a creative name for our new internal CLI tool."
    for _ in range(2):
        assert chat(http, question, temperature=1.5).headers["x-gateway-cache-hit"] == "false"


def test_cache_control_bypasses_lookup_or_write(http: httpx.Client) -> None:
    question = "Which log level should the staging gateway use by default?"
    assert chat(http, question).headers["x-gateway-cache-hit"] == "false"
    fresh = http.post("/v1/chat/completions", headers={"Cache-Control": "no-cache"},
                      json={"model": "default", "messages": [{"role": "user", "content": question}]})
    assert fresh.headers["x-gateway-cache-hit"] == "false"  # answered anew (and the entry refreshed)
    assert chat(http, question).headers["x-gateway-cache-hit"] == "true"

    private = "Summarise our incident runbook for the on-call rotation, privately."
    for _ in range(2):
        response = http.post("/v1/chat/completions", headers={"Cache-Control": "no-store"},
                             json={"model": "default", "messages": [{"role": "user", "content": private}]})
        assert response.headers["x-gateway-cache-hit"] == "false"
    assert chat(http, private).headers["x-gateway-cache-hit"] == "false"  # nothing was stored


def test_a_low_judge_score_evicts_the_cached_answer(http: httpx.Client, gateway: LocalGateway,
                                                    tables: dict[str, str]) -> None:
    question = "Give me the flaky answer about restarting the worker"
    assert http.post("/ask", json={"question": question}).json()["cache_hit"] is False
    ddb = gateway.client("dynamodb")

    def entries() -> list[dict[str, Any]]:
        items = ddb.scan(TableName=tables["cache"])["Items"]
        return [i for i in items if i["question"]["S"] == question]

    def evicted() -> bool:
        scores = ddb.scan(TableName=tables["scores"])["Items"]
        return any(s.get("evicted", {}).get("BOOL") for s in scores) and not entries()

    assert eventually(evicted)
    assert http.post("/ask", json={"question": question}).json()["cache_hit"] is False


def test_paraphrases_hit_and_hard_negatives_miss_with_the_default_embedder(http: httpx.Client) -> None:
    """Through the gateway on `make dev`'s default embedder (all-MiniLM-L6-v2 at its calibrated
    threshold): rephrasings are served from the cache, near-miss questions are not."""
    asked = "How do I enable versioning on an S3 bucket?"
    assert chat(http, asked).headers["x-gateway-cache-hit"] == "false"
    for paraphrase in ("How can I turn on versioning for my S3 bucket?",
                       "What's the way to enable S3 bucket versioning?"):
        assert chat(http, paraphrase).headers["x-gateway-cache-hit"] == "true", paraphrase
    for negative in ("How do I disable versioning on an S3 bucket?",  # opposite operation
                     "How do I enable versioning on a DynamoDB table?",  # another service
                     "How do I enable logging on an S3 bucket?",  # another feature: a minimal pair
                     "Why should I enable versioning on an S3 bucket?"):  # another kind of question
        assert chat(http, negative).headers["x-gateway-cache-hit"] == "false", negative


def test_fewer_wrong_hits_on_pairs_written_after_calibration() -> None:
    """The probes (``eval/corpus/cache_probes.jsonl``, sets 1 to 5 and 7 to 9: 520 near misses
    and 237 paraphrases written after the calibration pairs; the rules before them served 35 of
    sets 1 to 5's 400 near misses, set 7 blind 5 of its 50, set 9 blind 3 of its 30) at the local
    embedder's threshold: at most two wrong hits, and at least 70% of the paraphrases served (169
    of 237 now; sets 7 to 9's rephrasings, 37 of 60, and set 5's, 22 of 36, are the hardest)."""
    pairs = read_pairs(str(Path(__file__).resolve().parents[1] / "eval" / "corpus" / "cache_probes.jsonl"))
    encoder, threshold = minilm.load(), cache_threshold_for(minilm.NAME)
    texts = list(dict.fromkeys(t for p in pairs for t in (p.a, p.b)))
    vectors = dict(zip(texts, encoder.embed(texts), strict=True))
    (row,) = table(pairs, [cosine(vectors[p.a], vectors[p.b]) for p in pairs], [threshold])
    assert row.served_wrong <= 2 and row.served_same >= 0.70 * sum(p.same for p in pairs)


def test_calibration_recommends_the_shipped_default(capsys: pytest.CaptureFixture[str]) -> None:
    """`llm-gateway cache calibrate` on the shipped pairs, with the local embedder: the threshold it
    recommends is the one the gateway uses for that model, and there no hard negative is served
    while at least half of the paraphrases are."""
    main(["cache", "calibrate", "--step", "1"])
    out = capsys.readouterr().out
    threshold = cache_threshold_for(minilm.NAME)
    assert f"recommended: CACHE_SIMILARITY_THRESHOLD={threshold:.2f} for {minilm.NAME}" in out
    row = next(line.split() for line in out.splitlines() if line.strip().startswith(f"{threshold:.2f} "))
    assert row[-1] == "0" and float(row[-2].rstrip("%")) >= 50.0  # wrong hits, recall after verification
    pairs = read_pairs(None)
    assert len(pairs) >= 200 and sum(not p.same for p in pairs) >= len(pairs) / 2


def test_a_route_can_ask_a_model_to_confirm_a_hit(tmp_path: Path, gateway: LocalGateway,
                                                  tables: dict[str, str]) -> None:
    """``cache_verify: model``: the judge alias has the last word; anything but a yes is a miss."""
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"step": "cache_verify", "pattern": "(?i)^what's the way to list",
                                   "response": {"same": True}}) + "\n")
    tasks = model_tasks(Settings(answers_path=str(answers)), None)
    cache = SemanticCache(tables["cache"], gateway.client("dynamodb"), threshold=0.5)
    scope, vector = Scope("t_verify", "default"), [0.2, 0.4, 0.1, 0.9] * 4
    cache.store(scope, "How do I list S3 buckets?", "aws s3 ls", Embedding(vector, "m"), request_id="v1")
    confirmed = cache.lookup(scope, "What's the way to list S3 buckets?", Embedding(vector, "m"),
                             verify=tasks.same_question)
    assert confirmed and confirmed.answer == "aws s3 ls"
    assert cache.lookup(scope, "Which command lists S3 buckets?", Embedding(vector, "m"),
                        verify=tasks.same_question) is None  # the model said no (no answer: no)
    assert cache.lookup(scope, "Which command lists S3 buckets?", Embedding(vector, "m"))  # the rules alone: yes
    with pytest.raises(ValueError, match="cache_verify"):
        Route.parse("x", {"targets": [{"provider": "local", "model": "m"}], "cache_verify": "maybe"})


@pytest.mark.parametrize(("flt", "expected"), [
    ({"scope": "s1"}, True), ({"scope": {"$ne": "s1"}}, False), ({"tags": "b"}, True),
    ({"n": {"$gt": 2, "$lte": 3}}, True), ({"n": {"$lt": 3}}, False), ({"scope": {"$in": ["s0", "s1"]}}, True),
    ({"tags": {"$nin": ["a"]}}, False), ({"missing": {"$exists": False}}, True), ({"missing": {"$ne": 1}}, False),
    ({"$or": [{"scope": "s2"}, {"n": 3}]}, True), ({"$and": [{"scope": "s1"}, {"n": {"$gte": 4}}]}, False),
])
def test_the_emulated_s3_vectors_filter_language(flt: dict[str, Any], expected: bool) -> None:
    from llm_gateway.local.s3vectors import matches

    assert matches({"scope": "s1", "n": 3, "tags": ["a", "b"]}, flt) is expected


def test_without_the_embedder_exact_repeats_still_hit_and_new_questions_are_answered(http: httpx.Client) -> None:
    """The embedder failing (the answers file fails it for "EMBEDDER OUTAGE") costs the cache its
    semantic hits and new entries, never a request: an exact repeat is read by its normalised words
    without waiting for an embedding, and a new question goes to the model."""
    assert chat(http, "What does the embedder outage drill cache?").headers["x-gateway-cache-hit"] == "false"
    repeat = chat(http, "what does the EMBEDDER OUTAGE drill cache")  # same words: its embedding fails
    assert repeat.headers["x-gateway-cache-hit"] == "true"
    for _ in range(2):  # answered, and nothing stored without an embedding
        assert chat(http, "Which EMBEDDER OUTAGE drill runs next?").headers["x-gateway-cache-hit"] == "false"


def test_writers_of_one_item_in_one_commit_go_in_separate_batches(gateway: LocalGateway,
                                                                 tables: dict[str, str]) -> None:
    """Two evictions of one entry at once (the judge's and an operator's purge), sent together with
    a third writer's entry: DynamoDB refuses a batch that names a key twice, so the writers that
    share a key go in separate batches, and every one of them succeeds."""
    ddb = gateway.client("dynamodb")
    cache = SemanticCache(tables["cache"], ddb)
    scope = Scope("t_twice", "default")
    cache.store(scope, "How do I tag a queue?", "With tag-queue.", Embedding([1.0, 0.0] * 8, "model-a"),
                request_id="r-twice")
    entry = next(item for item in ddb.scan(TableName=tables["cache"])["Items"]
                 if item.get("request_id", {}).get("S") == "r-twice")
    delete = {"DeleteRequest": {"Key": {"pk": entry["pk"], "sk": entry["sk"]}}}
    put = {"PutRequest": {"Item": {"pk": {"S": "t_twice#other"}, "sk": {"S": "x"}, "expires_at": {"N": "0"}}}}

    assert cache._write_batch([[delete], [delete], [put]]) == [None, None, None]
    assert "Item" not in ddb.get_item(TableName=tables["cache"], Key={"pk": entry["pk"], "sk": entry["sk"]})
    assert "Item" in ddb.get_item(TableName=tables["cache"], Key={"pk": {"S": "t_twice#other"}, "sk": {"S": "x"}})
