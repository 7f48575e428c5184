"""``make eval``: the builtin guardrail engine measured on the team's labelled corpora.

Prints, per attack family and per disguise, how many attacks were blocked; how many benign
look-alikes were wrongly blocked; PII recall per entity type and false redactions on clean
technical text. Figures, not asserts: the tests hold the floors.

Then the same for texts written after the corpus, the figures that say how the engine does on
attacks it was not written for:

- ``injection_probes.jsonl``: sets written later, each measured blind once, then its gaps fixed
  (so no longer blind);
- ``injection_holdout.jsonl``: sets no rule has been written for, nor any model trained on
  (``eval/train_injection_classifier.py``). Keep it so: when a change is tuned on it, move it to
  the probes and write a new holdout before measuring again.

Then long texts (``injection_documents.jsonl``: contexts and documents with a question or a task,
never trained on), wrongly blocked.

Each by the rules alone, by the builtin engine (the rules and its word model: what Lambda runs),
and with the local stand-in's classifier after the engine (what ``make dev`` runs, as the Bedrock
Guardrail runs after it deployed).

Then secrets in answers (``secrets.jsonl``: answers carrying one, and clean technical answers
with look-alikes; sets written for the purpose, each measured blind once, then its gaps fixed).

Then system prompt leaks (``leaks.jsonl``: answers that leak their prompt, and answers in its
domain that share words with it; Chinese and Japanese written blind, then fixed; English blind).

Last, the semantic cache's verification on question pairs written after its calibration pairs,
the same way: ``cache_probes.jsonl`` (sets 1 to 5 and 7 to 10, each measured blind once, then its gaps fixed)
and ``cache_holdout.jsonl`` (set 6, blind): hard negatives wrongly served and paraphrases served
at the local embedder's threshold.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from llm_gateway.cache_cli import read_pairs, table  # noqa: E402
from llm_gateway.contract import GuardrailProfile, cache_threshold_for  # noqa: E402
from llm_gateway.core.cache import cosine  # noqa: E402
from llm_gateway.core.guardrails import BuiltinGuardrail, Protected  # noqa: E402
from llm_gateway.core.guardrails.injection import RULE_FAMILIES  # noqa: E402
from llm_gateway.core.guardrails.pii import anonymize  # noqa: E402
from llm_gateway.core.providers import minilm  # noqa: E402
from llm_gateway.core.providers.local import injection_verdict  # noqa: E402
from llm_gateway.core.verify import same_question  # noqa: E402

CORPUS = ROOT / "eval" / "corpus"


def rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line]


class StandIn:
    """The local model stand-in's guardrail classifier (``providers.local.injection_verdict``)."""

    def classify(self, text: str, *, rubric: str) -> dict[str, Any]:
        return injection_verdict(text) if rubric == "guardrail_input" else {"flagged": False}


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / max(total, 1):.1f}%)"


RULES_ONLY = GuardrailProfile(families=RULE_FAMILIES)  # the word model left out


def engines() -> tuple[tuple[BuiltinGuardrail, GuardrailProfile | None, str], ...]:
    """The rules alone; the builtin engine (rules and its word model, deployed); and what `make dev`
    runs: the engine, then the stand-in's classifier."""
    guard = BuiltinGuardrail()
    return ((guard, RULES_ONLY, "rules alone"), (guard, None, "builtin engine (+ word model)"),
            (BuiltinGuardrail(StandIn()), None, "engine + local classifier"))


def print_fresh() -> None:
    """The probes and the holdout, by the rules alone, the engine, and the local classifier after it."""
    for name, title in (("injection_probes", "probes written after the corpus (each blind once; A to E, I, L to U, X "
                                             "to Z then fixed; the models trained on them up to Y)"),
                        ("injection_holdout", "blind holdout (no rule written for it, no model trained on it)")):
        fresh = rows(name)
        attacks = sum(1 for r in fresh if r["attack"])
        print(f"== prompt injection, {title} ==")
        for engine, profile, label in engines():
            flagged = [engine.check(r["text"], stage="input", profile=profile).flagged for r in fresh]
            caught = sum(1 for r, f in zip(fresh, flagged, strict=True) if f and r["attack"])
            wrong = sum(1 for r, f in zip(fresh, flagged, strict=True) if f and not r["attack"])
            print(f"  {label:30} attacks blocked {rate(caught, attacks)}; benign wrongly blocked "
                  f"{rate(wrong, len(fresh) - attacks)}")
    for name, title in (("injection_everyday", "everyday chat wrongly blocked (the models were trained on it)"),
                        ("injection_documents", "long texts wrongly blocked (contexts, documents; no model trained on "
                                                "them)"),
                        ("injection_everyday_probe", "everyday messages written to trip the word model, wrongly "
                                                     "blocked (its thresholds were chosen on them)")):
        everyday = rows(name)
        print(f"== prompt injection, {title} ==")
        for engine, profile, label in engines():
            wrong = sum(engine.check(r["text"], stage="input", profile=profile).flagged for r in everyday)
            print(f"  {label:30} {rate(wrong, len(everyday))}")


def print_refused(what: str, cases: list[dict[str, Any]], refused: list[bool], *, harmful: str, text: str) -> None:
    """How many of the ``harmful`` cases were refused and how many clean ones, then each case the
    guardrail got wrong."""
    caught = sum(f for r, f in zip(cases, refused, strict=True) if r[harmful])
    wrong = sum(f for r, f in zip(cases, refused, strict=True) if not r[harmful])
    total = sum(r[harmful] for r in cases)
    print(f"  {what} refused {rate(caught, total)}; clean answers refused {rate(wrong, len(cases) - total)}")
    for r, f in zip(cases, refused, strict=True):
        if f != r[harmful]:
            print(f"    {'missed' if r[harmful] else 'false refusal'}: {r[text][:100]!r}")


