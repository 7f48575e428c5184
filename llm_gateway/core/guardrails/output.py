"""What an answer must not carry out: secrets, and the system prompt it was given.

Secrets refuse the answer, as the Bedrock Guardrail's BLOCK action does: known by their format
(AWS secret keys, private keys by their header or their body's first bytes, JWTs, providers' tokens
by their documented prefixes), by where they stand (a URL's user:password@, a command line's
password, a password line, a .pgpass line, a table's Password column), or by their name and look: a
credential named in prose ("the root password on the staging box is ...", "the credentials are
user / ...", in a few languages) or in an identifier (``PGPASSWORD=``), its value judged by what it
looks like (made up to be hard to guess, or generated), not code, a placeholder or a plain word.
Measured on sets written for the purpose: ``eval/corpus/secrets.jsonl``, ``make eval``.

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
    r"(?i)your|example|sample|dummy|placeholder|changeme|here\b|xxxx|\*\*\*|\.\.\.|[<>{}]|\$\{|(?-i:\$[A-Z_]{3})")
# A value named as a credential ("api_key = ...", "auth token 9f8e...", "client secret: ..."),
# judged by what it looks like (``_random``): long, letters and digits mixed, not a word.
NAMED = re.compile(
    r"(?<![:/])(?:\b|_)(?:api[_ -]?key|apikey|access[_ -]?token|auth[_ -]?token|bearer|client[_ -]?secret|"
    r"secret[_ -]?key|private[_ -]?key|access[_ -]?key|signing[_ -]?key|(?:encryption|server|master)[_ -]?key|password|"
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


NEWLINE = r"(?:\r?\n|(?:\\r)?\\n)"  # a line break, or one escaped in a string ("\\n" in JSON, an env var)
SECRETS: list[tuple[str, re.Pattern[str]]] = [
    # A private key by its header with a body after it (the header alone is how answers name the
    # format: "a PKCS#1 file starts with -----BEGIN RSA PRIVATE KEY-----"; refused, 15 of 22 such
    # answers were), past any armor headers (Proc-Type, DEK-Info, Version) and their blank line: a
    # run of base64 with capitals and small letters or digits in its first 16, as DER in base64 has
    # and prose ("followed by ...") and placeholders ("<your key>", "(base64 data)", "...") have not.
    ("private_key", re.compile(
        rf"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[ \t]*{NEWLINE}(?:[A-Za-z-]+: [^\n\\]*{NEWLINE})*"
        rf"(?:[ \t]*{NEWLINE})?[ \t\"']*(?![A-Za-z0-9+/]{{0,12}}(?i:your|example|here))"
        rf"(?=[A-Za-z0-9+/]{{0,15}}[A-Z])(?=[A-Za-z0-9+/]{{0,15}}[a-z0-9])[A-Za-z0-9+/]{{8}}")),
    # ... or by its body's first bytes (the header left out): OpenSSH's "openssh-key-v1", PKCS#1
    # RSA, PKCS#8 (RSA, EC) and SEC1 EC keys' DER starts, in base64.
    ("private_key", re.compile(r"b3BlbnNzaC1rZXktdjE|MII[A-Za-z0-9+/]{2}IBA(?:AKC|DANBgkqhkiG9w0BAQEFAAS)|"
                               r"MHcCAQEEI|AgEAMBMGByqGSM49AgEG")),
    ("aws_secret_key", re.compile(
        r"(?i:aws.{0,20}secret.{0,20}|secret.?access.?key.{0,5})[=:\"' ]{1,4}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        # ... or by its look alone: 40 base64 characters, all kinds, at most three slashes (a longer
        # run of them is a URL's path), not inside a host name or a path.
        r"|(?<![A-Za-z0-9/+=.~-])(?=(?:[A-Za-z0-9+]*/){0,3}[A-Za-z0-9+]*(?![A-Za-z0-9/+=]))"
        r"(?=[A-Za-z0-9/+]{0,39}[/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
        r"(?=[A-Za-z0-9/+]{0,39}\d)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
    ("provider_api_key", re.compile(rf"(?<![A-Za-z0-9_-])(?:{'|'.join(TOKEN_FORMATS)})")),
    ("jwt", re.compile(r"(?<!pk\.)\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("basic_auth", re.compile(r"\bBasic (?=[A-Za-z0-9+/]*\d)[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")),
    # user:password@host in a URL (a database's, a broker's), or a command's --user user:password.
    ("url_credentials", re.compile(
        r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'\"]{1,64}:(?!password@|pass@|passwd@|secret@|pwd@)"
        r"([^\s:/@'\"<>{}$*]{4,})@[\w.-]+|\s(?:-u|--user)\s+[^\s:]+:([^\s<>{}$*]{4,})")),
]


# What code looks like in a value: a call, an index, markup, quotes inside, a dotted name without a
# digit (ecs.Secret, provider.serviceToken): what a password is set to in an example, not a password.
CODE = re.compile(r"[(\[`'\"]|::|^[A-Za-z_]+\d*(?:\.[A-Za-z_]+\d*)+$|^(?:[A-Z][a-z]{2,}\d*){3,}$")


def _made_up(value: str) -> bool:
    """Whether a value looks chosen to be hard to guess, as a password is: at least 8 characters,
    letters with digits or symbols, three of the four kinds (lower, upper, digit, symbol), or
    generated (``_random``). Not a placeholder, a variable, a path or a plain word."""
    if (len(value) < 8 or PLACEHOLDER.search(value) or value[0] in "$%/~.@:" or "://" in value
            or value.lower().startswith("arn:") or PUBLISHABLE.match(value) or CODE.search(value)):
        return False
    if re.fullmatch(r"[a-z0-9]+(?:[-_][a-z0-9]+)*", value):  # "base64-encoded", force_zip64: only if generated
        return _random(value)
    if not re.search(r"\d", value) and not re.search(r"[!@#$%^&*+=?~]", value):  # words, an identifier
        return False
    kinds = [any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
             any(not c.isalnum() for c in value)]
    return ((kinds[0] or kinds[1]) and (kinds[2] or kinds[3]) and sum(kinds) >= 3) or _random(value)


# A password or secret set in a config line or code: "password: ...", "secret=...", "PWD=...".
ASSIGNED_PASSWORD = re.compile(
    r"(?<![:/])\b(?:password|passwd|pwd|passphrase|db_pass(?:word)?|secret)\b[\"']?[ \t]*[:=]"
    r"(?![ \t]+[a-z]+ [a-z])[ \t]*[\"']?"  # "password= leaves the password empty": prose, not a value
    r"(?![$<{*%(\[]|os\.|process\.|getenv|env\b|none\b|null\b|true\b|false\b|your|my_|xxx|example|changeme|"
    r"\.\.\.|[\w.]+\()([^\s\"',;]{6,})")


def _assigned(value: str) -> bool:
    """Whether what a password is set to is one, not code: a type (``password: SecretStr``), a
    variable or attribute (``secret=db.secret``), or the name itself (``password="password"``)."""
    return not (CODE.search(value) or re.search(r"(?i)pass(?:word|wd)|secret", value)
                or re.fullmatch(r"[A-Z][A-Za-z]+\.?|[a-z]+(?:_[a-z]+)+\d*", value))


# Credentials written in prose, as an answer gives them: "the root password on the staging box is
# Winter2024!Staging", "log in as admin with ...", "the credentials are jenkins / ...". A credential's
# name, a few words about it, a verb or a colon, then its value, judged by what it looks like.
PASSWORD_NAMES = (r"pass(?:word|wd|phrase|code)?|pwd|pass phrase|(?:shared|client|signing|webhook|hmac) secret|"
                  r"secret|community string|(?:wpa2?|wep|wi-?fi|network) key|"
                  r"passwort|kennwort|mot de passe|contrase(?:n|\u00f1)a|senha|wachtwoord|l\u00f6senord|"
                  r"has\u0142o|\u043f\u0430\u0440\u043e\u043b\u044c")  # de, fr, es, pt, nl, sv, pl, ru
TOKEN_NAMES = (r"(?:api|access|secret|private|signing|encryption|master|server|integration|unseal|admin|root|"
               r"service|license|account|app) ?key|keyfile|key file|(?:auth|access|api|bot|bearer|refresh|session|"
               r"service|server|integration|personal access|deploy|app) ?token|authtoken|token|pat")
CREDENTIAL_NAME = re.compile(  # matched on the lowered text, as JUDGED's patterns are
    rf"(?<![\w:/-])(?:(?P<password>{PASSWORD_NAMES})|(?P<token>{TOKEN_NAMES})|(?P<key>key)|"
    r"(?P<code>pin|host key|(?:door|alarm|access|unlock|gate) code)|"
    r"(?P<codes>(?:recovery|backup) (?:codes?|keys?))|(?P<pair>credentials|creds|login|logon|sign-in))s?(?![\w-])")
# Words that make the name's value something else: its fingerprint, its id, its length, where it is.
ABOUT_IT = frozenset([
    "id", "ids", "fingerprint", "hash", "digest", "checksum", "length", "format", "prefix", "endpoint", "url",
    "name", "header", "field", "type", "size", "policy", "policies", "rotation", "expiry", "expiration",
    "requirements", "requirement", "count", "limit", "manager", "file", "path", "variable", "variables",
    "env", "arn", "ttl", "lifetime", "scope", "scopes", "hint", "strength", "rules", "rule"])
# Keys and tokens that name things or are made public: "the cache key is ...", "the idempotency
# token ...", "the public token pk...".
NAMING_KEYS = frozenset([
    "cache", "partition", "sort", "primary", "foreign", "object", "idempotency", "dedup", "deduplication",
    "routing", "shard", "composite", "map", "dict", "hash", "lookup", "row", "index", "natural", "surrogate",
    "unique", "public", "publishable", "registry", "s3", "redis", "attribute", "hotkey", "pagination",
    "continuation", "next", "page", "request", "correlation", "trace", "sync", "client"])
SAYS = frozenset(["is", "are", "was", "were", ":", "=", "->", "\u2014", "reads", "contains", "equals",
                  "it's", "it\u2019s",  # "the password is printed nowhere, it's ..."
                  "ist", "lautet", "est", "es", "\u00e9", "\u00e8", "\u00e4r", "jest"])  # ... and the same languages
TRIVIAL_CODE = re.compile(r"(\d)\1+|0?123456?7?8?9?|987654?3?2?1?")


def _value(word: str) -> str:
    return word.strip("`'\"([{*").rstrip("`'\")]},.;:*")


def _accepts(kind: str, value: str) -> bool:
    if kind == "code":
        return bool(re.fullmatch(r"\d{4,8}", value)) and not TRIVIAL_CODE.fullmatch(value)
    if kind == "codes":  # groups of letters and digits: 7HJK-2MNP-9QRS, 4829-1736, BitLocker's 123456-...
        return bool(re.fullmatch(r"[A-Z0-9]{4,}(?:-[A-Z0-9]{3,})+", value))
    if kind == "key":  # a bare "key": only what is generated, or a password's every kind of character
        strong = all((re.search(r"[a-z]", value), re.search(r"[A-Z]", value), re.search(r"\d", value),
                      re.search(r"[^\w.-]", value)))
        return not UUID.fullmatch(value) and _made_up(value) and (
            bool(strong) or (len(value) >= 20 and any(c.isupper() for c in value) and any(c.islower() for c in value)
            and _random(value)))
    return _made_up(value) or (kind in ("password", "token") and bool(UUID.fullmatch(value)))


def _pair_before(text: str) -> str | None:
    """The password of "user:password is the login", said before the name."""
    found = re.search(r"(?<!\S)[\w.@-]+:(\S{6,}) (?:is|are|was) (?:\w+ ){0,2}$", text)
    return found[1] if found else None


def _pair(words: list[str]) -> str | None:
    """The password of "user / password", "user:password" or "user and password"."""
    if len(words) >= 3 and words[1] in ("/", "and", "with"):
        return _value(words[2])
    user, _, password = _value(words[0]).partition(":")
    return password if user and password else None


# A clause that goes on about the credential just named: "...; the new one is ...", "...; it is ...".
REFERS_BACK = re.compile(r"(?:the (?:new|current|old|updated|rotated|temporary|default|actual|real) (?:one|value|key|"
                         r"password|token|secret)|its value|it|this|that)\b")  # ("it" reads "it's" too)


def _refers_back(words: list[str]) -> bool:
    return bool(REFERS_BACK.match(" ".join(words).lower()))


CHANGED = frozenset(["set", "changed", "reset", "updated", "rotated", "change", "update"])
NAMED_BEFORE = ("password", "token", "key")  # kinds whose value may follow the name at once: "password Vp9!..."


def _credential_in_prose(text: str, lowered: str) -> bool:
    for name in CREDENTIAL_NAME.finditer(lowered):
        kind = name.lastgroup or ""
        before = re.findall(r"[\w-]+", lowered[max(0, name.start() - 40):name.start()])
        if kind in ("key", "token") and before and before[-1] in NAMING_KEYS:
            continue
        said_before = _pair_before(text[max(0, name.start() - 100):name.start()]) if kind == "pair" else None
        if said_before and _made_up(said_before):
            return True
        adjacent = text[name.end():name.end() + 1] in (" ", "\t", "'", '"', "`")
        changed = bool(CHANGED.intersection(before[-4:]))  # "I changed the admin password to ..."
        words = re.findall(r"[:=]|->|[^\s:=]+(?::\S+)?", text[name.end():name.end() + 160].split("\n", 1)[0])
        for at, word in enumerate(words[:10]):
            plain = word.lower()
            changed = changed or plain in CHANGED
            said = plain in SAYS or (changed and plain == "to")
            if said or at == 0:  # "... is VALUE", "...: VALUE", or the value right after its name
                rest = words[at + 1:] if said else words[at:]
                if kind == "pair":
                    value = _pair(rest) if rest else None
                    if value and _made_up(value):
                        return True
                elif rest and _accepts(kind, _value(rest[0])) and (said or (adjacent and kind in NAMED_BEFORE)):
                    return True
            if plain.strip(".,;:") in ABOUT_IT or (word[-1:] in ".;!?" and not said
                                                  and not (word[-1:] == ";" and _refers_back(words[at + 1:at + 5]))):
                break  # the sentence ended, or it is about something of the credential's, not its value
    return False


def _credential_in_table(text: str) -> bool:
    """A Markdown table with a credential's column ("| User | Password |"): its cells judged as values."""
    column: dict[int, str] = {}
    for line in text.splitlines():
        if line.count("|") < 2:
            column = {}
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        named = {at: name.lastgroup or "" for at, cell in enumerate(cells)
                 if (name := CREDENTIAL_NAME.fullmatch(cell.lower())) and name.lastgroup != "pair"}
        if named:
            column = named
        elif any(kind != "key" and at < len(cells) and _accepts(kind, _value(cells[at]))
                 for at, kind in column.items()):
            return True
    return False


