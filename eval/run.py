"""``make eval``: the builtin guardrail engine measured on the team's labelled corpora.

Prints, per attack family and per disguise, how many attacks were blocked; how many benign
look-alikes were wrongly blocked; PII recall per entity type and false redactions on clean
technical text. Figures, not asserts: the tests hold the floors.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from llm_gateway.core.guardrails import BuiltinGuardrail  # noqa: E402
from llm_gateway.core.guardrails.pii import anonymize  # noqa: E402

CORPUS = ROOT / "eval" / "corpus"


def rows(name: str) -> list[dict[str, str]]:
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
