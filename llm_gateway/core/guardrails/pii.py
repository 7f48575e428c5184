"""PII found by pattern *and* validator, anonymised with the Bedrock Guardrail's placeholder names
(``{EMAIL}``, ``{PHONE}``, ...), so both backends answer alike. A candidate that fails its
validator (a Luhn check, an IBAN's mod 97, an SSN's reserved ranges, an IP's octets) is left
alone: version strings, dates, ports, hashes and UUIDs are not PII."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from llm_gateway.contract import PII_ANONYMIZED


def _luhn(candidate: str) -> bool:
    """A card's check digit; no card number starts with 0 (an international dialling prefix does)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or digits[0] == 0:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        total += (digit * 2 - 9 if digit > 4 else digit * 2) if i % 2 else digit
    return total % 10 == 0


# ISO 13616's registry: each country's IBAN length. A candidate in lower or mixed case (typed, not
# printed) must match its country's length too, besides mod 97: prose has far more letter-digit runs.
IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22, CY=28, CZ=24,
    DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22, GI=23, GL=18, GR=27, GT=28,
    HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30, KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20,
    LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31, MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29,
    RO=24, RS=22, SA=24, SC=31, SE=24, SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22,
    VG=24, XK=20)


def _iban(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate)
    if compact != compact.upper() and IBAN_LENGTHS.get(compact[:2].upper()) != len(compact):
        return False
    compact = compact.upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ssn(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _ip(candidate: str) -> bool:
    """A host's address: not 0.0.0.0, not loopback, not a netmask (255.255.255.0); with a prefix
    length, a host's in its network (198.51.100.7/24), not the network itself (10.0.0.0/8)."""
    try:
        interface = ipaddress.ip_interface(candidate)
    except ValueError:
        return False
    address = interface.ip
    bits = f"{int(address):0{address.max_prefixlen}b}"
    in_network = ("/" not in candidate or address != interface.network.network_address
                  or interface.network.prefixlen >= address.max_prefixlen - 1)  # /32, /31: hosts
    return in_network and not (address.is_unspecified or address.is_loopback or "01" not in bits)


def _phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 10 <= len(digits) <= 15 or len(set(digits)) <= 2:
        return False
    return not re.fullmatch(r"\d{4}[-./]\d{2}[-./]\d{2}.*|\d{2}[-./]\d{2}[-./]\d{4}", candidate.strip())  # a date


# An address with "at" and "dot" spelled out; a pronoun ("reach us at example dot com") is no local part.
SPELLED_ADDRESS = (
    r"(?!(?:us|me|him|her|them|you|it)\b)[a-z0-9][a-z0-9._%+-]*"
    r"(?: (?:dot|underscore|dash|hyphen) [a-z0-9][a-z0-9._%+-]*)*"
    r" at [a-z0-9][a-z0-9-]*(?: dot [a-z0-9][a-z0-9-]*)* dot (?:com|org|net|edu|gov|mil|int|io|co|me|ai|dev|app|"
    r"info|biz|us|uk|ca|au|nz|ie|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|pt|cz|ru|ua|jp|cn|kr|in|sg|hk|tw|br|mx|ar|"
    r"cl|za|ng|ke|eu|tech|xyz|online|email)\b")
MAIL_PROVIDERS = frozenset([
    "gmail", "googlemail", "yahoo", "ymail", "outlook", "hotmail", "live", "msn", "icloud", "proton", "protonmail",
    "pm", "aol", "gmx", "web", "mail", "yandex", "zoho", "libero", "fastmail", "hey", "qq", "163", "naver", "orange",
    "free"])


def _spelled_address(candidate: str) -> bool:
    local, _, domain = candidate.lower().partition(" at ")
    return bool(re.search(r"[\d._%+-]| (?:dot|underscore|dash|hyphen) ", local)) or domain.split()[0] in MAIL_PROVIDERS


def _always(candidate: str) -> bool:
    return True


@dataclass(frozen=True)
class Entity:
    kind: str  # the Bedrock Guardrail's PII entity type, also the placeholder
    pattern: re.Pattern[str]  # its group ``pii``, where it has one, is what is replaced (else the match)
    valid: Callable[[str], bool] = _always
    needs: str = ""  # a word the text has (in lower case) wherever the pattern can match: else not tried
    # A candidate its validator refuses may be valid without its last space-separated groups (an
    # IBAN's pattern also takes a following word of four letters or digits).
    shrinks: bool = False


ENTITIES = [
    Entity("EMAIL", re.compile(
        # An @ ahead first: most words are not addresses, and fail here at once. O'Brien's ' is allowed.
        r"(?<![\w.+-])(?=[\w.%+'-]{1,129}@)[A-Za-z0-9._%+-]{1,64}(?:'[A-Za-z0-9._%+-]{1,64})?"
        r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    # ... and written to dodge scrapers: "r.okafor (at) gmail (dot) com", "ops [at] example.org".
    Entity("EMAIL", re.compile(
        r"(?i)(?<![\w.+-])[a-z0-9._%+-]{1,64} ?[(\[{] ?at ?[)\]}] ?[a-z0-9-]+"
        r"(?:(?: ?[(\[{] ?dot ?[)\]}] ?|\.)[a-z0-9-]+)*(?: ?[(\[{] ?dot ?[)\]}] ?|\.)[a-z]{2,}\b")),
    # ... or spelled out in words: "john dot smith at gmail dot com". "at" and "dot" are also prose
    # ("look at google dot com", "visit us at example dot com"), so it is an address only where it
    # reads as one: a local part no word has (digits, dots, dashes, a spelled "dot"), a mail
    # provider's domain, or after a word that says so ("email", "write to", "reach", "cc", ...).
    Entity("EMAIL", re.compile(rf"(?i)(?<![\w.+-]){SPELLED_ADDRESS}"), _spelled_address, needs=" dot "),
    Entity("EMAIL", re.compile(
        r"(?i)\b(?:e-?mail(?:ed)?|mail|write|wrote|contact|reach|address|send|sent|message|ping|b?cc)\b"
        rf"[^.\n]{{0,40}}?(?<![\w.+-])(?P<pii>{SPELLED_ADDRESS})"), needs=" dot "),
    Entity("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    Entity("INTERNATIONAL_BANK_ACCOUNT_NUMBER",
           re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b"), _iban, shrinks=True),
    Entity("CREDIT_DEBIT_CARD_NUMBER",
           re.compile(r"(?<![\d.-])(?:\d(?:[ -]?\d){12,18}|\d{4}(?:\.\d{4}){3})(?![\d-]|\.\d)"), _luhn),
    Entity("US_SOCIAL_SECURITY_NUMBER", re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])"), _ssn),
    # Nine digits in a row are an SSN only where the text says so.
    Entity("US_SOCIAL_SECURITY_NUMBER", re.compile(
        r"(?i:\b(?:ssn|social security(?: number| no\.?)?)(?:\s*(?:is|was|:|#|=|number|no\.?))?\s*)"
        r"(?P<pii>\d{9})(?![\d-])"), _ssn),
    Entity("IP_ADDRESS", re.compile(
        # IPv4 (with its prefix length, if any; a port is left out), IPv6, and IPv6 ending in IPv4.
        r"(?<![\w.])(?<![0-9a-fA-F:]:)(?<!version )(?<!Version )(?<![vV])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}"
        r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:/(?:3[0-2]|[12]?\d))?(?!\w|\.\d|/\d)"
        r"|(?<![\w:])(?=[0-9a-fA-F]{0,4}:[0-9a-fA-F]{0,4}:)"  # two colons ahead, else no IPv6 (and fast)
        r"(?:(?:(?:[0-9a-fA-F]{1,4}:){1,6}:?|::(?:[0-9a-fA-F]{1,4}:){0,5})(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
        r"|(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
        r"|(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:){0,5}[0-9a-fA-F]{1,4}(?![\w:]))"), _ip),
    Entity("PHONE", re.compile(
        # E.164 and international (+CC or 00CC) then groups; NANP with or without +1, (415) 555-0132,
        # 415.555.0177, 415 555-0123; national numbers with a trunk 0: 020 7946 0958, 07700 900123, (02) 9876 5432.
        r"(?<![\w+.])(?:(?:\+|00(?=[1-9]))\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}"
        r"|(?:1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
        r"|(?:1[ .-])?\d{3}[ .-]\d{3}[ .-]\d{4}"
        r"|\(0\d{1,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
        # Not followed by a digit (a longer number) nor, after a dash, a part number's revision ("-B").
        r"|0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4})(?![\w]|[.-]\d|-(?!ext|x\d)\w)"), _phone),
]


def _candidate(entity: Entity, match: re.Match[str]) -> tuple[int, int] | None:
    """Where ``match`` holds valid PII of ``entity``'s kind, if it does."""
    start, end = match.span("pii") if "pii" in entity.pattern.groupindex else match.span()
    text = match.string
    while not entity.valid(text[start:end]):
        cut = text.rfind(" ", start, end)
        if not entity.shrinks or cut <= start:
            return None
        end = cut
    return start, end


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def find(text: str, kinds: frozenset[str] = PII_ANONYMIZED) -> list[Span]:
    """Validated PII in ``text``, earlier entity types winning where two overlap."""
    spans: list[Span] = []
    taken = [False] * len(text)
    lowered = text.lower()
    for entity in ENTITIES:
        if entity.kind not in kinds or entity.needs not in lowered:
            continue
        for match in entity.pattern.finditer(text):
            found = _candidate(entity, match)
            if found is None or any(taken[found[0]:found[1]]):
                continue
            start, end = found
            spans.append(Span(start, end, entity.kind))
            taken[start:end] = [True] * (end - start)
    return sorted(spans, key=lambda s: s.start)


def anonymize(text: str, spans: list[Span] | None = None, start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` with every PII span in it replaced by its placeholder."""
    end = len(text) if end is None else end
    out, at = [], start
    for span in spans if spans is not None else find(text):
        if span.start >= at and span.end <= end:
            out += [text[at:span.start], "{" + span.kind + "}"]
            at = span.end
    out.append(text[at:end])
    return "".join(out)