# A password in a file's own format: .pgpass (host:port:database:user:password), "log in as USER
# with PASSWORD", a Vault token given to `vault login`.
PLACED_PASSWORD = re.compile(
    r"(?<=[\w-]):\d{2,5}:[\w*-]+:[\w*-]+:((?:[^\s:\\]|\\.){6,})(?!\S)|"
    r"\blog ?(?:in|on) (?:as|with user(?:name)?) [\w.@-]+ (?:with|using)(?: (?:the )?password)? (\S+)|"
    r"\bvault login (?:-method=\S+ )?(?!-)(\S{16,})")
# A credential in an identifier's value: PGPASSWORD=..., _authToken=..., MINIO_ROOT_PASSWORD: ...
IDENTIFIER_CREDENTIAL = re.compile(  # the name's end: whatever comes before it in the identifier
    r"(?:pass(?:word|wd)?|pwd|secret|auth_?token|api_?key)\b"
    r"(?:[\"']?\s*=|[\"']\s*:|:[ \t])\s*"  # not an ARN's ":secret:name"
    r"[\"'`]?([^\s\"'`,;]{6,})")


# Secrets known only once their value is looked at (the value is a match's last group), matched on
# the lowered text (``(?i)`` made them two to three times slower), the value read as written.
JUDGED: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    ("named_credential", NAMED, lambda value: _random(value) and not CODE.search(value)),
    ("password", ASSIGNED_PASSWORD, _assigned),
    ("password", COMMAND_PASSWORD, lambda value: not PLACEHOLDER.search(value)),
    ("password", PLACED_PASSWORD, lambda value: _made_up(_value(value))),
    ("named_credential", IDENTIFIER_CREDENTIAL, lambda value: _accepts("token", _value(value))),
]


