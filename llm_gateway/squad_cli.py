"""``llm-gateway eval squad``: SQuAD-style reading comprehension through a running gateway (seed
004): each question is sent with its context to ``/v1/chat/completions``; the answers are scored
with the official SQuAD v1.1 Exact Match and F1 (its answer normalisation), beside latency
percentiles, tokens and cost. The results (per question and in total) are saved as JSON, to compare
models run against the same file.

    python -m llm_gateway eval squad --file dev-v1.1.json --limit 100 --model default --local --key gw_sk_...
    python -m llm_gateway eval squad --file dev-v1.1.json --url https://.../v1 --key gw_sk_... --model fast
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import string
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from llm_gateway.operator_cli import LOCAL_STATE

SAMPLE = resources.files("llm_gateway") / "squad_sample.json"
SYSTEM = ("Answer the question from the context with the shortest span of the context that answers it: "
          "a few words, no sentence, no explanation.")


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]


def load(path: str | os.PathLike[str] | None) -> list[Question]:
    """The questions of a SQuAD v1.1 file ({"data": [{"title", "paragraphs": [{"context", "qas":
    [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}), in file order."""
    document = json.loads(Path(path).read_text() if path else SAMPLE.read_text())
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise SystemExit("not a SQuAD file: expected an object with a 'data' list")
    return [Question(str(qa["id"]), str(article.get("title", "")), paragraph["context"], qa["question"],
                     tuple(a["text"] for a in qa.get("answers", [])))
            for article in document["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]


# -- the official SQuAD v1.1 evaluation (evaluate-v1.1.py), as published ---------------------------
def normalize_answer(text: str) -> str:
    """Lower case, and remove punctuation, articles and extra whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1_score(prediction: str, truth: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(predicted) & collections.Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, truth: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(truth)


def best(metric: Any, prediction: str, truths: tuple[str, ...]) -> float:
    return max((float(metric(prediction, t)) for t in truths), default=0.0)


# -- asking the gateway -----------------------------------------------------------------------------
@dataclass
class Answer:
    id: str
    question: str
    prediction: str = ""
    answers: tuple[str, ...] = ()
    exact_match: float = 0.0
    f1: float = 0.0
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    cache_hit: bool = False
    error: str = ""


@dataclass
class Report:
    model: str
    file: str
    questions: int
    answered: int
    exact_match: float
    f1: float
    latency_ms: dict[str, float]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    results: list[Answer] = field(default_factory=list)


def ask(client: Any, model: str, item: Question) -> Answer:
    import httpx

    answer = Answer(item.id, item.question, answers=item.answers)
    body = {"model": model, "temperature": 0, "max_tokens": 64, "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Context: {item.context}\n\nQuestion: {item.question}"}]}
    started = time.perf_counter()
    try:
        reply = client.post("/chat/completions", json=body)
    except httpx.HTTPError as exc:
        answer.error = f"{type(exc).__name__}: {exc}"
        return answer
    answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if reply.status_code != 200:
        answer.error = f"{reply.status_code}: {reply.text[:200]}"
        return answer
    payload = reply.json()
    answer.prediction = (payload["choices"][0]["message"].get("content") or "").strip()
    usage = payload.get("usage") or {}
    answer.prompt_tokens, answer.completion_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    answer.model = reply.headers.get("x-gateway-model", "")
    answer.cache_hit = reply.headers.get("x-gateway-cache-hit") == "true"
    answer.cost_usd = float(reply.headers.get("x-gateway-cost-usd") or 0)  # at the route's price
    answer.exact_match = best(exact_match, answer.prediction, item.answers)
    answer.f1 = best(f1_score, answer.prediction, item.answers)
    return answer


def evaluate(url: str, key: str | None, model: str, questions: list[Question], *, file: str = "",
             concurrency: int = 4, timeout: float = 60) -> Report:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # Cache-Control: no-store: each question is answered by the model, and nothing is cached.
    with httpx.Client(base_url=url.rstrip("/"), headers={**headers, "Cache-Control": "no-store"},
                      timeout=timeout) as client, ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(lambda q: ask(client, model, q), questions))
    done = [r for r in results if not r.error]
    cuts = statistics.quantiles([r.latency_ms for r in done], n=100, method="inclusive") if len(done) > 1 else []
    return Report(
        model=model, file=file, questions=len(results), answered=len(done),
        exact_match=round(100 * sum(r.exact_match for r in results) / max(1, len(results)), 2),
        f1=round(100 * sum(r.f1 for r in results) / max(1, len(results)), 2),
        latency_ms={"p50": round(cuts[49], 1), "p90": round(cuts[89], 1), "p99": round(cuts[98], 1)} if cuts else {},
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        cost_usd=round(sum(r.cost_usd for r in results), 6), results=results)


def run(args: argparse.Namespace) -> None:
    url, key = args.url, args.key or os.environ.get("GATEWAY_API_KEY")
    if args.local or not url:
        if not LOCAL_STATE.exists():
            raise SystemExit("give --url (the gateway's /v1 base) and --key, or start `make dev` and pass --local")
        url = f"{json.loads(LOCAL_STATE.read_text())['url']}/v1"
    if not key:
        raise SystemExit("give --key (or GATEWAY_API_KEY): the gateway needs an API key")
    questions = load(args.file)[: args.limit] if args.limit else load(args.file)
    report = evaluate(url, key, args.model, questions, file=args.file or "(the shipped sample)",
                      concurrency=args.concurrency)
    failed = report.questions - report.answered
    print(f"SQuAD {report.file}: {report.questions} questions, model {report.model}"
          + (f" ({failed} failed: see the results file)" if failed else ""))
    print(f"  Exact Match {report.exact_match:.2f}   F1 {report.f1:.2f}")
    if report.latency_ms:
        print("  latency " + "  ".join(f"{k} {v:.0f} ms" for k, v in report.latency_ms.items()))
    print(f"  tokens {report.prompt_tokens} in, {report.completion_tokens} out   cost ${report.cost_usd:.6f}")
    out = Path(args.out or f"squad-{re.sub(r'[^A-Za-z0-9_.-]', '_', args.model)}.json")
    out.write_text(json.dumps(asdict(report), indent=2))
    print(f"  results: {out}")


def add_parser(commands: Any) -> None:
    evaluation = commands.add_parser("eval", help="evaluate models through the gateway", description=__doc__)
    kinds = evaluation.add_subparsers(dest="kind", required=True)
    squad = kinds.add_parser("squad", help="SQuAD v1.1 Exact Match and F1, latency, tokens and cost")
    squad.add_argument("--file", help="a SQuAD v1.1 JSON file (default: the shipped sample)")
    squad.add_argument("--limit", type=int, default=100, help="the first N questions (default 100; 0: all)")
    squad.add_argument("--model", default="default", help="the model alias to ask (default: default)")
    squad.add_argument("--url", help="the gateway's OpenAI base URL, e.g. https://<api>/v1/v1")
    squad.add_argument("--key", help="an API key (default: GATEWAY_API_KEY; `make dev` prints its dev key)")
    squad.add_argument("--local", action="store_true", help="the gateway `make dev` is running")
    squad.add_argument("--concurrency", type=int, default=4)
    squad.add_argument("--out", help="where to save the results (default: squad-<model>.json)")
    squad.set_defaults(run=run)
