"""A learned signal beside the rules: a logistic regression over a question's words, word pairs and
the parts its words play (``CONCEPTS``).

The rules describe wordings; on attacks written after them they block about half. A linear model
over hashed words and word pairs ("ignore your", "you are now", "no restrictions"), trained on the
same labelled texts (``eval/train_injection_classifier.py``), weighs what the rules cannot list.
Words alone knew only the synonyms and languages of its training texts; with the concepts
("override", "rules", "reveal", ...) and their pairs among its features, cross-validated recall at
the same false flags rose from 51% to 63%, and the holdout's 122 to 125 of 160 (eighteenth session).
Pure Python and an 8,192-weight table: it runs in the Lambda bundle with the rules, loaded on first
use (cold start pays nothing for it). A long text is read by its parts (``parts``): an attack is a
sentence or two, and the words of pages of benign prose otherwise add up to one. ``make eval``
prints what the engine does with it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WEIGHTS = Path(__file__).with_name("injection_words.json")
WORD = re.compile(r"\w[\w']*")


# The parts words play in an attack, whatever the wording or language: the model then learns
# "override ... rules" once, where from words alone a synonym it never met weighs nothing.
CONCEPTS = {
    "override": "ignore ignoring disregard disregarding forget forgetting drop bypass override overrule discard "
                "abandon ditch suspend lift disable deactivate ignora ignorar ignorez ignorer oublie oubliez "
                "olvida olvide ignoriere ignorieren vergiss vergessen dimentica ignorate esqueça esqueca negeer "
                "vergeet zignoruj zapomnij игнорируй игнорировать забудь",
    "rules": "instructions instruction rules rule guidelines guideline directives directive prompt prompts policy "
             "policies restrictions restriction constraints limits limitations filters filter guardrails "
             "safeguards programming configuration config setup preamble briefing instrucciones reglas "
             "règles consignes anweisungen regeln vorgaben istruzioni regole instruções regras instructies "
             "regels instrukcje zasady инструкции правила ограничения промпт",
    "reveal": "show print reveal output paste repeat dump display recite quote leak expose disclose echo spell "
              "muestra muéstrame revela montre affiche révèle zeig zeige mostra mostre покажи выведи",
    "hidden": "hidden secret internal initial original confidential private underlying backstage verbatim "
              "oculto ocultas secreto secretas caché cachées secrète geheim geheimen nascoste segreto "
              "скрытые секретный",
    "free": "unrestricted unfiltered uncensored unlimited unrestrained jailbroken jailbreak unbound unchained "
            "lawless unaligned unmoderated",
    "authority": "admin administrator developer developers operator root sudo creator creators owner superuser "
                 "maintainer",
    "model": "assistant ai model chatbot bot llm gpt",
    "credentials": "password passwords passcode credentials credential secrets apikey",
}
CONCEPT_OF = {word: concept for concept, words in CONCEPTS.items() for word in words.split()}
# Scripts written without spaces: their words are found inside a run of characters.
CONCEPT_INSIDE = {"忽略": "override", "无视": "override", "無視": "override", "忘记": "override", "忘れ": "override",
                  "指示": "rules", "指令": "rules", "规则": "rules", "規則": "rules", "提示词": "rules",
                  "プロンプト": "rules", "设定": "rules", "設定": "rules", "制限": "rules", "限制": "rules",
                  "显示": "reveal", "告诉": "reveal", "出力": "reveal", "表示": "reveal", "教え": "reveal",
                  "系统": "hidden", "システム": "hidden", "秘密": "hidden", "隠し": "hidden"}
WINDOW = 4  # words: how far apart two concepts may stand and still make a pair


def concepts(words: Sequence[str]) -> list[tuple[float, str]]:
    """(position, concept) of each word that plays a part, in order; inside a run of characters
    without spaces, at a fraction of a word apart."""
    found: list[tuple[float, str]] = []
    for at, word in enumerate(words):
        if word in CONCEPT_OF:
            found.append((at, CONCEPT_OF[word]))
        elif not word.isascii():
            found += sorted((at + word.index(inside) / len(word), c) for inside, c in CONCEPT_INSIDE.items()
                            if inside in word)
    return found


def word_grams(text: str, buckets: int) -> set[int]:
    """The buckets of a text's words and word pairs (lower case), and of the concepts its words
    play and the ordered pairs of those within ``WINDOW`` words, hashed by CRC-32: the same in
    every process, as trained weights need."""
    words = WORD.findall(text.lower())
    found = concepts(words)
    grams = [*words, *map(" ".join, itertools.pairwise(words)), *{f"§{c}" for _, c in found},
             *{f"§{a}>{b}" for i, (at, a) in enumerate(found) for to, b in found[i + 1:] if 0 < to - at <= WINDOW}]
    return {zlib.crc32(gram.encode()) % buckets for gram in grams}


PART = 250  # characters: about the longest of the texts the model learned from, most of them questions
BREAK = re.compile(r"(?<=[.!?:;])\s+|\n+")  # sentence ends and line breaks


def parts(text: str) -> list[str]:
    """``text`` in runs of whole sentences up to ``PART`` characters (a longer sentence is cut at
    words); a short text whole."""
    if len(text) <= PART:
        return [text]
    found: list[str] = []
    run = ""
    for sentence in filter(str.strip, BREAK.split(text)):
        rest = sentence
        while len(rest) > PART:
            cut = rest.rfind(" ", 0, PART)
            cut = cut if cut > 0 else PART
            found.append(rest[:cut])
            rest = rest[cut:].strip()
        if run and len(run) + len(rest) >= PART:
            found.append(run)
            run = ""
        run = f"{run} {rest}" if run else rest
    return [*found, run] if run else found or [text]


def gram_score(weights: Sequence[float], text: str) -> float:
    """The sum of a text's word-gram weights (one weight per bucket)."""
    return math.fsum(weights[i] for i in word_grams(text, len(weights)))


# How sure the model must be. Alone it blocks only when very sure: a bag of words mistakes "your
# system seems slow today" for an address to the model's system. Less sure, it is half a block,
# for a rule's signal to complete. Chosen on cross-validation (0.98 and 0.8: 88% of the attacks
# with the rules, 3 of 958 look-alikes; the rules alone 85%) and 40 everyday messages written
# to trip it (none blocked; at the cross-validated 0.5% target alone, 3).
SURE, LIKELY = 0.98, 0.8


@dataclass(frozen=True)
class WordModel:
    weights: tuple[float, ...]  # one per bucket
    bias: float

    def probability(self, text: str) -> float:
        """Of its most attack-like part: the model learned from questions and short passages, and a
        long text's words add up (of 300 paragraphs of package documentation, the engine blocked 64
        read whole; by parts, and with long benign texts among its training texts, 6)."""
        return max(self._probability(part) for part in parts(text))

    def _probability(self, text: str) -> float:
        logit = self.bias + gram_score(self.weights, text)
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, logit))))

    def weight(self, text: str) -> float:
        """The signal's weight beside the rules' (a block is 1.0): 1.0, 0.5 or nothing."""
        p = self.probability(text)
        return 1.0 if p >= SURE else 0.5 if p >= LIKELY else 0.0


@cache
def word_model() -> WordModel:
    raw = json.loads(WEIGHTS.read_text())
    return WordModel(tuple(raw["weights"]), float(raw["bias"]))