# Documentation's stand-ins for a key, which answers about setting one up quote: AWS's examples end
# in EXAMPLE or EXAMPLEKEY (wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY), and a format's example fills
# the random part with one character (ghp_xxxx..., xoxb-XXXX-XXXX-..., AIzaSyXXXX...): each run of
# nine or more letters and digits is a short prefix, then one character eight times or more. A
# real key with such a tail added still has its random run (a whole key never passes).
EXAMPLE_KEY = re.compile(r"EXAMPLE(?:KEY)?$")
LONG_RUN = re.compile(r"[A-Za-z0-9]{9,}")
FILLED_RUN = re.compile(r"(?i)[a-z0-9]{0,8}?([a-z0-9])\1{7,}")


def _stand_in(value: str) -> bool:
    runs = LONG_RUN.findall(value)
    return bool(EXAMPLE_KEY.search(value) or (runs and all(FILLED_RUN.fullmatch(run) for run in runs)))


def secret_in(text: str) -> str | None:
    """The kind of the first secret in ``text``, if any."""
    for kind, pattern in SECRETS:
        if any(not _stand_in(found.group()) for found in pattern.finditer(text)):
            return kind
    lowered = _lowered(text)
    for kind, pattern, accept in JUDGED:
        if any(accept(text[found.start(found.lastindex or 0):found.end(found.lastindex or 0)])
               for found in pattern.finditer(lowered)):
            return kind
    return "credential_in_prose" if _credential_in_prose(text, lowered) or _credential_in_table(text) else None


