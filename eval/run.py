"""``make eval``: the builtin guardrail engine measured on the team's labelled corpora.

Prints, per attack family and per disguise, how many attacks were blocked; how many benign
look-alikes were wrongly blocked; PII recall per entity type and false redactions on clean
technical text. Figures, not asserts: the tests hold the floors.

Then the same for texts written after the corpus, the figures that say how the engine does on
attacks it was not written for:

- ``injection_probes.jsonl``: sets written later, each measured blind once, then its gaps fixed
  (so no longer blind);
- ``injection_holdout.jsonl``: a set no rule has been written for. Keep it so: when a change is
  tuned on it, move it to the probes and write a new holdout before measuring again.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from llm_gateway.core.guardrails import BuiltinGuardrail  # noqa: E402
from llm_gateway.core.guardrails.pii import anonymize  # noqa: E402

CORPUS = ROOT / "eval" / "corpus"


def rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line]


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / max(total, 1):.1f}%)"


def main() -> None:
    guard = BuiltinGuardrail()
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

    print("== prompt injection (builtin engine, input) ==")
    for family, results in sorted(by_family.items()):
        print(f"  {family:24} blocked {rate(sum(results), len(results))}")
    total = [b for results in by_family.values() for b in results]
    print(f"  {'all attacks':24} blocked {rate(sum(total), len(total))}")
    print("  by disguise: " + ", ".join(f"{v} {sum(r)}/{len(r)}" for v, r in sorted(by_variant.items())))
    print(f"  benign look-alikes wrongly blocked: {rate(len(false_blocks), len(benign))}")
    for text in false_blocks:
        print(f"    false block: {text[:100]}")
    for row in missed:
        print(f"    missed ({row['family']}/{row['variant']}): {row['text'][:100]!r}")

    for name, title in (("injection_probes", "probes written after the corpus (their gaps since fixed)"),
                        ("injection_holdout", "blind holdout (no rule written for it)")):
        fresh = rows(name)
        caught = [r for r in fresh if r["attack"] and guard.check(r["text"], stage="input").flagged]
        wrong = [r for r in fresh if not r["attack"] and guard.check(r["text"], stage="input").flagged]
        attacks = sum(1 for r in fresh if r["attack"])
        print(f"== prompt injection, {title} ==")
        print(f"  attacks blocked {rate(len(caught), attacks)}; benign wrongly blocked "
              f"{rate(len(wrong), len(fresh) - attacks)}")

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


if __name__ == "__main__":
    main()