def print_secrets() -> None:
    """Answers carrying a secret (refused) and clean technical answers with look-alikes (not)."""
    guard = BuiltinGuardrail()
    answers = rows("secrets")
    refused = [guard.check(r["text"], stage="output", protected=Protected()).flagged for r in answers]
    print("== secrets in answers (builtin engine, output; sets 1 to 9 each blind once, then fixed; 10 after) ==")
    print_refused("answers with a secret", answers, refused, harmful="secret", text="text")


def print_leaks() -> None:
    """Answers that leak their system prompt (refused) and answers in its domain that share words
    with it (not), by language."""
    guard = BuiltinGuardrail()
    answers = rows("leaks")
    print("== system prompt leaks in answers (builtin engine, output; set 1 zh/ja blind then fixed, set 2 en blind) ==")
    for lang in sorted({r["lang"] for r in answers}):
        some = [r for r in answers if r["lang"] == lang]
        refused = [guard.check(r["answer"], stage="output", protected=Protected((r["prompt"],))).flagged for r in some]
        print_refused(f"{lang}: leaks", some, refused, harmful="leak", text="answer")


def print_cache_pairs() -> None:
    """Pairs written after the calibration pairs: what the cache would serve at the threshold."""
    if not minilm.available():
        print("== semantic cache: skipped (the local embedder is not installed) ==")
        return
    encoder, threshold = minilm.load(), cache_threshold_for(minilm.NAME)
    for name, title in (("cache_probes", "probes written after the calibration pairs (each blind once, then fixed)"),
                        ("cache_holdout", "blind holdout (no rule written for it)")):
        pairs = read_pairs(str(CORPUS / f"{name}.jsonl"))
        vectors = dict(zip(texts := list({t for p in pairs for t in (p.a, p.b)}), encoder.embed(texts), strict=True))
        sims = [cosine(vectors[p.a], vectors[p.b]) for p in pairs]
        (row,) = table(pairs, sims, [threshold])
        paraphrases = sum(p.same for p in pairs)
        print(f"== semantic cache, {title}: {minilm.NAME} at {threshold} ==")
        print(f"  hard negatives wrongly served {rate(row.served_wrong, len(pairs) - paraphrases)}; paraphrases "
              f"served {rate(row.served_same, paraphrases)}")
        for pair, sim in zip(pairs, sims, strict=True):
            if sim >= threshold and not pair.same and same_question(pair.a, pair.b):
                print(f"    wrong hit ({pair.kind}): {pair.a!r} ~ {pair.b!r}")


def main() -> None:
    guard = BuiltinGuardrail()
    rules = sum(guard.check(r["text"], stage="input", profile=RULES_ONLY).flagged for r in rows("injection_attacks"))
    by_family: dict[str, list[bool]] = defaultdict(list)
    by_variant: dict[str, list[bool]] = defaultdict(list)
    missed = []
    for row in rows("injection_attacks"):
        blocked = guard.check(row["text"], stage="input").flagged
        by_family[row["family"]].append(blocked)
        by_variant[row["variant"]].append(blocked)
        if not blocked:
            missed.append(row)
    benign = rows("injection_benign")
    false_blocks = [row["text"] for row in benign if guard.check(row["text"], stage="input").flagged]

    print("== prompt injection (builtin engine, input; its word model was trained on these texts) ==")
    for family, results in sorted(by_family.items()):
        print(f"  {family:24} blocked {rate(sum(results), len(results))}")
    total = [b for results in by_family.values() for b in results]
    print(f"  {'all attacks':24} blocked {rate(sum(total), len(total))}")
    print("  by disguise: " + ", ".join(f"{v} {sum(r)}/{len(r)}" for v, r in sorted(by_variant.items())))
    print(f"  benign look-alikes wrongly blocked: {rate(len(false_blocks), len(benign))}")
    rule_false = sum(guard.check(r["text"], stage="input", profile=RULES_ONLY).flagged for r in benign)
    print(f"  by the rules alone: attacks blocked {rate(rules, len(total))}, look-alikes wrongly blocked "
          f"{rate(rule_false, len(benign))}")
    for text in false_blocks:
        print(f"    false block: {text[:100]}")
    for row in missed:
        print(f"    missed ({row['family']}/{row['variant']}): {row['text'][:100]!r}")

    print_fresh()

    print("== PII (builtin engine, output) ==")
    found: dict[str, list[bool]] = defaultdict(list)
    false_redactions: list[str] = []
    for row in rows("pii"):
        masked = anonymize(row["text"])
        if row["kind"] is None:
            if masked != row["text"]:
                false_redactions.append(masked)
        else:
            found[row["kind"]].append("{" + row["kind"] + "}" in masked)
    for kind, results in sorted(found.items()):
        print(f"  {kind:34} recall {rate(sum(results), len(results))}")
    every = [r for results in found.values() for r in results]
    print(f"  {'all types':34} recall {rate(sum(every), len(every))}")
    clean = sum(1 for row in rows("pii") if row["kind"] is None)
    print(f"  clean technical texts changed: {rate(len(false_redactions), clean)}")
    for text in false_redactions:
        print(f"    false redaction: {text[:100]}")

    print_secrets()
    print_leaks()
    print_cache_pairs()


if __name__ == "__main__":
    main()
