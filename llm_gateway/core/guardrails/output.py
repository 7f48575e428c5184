"""What an answer must not carry out: secrets, and the system prompt it was given.

Secrets (AWS secret keys, private keys, provider API keys, password lines) refuse the answer, as
the Bedrock Guardrail's BLOCK action does. A system-prompt leak is the per-request canary, or the
protected prompt repeated verbatim or nearly (a run of its words, most of its phrases, or most of
its distinctive words), in the answer as written or in anything encoded in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_gateway.core.guardrails.normalize import ciphered, readings

SECRETS: list[tuple[str, re.Pattern[str]]] = [
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")),
    ("aws_secret_key", re.compile(
        r"(?i:aws.{0,20}secret.{0,20}|secret.?access.?key.{0,5})[=:\"' ]{1,4}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        r"|(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
        r"(?=[A-Za-z0-9/+]{0,39}\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
    ("provider_api_key", re.compile(
        r"\b(?:sk-(?:proj-|ant-(?:api\d{2}-)?|live_|svcacct-)?[A-Za-z0-9_-]{20,}|ghp_[A-Za-z0-9]{36}|"
        r"github_pat_[A-Za-z0-9_]{22,}|gho_[A-Za-z0-9]{36}|glpat-[A-Za-z0-9_-]{20,}|xox[abpors]-[A-Za-z0-9-]{10,}|"
        r"AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|gw_sk_[A-Za-z0-9_-]{43}|rk_live_[A-Za-z0-9]{20,}|"
        r"sk_live_[A-Za-z0-9]{20,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})")),
    ("password", re.compile(
        r"(?i)\b(?:password|passwd|pwd|passphrase|db_pass(?:word)?|secret)\b[\"']?\s*[:=]\s*[\"']?"
        r"(?![$<{*%(\[]|os\.|process\.|getenv|env\b|none\b|null\b|true\b|false\b|your|my_|xxx|example|changeme|"
        r"\.\.\.|\w+\()[^\s\"',;]{6,}")),
]


def secret_in(text: str) -> str | None:
    """The kind of the first secret in ``text``, if any."""
    for kind, pattern in SECRETS:
        if pattern.search(text):
            return kind
    return None


STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "from", "has", "have", "i", "if",
    "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "so", "such", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what",
    "when", "which", "who", "will", "with", "you", "your", "yours", "never", "always", "must", "should",
    "would", "can", "could", "may", "might", "also", "any", "all", "only", "just", "than", "too", "very"
])
VERBATIM_WORDS = 6  # a run this long of the protected prompt, in order, with 3 distinctive words, is a leak
DISTINCTIVE_IN_RUN = 3
SHINGLE = 4
SHINGLE_SHARE = 0.5
WORD_SHARE = 0.7
MIN_DISTINCT_WORDS = 8


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:['-][^\W_]+)*", text)


@dataclass(frozen=True)
class Protected:
    """What one request must not leak: its system prompt(s), and the canary planted in them."""

    prompts: tuple[str, ...] = ()
    canary: str | None = None

    def leak(self, answer: str) -> str | None:
        """``canary``, ``verbatim``, ``near_verbatim`` or ``paraphrase``: how the answer leaked. Read
        as written, decoded, reversed or in rot13, and with what separates its letters taken out
        ("Y-o-u a-r-e ...")."""
        prompts = [_words(prompt.lower()) for prompt in self.prompts]
        for reading in readings(answer) + ciphered(answer):
            if self.canary and self.canary.lower() in reading:
                return "canary"
            words = _words(reading)
            for prompt_words in prompts:
                how = _overlap(prompt_words, words)
                if how:
                    return how
        return None


def _overlap(prompt: list[str], answer: list[str]) -> str | None:
    if not prompt or not answer:
        return None
    run = min(VERBATIM_WORDS, len(prompt))
    runs = {tuple(prompt[i:i + run]) for i in range(len(prompt) - run + 1)}
    runs = {r for r in runs if sum(w not in STOPWORDS for w in r) >= min(DISTINCTIVE_IN_RUN, run)}
    if any(tuple(answer[i:i + run]) in runs for i in range(len(answer) - run + 1)):
        return "verbatim"
    squashed = "".join(answer)  # the same runs with their letters spaced, dashed or run together
    if any("".join(r) in squashed for r in runs):
        return "verbatim"
    shingles = {tuple(prompt[i:i + SHINGLE]) for i in range(len(prompt) - SHINGLE + 1)}
    if len(shingles) >= 3:
        seen = {tuple(answer[i:i + SHINGLE]) for i in range(len(answer) - SHINGLE + 1)}
        if len(shingles & seen) / len(shingles) >= SHINGLE_SHARE:
            return "near_verbatim"
    distinct = {w for w in prompt if w not in STOPWORDS and len(w) > 3}
    if len(distinct) >= MIN_DISTINCT_WORDS and len(distinct & set(answer)) / len(distinct) >= WORD_SHARE:
        return "paraphrase"
    return None
