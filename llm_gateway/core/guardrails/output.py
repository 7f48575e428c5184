"""What an answer must not carry out: secrets, and the system prompt it was given.

Secrets refuse the answer, as the Bedrock Guardrail's BLOCK action does: known by their format
(AWS secret keys, private keys, JWTs, providers' tokens by their documented prefixes), by where
they stand (a URL's user:password@, a command line's password, a password line), or by their
name and look (a long random-looking value named as a key, token or secret). Measured on sets
written for the purpose: ``eval/corpus/secrets.jsonl``, ``make eval``.

A system-prompt leak is the per-request canary, or the protected prompt repeated verbatim or
nearly (a run of its words, most of its phrases, or most of its distinctive words), in the answer
as written or in anything encoded in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from llm_gateway.core.guardrails.normalize import ciphered, readings

# Tokens whose provider's prefix or shape says what they are (each provider's documented format).
TOKEN_FORMATS = (
    r"sk-(?:proj-|ant-(?:api\d{2}-)?|live_|svcacct-|or-v1-)?[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic, OpenRouter
    r"gh[pousr]_[A-Za-z0-9]{36}", r"github_pat_[A-Za-z0-9_]{22,}", r"glpat-[A-Za-z0-9_-]{20,}",  # GitHub, GitLab
    r"xox[abpors]-[A-Za-z0-9-]{10,}", r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}",
    r"AIza[0-9A-Za-z_-]{35}", r"GOCSPX-[A-Za-z0-9_-]{20,}", r"ya29\.[A-Za-z0-9_-]{20,}",  # Google
    r"hf_[A-Za-z0-9]{30,}", r"gw_sk_[A-Za-z0-9_-]{43}", r"[rs]k_(?:live|test)_[A-Za-z0-9]{20,}",  # ..., Stripe
    r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", r"key-[a-z0-9]{32}", r"SK[0-9a-f]{32}",  # SendGrid, Mailgun, Twilio
    r"npm_[A-Za-z0-9]{36}", r"pypi-AgE[A-Za-z0-9_-]{50,}", r"hv[sb]\.[A-Za-z0-9_-]{24,}",  # npm, PyPI, Vault
    r"do[opr]_v1_[a-f0-9]{64}", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", r"dapi[a-f0-9]{32}",  # DO, Shopify, Databricks
    r"EAA[A-Za-z0-9]{30,}", r"[MN][A-Za-z0-9]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}",  # Meta, Discord
    r"\d{8,10}:AA[A-Za-z0-9_-]{33}", r"HRKU-[A-Za-z0-9_-]{20,}", r"NRAK-[A-Z0-9]{27}",  # Telegram, Heroku, New Relic
    r"glc_[A-Za-z0-9+/=_-]{32,}", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", r"lin_api_[A-Za-z0-9]{40}",  # Grafana, Linear
    r"ntn_[A-Za-z0-9]{40,}", r"sbp_[a-f0-9]{40}", r"r8_[A-Za-z0-9]{37}", r"gsk_[A-Za-z0-9]{48,}",  # ..., Groq
    r"pplx-[A-Za-z0-9]{40,}", r"xai-[A-Za-z0-9]{40,}", r"ATATT3[A-Za-z0-9_=-]{50,}", r"dp\.st\.[A-Za-z0-9_-]{40,}",
    r"pul-[a-f0-9]{40}", r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}",  # Pulumi, Square
    r"(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{40,}={0,2}",  # Azure connection strings
    r"discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{60,}", r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{60,}",
)
# What a placeholder says about itself: "your-api-key-here", "<token>", "${SECRET}", "xxxx".
PLACEHOLDER = re.compile(
    r"(?i)your|example|sample|dummy|placeholder|changeme|here\b|xxxx|\*\*\*|\.\.\.|[<>{}]|\$\{|\$[A-Z_]{3}")
# A value named as a credential ("api_key = ...", "auth token 9f8e...", "client secret: ..."),
# judged by what it looks like (``_random``): long, letters and digits mixed, not a word.
NAMED = re.compile(
    r"(?i)(?:\b|_)(?:api[_ -]?key|apikey|access[_ -]?token|auth[_ -]?token|bearer|client[_ -]?secret|secret[_ -]?key|"
    r"private[_ -]?key|access[_ -]?key|signing[_ -]?key|(?:encryption|server|master)[_ -]?key|password|"
    r"personal access token|pat|token|secret)s?\b[\"']?"
    r"(?:\s*[:=]\s*|\s+(?:is|was)?\s*)[\"'`]?([A-Za-z0-9_\-./+=!@#$%^&*~]{16,})")
# A password given to a command on its command line ("mysql -pS3cret", "docker login -p ...").
COMMAND_PASSWORD = re.compile(  # (mysql's -p takes it attached: "-p" alone asks for it)
    r"\b(?:mysql|mysqldump|mysqladmin)\b[^\n]{0,80}?\s-p([^\s<>{}$*]{4,})|"
    r"\b(?:docker login|podman login|sshpass|redis-cli)\b[^\n]{0,80}?\s(?:-p|--password|-a)[ =]([^\s<>{}$*]{4,})")
PUBLISHABLE = re.compile(r"pk[._]")  # Stripe's and Mapbox's public keys, made to be shipped
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _random(value: str) -> bool:
    """Whether a value looks generated rather than written: letters and digits mixed, with the
    spread of characters a key has (Shannon entropy of at least 3.5 bits a character)."""
    if (PLACEHOLDER.search(value) or UUID.fullmatch(value) or PUBLISHABLE.match(value) or not re.search(r"\d", value)
            or not re.search(r"[A-Za-z]", value)):  # a UUID names a thing (a request, a resource)
        return False
    counts = [value.count(c) for c in set(value)]
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts) >= 3.5


SECRETS: list[tuple[str, re.Pattern[str]]] = [
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("aws_secret_key", re.compile(
        r"(?i:aws.{0,20}secret.{0,20}|secret.?access.?key.{0,5})[=:\"' ]{1,4}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        r"|(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
        r"(?=[A-Za-z0-9/+]{0,39}\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
    ("provider_api_key", re.compile(rf"(?<![A-Za-z0-9_-])(?:{'|'.join(TOKEN_FORMATS)})")),
    ("jwt", re.compile(r"(?<!pk\.)\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("basic_auth", re.compile(r"\bBasic (?=[A-Za-z0-9+/]*\d)[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")),
    # user:password@host in a URL (a database's, a broker's), or a command's --user user:password.
    ("url_credentials", re.compile(
        r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'\"]{1,64}:(?!password@|pass@|passwd@|secret@|pwd@)"
        r"([^\s:/@'\"<>{}$*]{4,})@[\w.-]+|\s(?:-u|--user)\s+[^\s:]+:([^\s<>{}$*]{4,})")),
    ("password", re.compile(
        r"(?i)(?<![:/])\b(?:password|passwd|pwd|passphrase|db_pass(?:word)?|secret)\b[\"']?\s*[:=]\s*[\"']?"
        r"(?![$<{*%(\[]|os\.|process\.|getenv|env\b|none\b|null\b|true\b|false\b|your|my_|xxx|example|changeme|"
        r"\.\.\.|[\w.]+\()[^\s\"',;]{6,}")),
]


# Secrets known only once their value is looked at (the value is a match's last group).
JUDGED: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    ("named_credential", NAMED, _random),
    ("password", COMMAND_PASSWORD, lambda value: not PLACEHOLDER.search(value)),
]


def secret_in(text: str) -> str | None:
    """The kind of the first secret in ``text``, if any."""
    for kind, pattern in SECRETS:
        if pattern.search(text):
            return kind
    for kind, pattern, accept in JUDGED:
        if any(accept(found.group(found.lastindex or 0)) for found in pattern.finditer(text)):
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
