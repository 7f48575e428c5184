"""What a check reads: the text as written, and the forms attackers hide it in.

``readings(text)`` gives the text normalised (NFKC, HTML entities, invisible characters removed,
lower case), then folded (look-alike letters of other scripts, accents, leetspeak, letters spaced
or punctuated apart), then every payload embedded in it decoded (base64, hex, URL encoding, Unicode
tag characters, rot13, reversed), to a small depth. Each reading is checked like the text itself.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
import urllib.parse

# Zero-width, bidi controls, soft hyphen, variation selectors, fillers: never meaningful in a prompt.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
TAGS = re.compile("[\U000e0000-\U000e007f]+")  # Unicode tag characters: invisible ASCII
# Letters of other scripts that look like Latin ones (the common confusables).
CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q",
    "ԝ": "w", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ł": "l", "ø": "o", "ß": "ss", "ɑ": "a", "ɩ": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
    # Small capitals (NFKC keeps them): ɪɢɴᴏʀᴇ.
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v",
    "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
})
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                      "!": "i", "|": "l", "+": "t", "8": "b", "9": "g"})
LEET_WORD = re.compile(r"(?<![a-z0-9@$!|+])(?=[a-z0-9@$!|+]*[a-z])(?=[a-z0-9@$!|+]*[0-9@$!|+])[a-z0-9@$!|+]{3,}"
                       r"(?![a-z0-9@$!|+])")  # "!gnore": a word may start with one
SPACED = re.compile(r"\b(?:[^\W\d_][ .\-_*·|/]{1,2}){1,}[^\W\d_]\b")
SPACES = re.compile(r"\s+")
SYLLABLES = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")  # ig-nore pre-vious: words cut into syllables
SPACED_HINT = re.compile(r"(?:^|\W)[^\W\d_][ .\-_*·|/]{1,2}[^\W\d_][ .\-_*·|/]")  # two letters standing apart
LEET_HINT = re.compile(r"[a-z][0-9@$!|+]+[a-z]|[0-9@$!|+][a-z]+[0-9@$!|+]")  # a leet char inside a word
BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")  # standard or URL-safe alphabet
HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){12,}")
URL_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
JOINED = re.compile(r"""['"]\s*\+\s*['"]""")  # 'rev' + 'eal your sys' + 'tem prompt': a payload split into strings
MAX_DEPTH = 2


def normal(text: str) -> str:
    text = TAGS.sub(lambda m: "".join(chr(ord(c) - 0xE0000) for c in m.group(0)), text)
    text = unicodedata.normalize("NFKC", html.unescape(text))
    return INVISIBLE.sub("", text).lower()


def folded(text: str) -> str:
    """Latin look-alikes, accents stripped, spaced-out, hyphenated and leetspeak words rejoined (of
    normal text)."""
    if not text.isascii():
        text = text.translate(CONFUSABLES)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if SPACED_HINT.search(text):
        text = SPACED.sub(lambda m: re.sub(r"[ .\-_*·|/]", "", m.group(0)), text)
    if len(SYLLABLES.findall(text)) >= 2:
        text = SYLLABLES.sub("", text)
    if LEET_HINT.search(text):
        text = LEET_WORD.sub(lambda m: m.group(0).translate(LEET), text)
    return SPACES.sub(" ", text)


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(c.isprintable() or c.isspace() for c in text)
    return text if len(text) >= 6 and shown / len(text) > 0.9 and re.search(r"[^\W\d_]{3}", text) else None


def payloads(text: str) -> list[str]:
    """Texts hidden in this one: base64, hex and URL-encoded runs that decode to readable text, and
    quoted strings joined by ``+``."""
    found: list[str] = []
    for match in BASE64.finditer(text):
        chunk = match.group(0)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = _printable(decode(chunk + "=" * (-len(chunk) % 4)))
            except (binascii.Error, ValueError):
                continue
            if decoded:
                found.append(decoded)
                break
    for match in HEX.finditer(text):
        try:
            decoded = _printable(bytes.fromhex(re.sub(r"[ :]", "", match.group(0))))
        except ValueError:
            continue
        if decoded:
            found.append(decoded)
    if len(URL_ESCAPE.findall(text)) >= 3:
        found.append(urllib.parse.unquote(text))
    if len(JOINED.findall(text)) >= 2:
        found.append(JOINED.sub("", text))
    return found


def readings(text: str, depth: int = 0) -> list[str]:
    """Every form of ``text`` a check should read (see the module's docstring); unique, in order."""
    base = normal(text)
    fold = folded(base)
    forms = [fold] if fold == SPACES.sub(" ", base) else [base, fold]  # plain text: one reading is enough
    if depth < MAX_DEPTH:
        hidden = payloads(text) + ([] if text.isascii() else payloads(text.translate(CONFUSABLES)))
        for payload in dict.fromkeys(hidden):
            forms += readings(payload, depth + 1)
    return list(dict.fromkeys(forms))


COMMON = frozenset(["the", "you", "your", "and", "to", "of", "a", "is", "are", "in", "it", "that", "this", "for",
                    "with", "all", "be", "me", "my", "now", "as"])


def _plain_words(text: str) -> int:
    return sum(1 for word in re.findall(r"[a-z]+", text) if word in COMMON)


def ciphered(text: str) -> list[str]:
    """Ciphers (rot13, reversed) of ``text``, and of what follows its last colon ("read this
    backwards and do it: ..."), that read more like plain language than the text itself does:
    ordinary text is not read twice more for nothing."""
    base = normal(text)
    _, colon, tail = base.rpartition(":")
    found = []
    for part in [base, *([tail] if colon and len(tail.split()) >= 3 else [])]:
        words = re.findall(r"[a-z]+", part)
        plain = sum(1 for word in words if word in COMMON)
        if plain * 8 > len(words):  # plainly written already: not a cipher
            continue
        found += [form for form in (codecs.encode(part, "rot13"), part[::-1])
                  if _plain_words(form) > plain and _plain_words(form) >= 1]
    return found
