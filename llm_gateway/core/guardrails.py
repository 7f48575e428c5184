"""Guardrails: input checks before any model is paid for, output checks before anything is cached.

``builtin`` (the local default) is a rule engine: a few well-known rules in code plus whatever the
classifier model says (a routed task; the answers file, locally). ``bedrock`` calls ApplyGuardrail on
the Bedrock Guardrail the ``GuardedEndpoint`` construct creates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from llm_gateway.core.chat import UpstreamError

Stage = Literal["input", "output"]


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    reason: str | None = None
    text: str | None = None  # the text to use instead (PII anonymised), when it changed

    @property
    def status(self) -> str:
        if self.flagged:
            return "blocked"
        return "anonymized" if self.text is not None else "allowed"


ALLOWED = Verdict(flagged=False)


class Guardrail(Protocol):
    def check(self, text: str, *, stage: Stage) -> Verdict: ...

    def mask(self, text: str) -> str:
        """Anonymise a piece of streamed output that no PII can straddle (see stream_boundary)."""
        ...


# (stage, reason, pattern): refusals a gateway should make whatever the model or answers file says.
BLOCK_RULES: list[tuple[Stage, str, re.Pattern[str]]] = [
    ("input", "prompt_injection", re.compile(
        r"(?i)\b(ignore|disregard|forget)\b.{0,30}\b(previous|prior|above|earlier)\b.{0,20}"
        r"\b(instructions|prompts?|rules)\b|\b(reveal|print|show|leak)\b.{0,20}\bsystem prompt\b")),
    ("output", "secret_leak", re.compile(
        r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]
# Anonymised on output, as the Bedrock Guardrail's ANONYMIZE action does, with the same placeholders.
PII_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("{EMAIL}", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("{PHONE}", re.compile(r"(?<![\w.])\+?\d{1,3}[ .-]?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\w|\.\d)")),
]
DIGITISH_WORD = re.compile(r"[\d+().-]+[,;:!?]?\s+")


def stream_boundary(text: str) -> int:
    """How much of a growing stream can be anonymised and sent: up to its last whitespace, but not
    into a trailing run of number-like words (a phone number may still be arriving). No email
    (one word) or phone number (one such run) can straddle the boundary."""
    end = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    words = re.findall(r"\S+\s+", text[:end])
    while words and DIGITISH_WORD.fullmatch(words[-1]):
        end -= len(words.pop())
    return end


def mask_pii(text: str) -> str:
    for placeholder, pattern in PII_RULES:
        text = pattern.sub(placeholder, text)
    return text


class Classifier(Protocol):
    def classify(self, text: str, *, rubric: str) -> dict[str, Any]: ...


class BuiltinGuardrail:
    def __init__(self, classifier: Classifier) -> None:
        self._classifier = classifier

    def check(self, text: str, *, stage: Stage) -> Verdict:
        for rule_stage, reason, pattern in BLOCK_RULES:
            if rule_stage == stage and pattern.search(text):
                return Verdict(flagged=True, reason=reason)
        verdict = self._classifier.classify(text, rubric=f"guardrail_{stage}")
        if verdict.get("flagged"):
            return Verdict(flagged=True, reason=str(verdict.get("reason") or "policy_violation"))
        if stage == "output":
            masked = mask_pii(text)
            if masked != text:
                return Verdict(flagged=False, text=masked)
        return ALLOWED

    def mask(self, text: str) -> str:
        return mask_pii(text)


# Bedrock assessment names -> the reasons this gateway reports (same vocabulary as the builtin).
BEDROCK_REASONS = {"PROMPT_ATTACK": "prompt_injection", "MISCONDUCT": "misconduct", "HATE": "hate",
                   "INSULTS": "insults", "SEXUAL": "sexual", "VIOLENCE": "violence"}


class BedrockGuardrail:
    def __init__(self, guardrail_id: str, version: str, client: Any) -> None:
        self._id, self._version, self._client = guardrail_id, version, client

    def mask(self, text: str) -> str:
        # Anonymising every streamed piece would cost an ApplyGuardrail call each; streams are
        # checked every few hundred characters and at their end instead (see Pipeline._guarded).
        return text

    def check(self, text: str, *, stage: Stage) -> Verdict:
        try:
            reply = self._client.apply_guardrail(
                guardrailIdentifier=self._id, guardrailVersion=self._version,
                source=stage.upper(), content=[{"text": {"text": text}}])
        except Exception as exc:
            raise UpstreamError(502, f"bedrock guardrail failed: {exc}") from exc
        if reply.get("action") != "GUARDRAIL_INTERVENED":
            return ALLOWED
        reason = _blocking_reason(reply.get("assessments", []))
        if reason:
            return Verdict(flagged=True, reason=reason)
        outputs = reply.get("outputs") or []
        return Verdict(flagged=False, text="".join(o.get("text", "") for o in outputs) or None)


def _blocking_reason(assessments: list[dict[str, Any]]) -> str | None:
    for assessment in assessments:
        for content_filter in assessment.get("contentPolicy", {}).get("filters", []):
            if content_filter.get("action") == "BLOCKED":
                return BEDROCK_REASONS.get(content_filter.get("type", ""), "policy_violation")
        for policy in ("topicPolicy", "wordPolicy"):
            if assessment.get(policy):
                return "denied_topic" if policy == "topicPolicy" else "denied_word"
        pii = assessment.get("sensitiveInformationPolicy", {})
        if any(e.get("action") == "BLOCKED" for e in pii.get("piiEntities", []) + pii.get("regexes", [])):
            return "sensitive_information"
    return None
