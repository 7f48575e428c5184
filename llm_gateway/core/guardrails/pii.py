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
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        total += (digit * 2 - 9 if digit > 4 else digit * 2) if i % 2 else digit
    return total % 10 == 0


def _iban(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ssn(candidate: str) -> bool:
    area, group, serial = re.split(r"[- ]", candidate)
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _ip(candidate: str) -> bool:
    """A host's address: not 0.0.0.0, not loopback, not a netmask (255.255.255.0)."""
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    bits = f"{int(address):0{address.max_prefixlen}b}"
    return not (address.is_unspecified or address.is_loopback or "01" not in bits)


def _phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 10 <= len(digits) <= 15 or len(set(digits)) <= 2:
        return False
    return not re.fullmatch(r"\d{4}[-./]\d{2}[-./]\d{2}.*|\d{2}[-./]\d{2}[-./]\d{4}", candidate.strip())  # a date


def _always(candidate: str) -> bool:
    return True


@dataclass(frozen=True)
class Entity:
    kind: str  # the Bedrock Guardrail's PII entity type, also the placeholder
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = _always


ENTITIES = [
    Entity("EMAIL", re.compile(
        r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    Entity("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    Entity("INTERNATIONAL_BANK_ACCOUNT_NUMBER",
           re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), _iban),
    Entity("CREDIT_DEBIT_CARD_NUMBER", re.compile(r"(?<![\d.-])\d(?:[ -]?\d){12,18}(?![\d-])"), _luhn),
    Entity("US_SOCIAL_SECURITY_NUMBER", re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])"), _ssn),
    Entity("IP_ADDRESS", re.compile(
        r"(?<![\w.:])(?<!version )(?<!v)(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
        r"(?!\w|\.\d|:\d|/\d)"
        r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
        r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:){0,5}[0-9a-fA-F]{1,4}(?![\w:])"), _ip),
    Entity("PHONE", re.compile(
        # E.164 and international: +CC then groups; NANP with or without +1, (415) 555-0132, 415.555.0177;
        # UK national 020 7946 0958, 07700 900123.
        r"(?<![\w+.])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}"
        r"|(?:1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
        r"|(?:1[ .-])?\d{3}[.-]\d{3}[.-]\d{4}"
        r"|\d{3} \d{3} \d{4}"
        r"|0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4})(?![\w]|[.-]\d)"), _phone),
]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def find(text: str, kinds: frozenset[str] = PII_ANONYMIZED) -> list[Span]:
    """Validated PII in ``text``, earlier entity types winning where two overlap."""
    spans: list[Span] = []
    taken = [False] * len(text)
    for entity in ENTITIES:
        if entity.kind not in kinds:
            continue
        for match in entity.pattern.finditer(text):
            start, end = match.span()
            if any(taken[start:end]) or not entity.valid(match.group(0)):
                continue
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

