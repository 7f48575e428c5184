"""``python -m llm_gateway cache calibrate|purge``: the semantic cache's operator commands.

``calibrate PAIRS.jsonl`` embeds labelled question pairs with the configured embedder (the ``embed``
alias through the router, as the gateway does: the local stand-in's all-MiniLM-L6-v2 with
``LLM_MODE=local``, Bedrock's Titan or Cohere with ``LLM_MODE=bedrock`` and AWS credentials) and
prints precision and recall per threshold, before and after verification, then the threshold to
use for a precision target. ``purge`` removes cached answers by tenant, alias or question.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from llm_gateway.contract import Settings
from llm_gateway.operator_cli import locate, print_json, where_parser

BATCH = 32


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    kind: str = ""


@dataclass(frozen=True)
class Row:
    threshold: float
    served_same: int  # paraphrases that would be served (similarity and verification)
    served_wrong: int  # hard negatives that would be served
    cosine_same: int  # ... on similarity alone
    cosine_wrong: int


def read_pairs(path: str | None) -> list[Pair]:
    """A JSONL file of ``{"a", "b", "same"}`` (``#`` lines are comments); the shipped file by default."""
    source = Path(path) if path else resources.files("llm_gateway").joinpath("cache_pairs.jsonl")
    text = source.read_text(encoding="utf-8")
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                raw = json.loads(line)
                pairs.append(Pair(str(raw["a"]), str(raw["b"]), bool(raw["same"]), str(raw.get("kind", ""))))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise SystemExit(f"{path or 'cache_pairs.jsonl'}:{number}: not a pair ({error})") from None
    if not any(p.same for p in pairs) or all(p.same for p in pairs):
        raise SystemExit("calibration needs both paraphrases (same: true) and hard negatives (same: false)")
    return pairs


def similarities(pairs: list[Pair], embed: Any) -> tuple[list[float], str]:
    """Cosine similarity of each pair, embedded in batches; and the model that embedded."""
    from llm_gateway.core.cache import cosine

    texts = list(dict.fromkeys(t for p in pairs for t in (p.a, p.b)))
    vectors: dict[str, list[float]] = {}
    model = ""
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        embeddings, served = embed(batch)
        vectors.update(zip(batch, embeddings.vectors, strict=True))
        model = embeddings.model or served.model
    return [cosine(vectors[p.a], vectors[p.b]) for p in pairs], model


def table(pairs: list[Pair], sims: list[float], thresholds: list[float]) -> list[Row]:
    from llm_gateway.core.verify import same_question

    verified = [same_question(p.a, p.b) for p in pairs]
    rows = []
    for t in thresholds:
        over = [s >= t for s in sims]
        rows.append(Row(
            t, sum(o and v and p.same for p, o, v in zip(pairs, over, verified, strict=True)),
            sum(o and v and not p.same for p, o, v in zip(pairs, over, verified, strict=True)),
            sum(o and p.same for p, o in zip(pairs, over, strict=True)),
            sum(o and not p.same for p, o in zip(pairs, over, strict=True))))
    return rows


def precision(served: int, wrong: int) -> float:
    return served / (served + wrong) if served + wrong else 1.0


def recommend(rows: list[Row], target: float, margin: float, floor: float) -> float | None:
    """The lowest threshold from which on every threshold keeps the precision target after
    verification, raised by ``margin`` and never below ``floor``: other people's questions are not
    these pairs, and the lower the threshold, the more a wrong hit rests on the rules alone."""
    safe = None
    for row in sorted(rows, key=lambda r: -r.threshold):
        if precision(row.served_same, row.served_wrong) < target:
            break
        safe = row.threshold
    return None if safe is None else min(1.0, max(floor, round(safe + margin, 2)))


def calibrate(args: argparse.Namespace) -> None:
    import boto3

    from llm_gateway.core.wiring import model_tasks

    pairs = read_pairs(args.pairs)
    settings = Settings.from_env()
    if settings.llm_mode == "local" and not boto3.session.Session().region_name:
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the router builds AWS clients the stand-in never calls
    tasks = model_tasks(settings, boto3.client("dynamodb") if settings.routes_table else None)
    route = tasks.router.routes.get(args.alias or settings.embed_alias)
    if route is None:
        raise SystemExit(f"no route for the embedding alias {args.alias or settings.embed_alias!r}")
    sims, model = similarities(pairs, lambda batch: tasks.router.embed(route, batch))
    thresholds = [round(0.5 + i * 0.01, 2) for i in range(50)]
    rows = table(pairs, sims, thresholds)
    same, negatives = sum(p.same for p in pairs), sum(not p.same for p in pairs)
    print(f"embedder: {model} (alias {route.alias}); {len(pairs)} pairs: {same} paraphrases, "
          f"{negatives} hard negatives")
    print(f"{'threshold':>9}  {'cosine only':^27}  {'cosine + verification':^27}")
    print(f"{'':>9}  {'precision':>9} {'recall':>7} {'wrong':>7}  {'precision':>9} {'recall':>7} {'wrong':>7}")
    for row in rows:
        if round(row.threshold * 100) % args.step:
            continue
        print(f"{row.threshold:>9.2f}  {precision(row.cosine_same, row.cosine_wrong):>9.3f} "
              f"{row.cosine_same / same:>7.1%} {row.cosine_wrong:>7}  "
              f"{precision(row.served_same, row.served_wrong):>9.3f} {row.served_same / same:>7.1%} "
              f"{row.served_wrong:>7}")
    best = recommend(rows, args.precision, args.margin, args.floor)
    if best is None:
        print(f"no threshold reaches precision {args.precision}: add verification rules or use cache_verify: model")
        return
    at = min((r for r in rows if r.threshold >= best - 1e-9), key=lambda r: r.threshold, default=None)
    served = f", serving {at.served_same / same:.0%} of the paraphrases" if at else ""
    print(f"recommended: CACHE_SIMILARITY_THRESHOLD={best:.2f} for {model} (precision >= {args.precision} "
          f"after verification, +{args.margin} margin, floor {args.floor}{served})")


def purge(args: argparse.Namespace) -> None:
    from llm_gateway.core.cache import SemanticCache, VectorBucketIndex

    if not (args.tenant or args.alias or args.question):
        raise SystemExit("say what to purge: --tenant, --alias and/or --question")
    session, endpoint, table_name = locate(args, args.table, output="CacheTable", state="cache_table", flag="--table")
    # Entries name their own vectors (index ARN and key), if any: removing them needs only a client.
    vectors = VectorBucketIndex("", session.client("s3vectors", endpoint_url=endpoint))
    cache = SemanticCache(table_name, session.client("dynamodb", endpoint_url=endpoint), vectors=vectors)
    print_json({"purged": cache.purge(tenant_id=args.tenant, model_alias=args.alias, question=args.question)})


def run(args: argparse.Namespace) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        (calibrate if args.command == "calibrate" else purge)(args)
    except (BotoCoreError, ClientError) as exc:
        raise SystemExit(f"llm-gateway cache {args.command}: {exc}") from None


def add_parser(commands: Any) -> None:
    cache = commands.add_parser("cache", help="calibrate and purge the semantic cache", description=__doc__)
    actions = cache.add_subparsers(dest="command", required=True)
    calibration = actions.add_parser("calibrate", help="precision and recall per threshold on labelled pairs")
    calibration.add_argument("pairs", nargs="?", help="JSONL of {a, b, same} (default: the shipped pair file)")
    calibration.add_argument("--precision", type=float, default=1.0, help="the precision to keep (default 1.0)")
    calibration.add_argument("--margin", type=float, default=0.05,
                             help="added to the lowest safe threshold (default 0.05)")
    calibration.add_argument("--floor", type=float, default=0.75,
                             help="never recommend less (default 0.75: below it, a sentence encoder's "
                                  "near neighbours are other questions about as often as rephrasings)")
    calibration.add_argument("--alias", help="the embedding alias (default: the cache's, EMBED_ALIAS)")
    calibration.add_argument("--step", type=int, default=2, help="print every STEP hundredths (default 2)")
    removal = actions.add_parser("purge", parents=[where_parser()], help="remove cached answers")
    removal.add_argument("--table", help="the cache table (or its stack's CacheTable output)")
    removal.add_argument("--tenant")
    removal.add_argument("--alias")
    removal.add_argument("--question", help="a question, as asked (case, spacing, end punctuation aside)")
    cache.set_defaults(run=run)