def _lowered(text: str) -> str:
    """``text`` in lower case, each character where it was (a few, such as "İ", lower to two)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c if len(c.lower()) > 1 else c.lower() for c in text)


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


# Scripts written without spaces between words (Chinese, Japanese kana and kanji): each character
# is a word of its own, weighing half an English word in a verbatim run (12 of them make one). Read
# as runs of letters, a Chinese sentence was one "word", and a system prompt leaked a sentence at a
# time went unseen (0 of 6 such leaks refused).
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_WEIGHT = 0.5
WORD = re.compile(rf"[{CJK}]|[^\W_{CJK}]+(?:['-][^\W_{CJK}]+)*")
CJK_CHARACTER = re.compile(f"[{CJK}]")


def _words(text: str) -> list[str]:
    return WORD.findall(text)


def _weight(word: str) -> float:
    return CJK_WEIGHT if CJK_CHARACTER.fullmatch(word) else 1.0


@dataclass(frozen=True)
class Protected:
    """What one request must not leak: its system prompt(s), and the canary planted in them."""

    prompts: tuple[str, ...] = ()
    canary: str | None = None

    def leak(self, answer: str) -> str | None:
        """``canary``, ``verbatim``, ``near_verbatim`` or ``paraphrase``: how the answer leaked. Read
        as written, decoded, reversed or in rot13, and with what separates its letters taken out
        ("Y-o-u a-r-e ...")."""
        prompts = [_Prompt.of(_words(prompt.lower())) for prompt in self.prompts]  # once, for every reading
        for reading in readings(answer) + ciphered(answer):
            if self.canary and self.canary.lower() in reading:
                return "canary"
            words = _words(reading)
            for prompt in prompts:
                how = _overlap(prompt, words)
                if how:
                    return how
        return None


@dataclass(frozen=True)
class _Prompt:
    """What an answer is compared with: the prompt's verbatim runs (``VERBATIM_WORDS`` words'
    weight each, the whole prompt if it weighs less, each with ``DISTINCTIVE_IN_RUN`` words that
    are not stopwords, all of them in a shorter run), its shingles and its distinctive words."""

    runs: frozenset[tuple[str, ...]]
    shingles: frozenset[tuple[str, ...]]
    distinct: frozenset[str]

    @classmethod
    def of(cls, words: list[str]) -> _Prompt:
        weights = [_weight(w) for w in words]
        run = min(float(VERBATIM_WORDS), sum(weights))
        runs = set()
        for i in range(len(words)):
            weight, j = 0.0, i
            while j < len(words) and weight < run:
                weight, j = weight + weights[j], j + 1
            if weight >= run:
                runs.add(tuple(words[i:j]))
        return cls(frozenset(r for r in runs if sum(w not in STOPWORDS for w in r) >= min(DISTINCTIVE_IN_RUN, len(r))),
                   frozenset(tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)),
                   frozenset(w for w in words if w not in STOPWORDS and len(w) > 3))


def _overlap(prompt: _Prompt, answer: list[str]) -> str | None:
    if not answer:
        return None
    lengths = {len(r) for r in prompt.runs}
    if any(tuple(answer[i:i + n]) in prompt.runs for n in lengths for i in range(len(answer) - n + 1)):
        return "verbatim"
    squashed = "".join(answer)  # the same runs with their letters spaced, dashed or run together
    if any("".join(r) in squashed for r in prompt.runs):
        return "verbatim"
    if len(prompt.shingles) >= 3:
        seen = {tuple(answer[i:i + SHINGLE]) for i in range(len(answer) - SHINGLE + 1)}
        if len(prompt.shingles & seen) / len(prompt.shingles) >= SHINGLE_SHARE:
            return "near_verbatim"
    distinct = prompt.distinct
    if len(distinct) >= MIN_DISTINCT_WORDS and len(distinct & set(answer)) / len(distinct) >= WORD_SHARE:
        return "paraphrase"
    return None
