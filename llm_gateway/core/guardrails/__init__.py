"""Guardrails: questions checked before any model is paid for, answers before anything is sent
or cached.

``builtin`` is the engine in this package: no model call, milliseconds. Input: prompt-injection
detectors per attack family over every reading of the text (``injection``, ``normalize``). Output:
secrets and system-prompt leaks refuse the answer (``output``), PII is anonymised with validators
(``pii``). A classifier model (a routed task; the answers file, locally) can add its own verdict.
``bedrock`` calls ApplyGuardrail; ``layered`` runs builtin first, then Bedrock on what it lets through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from llm_gateway.contract import GUARDRAIL_PROFILES, GuardrailProfile
from llm_gateway.core.chat import UpstreamError
from llm_gateway.core.guardrails import pii
from llm_gateway.core.guardrails.injection import assess
from llm_gateway.core.guardrails.output import Protected, secret_in

Stage = Literal["input", "output"]
__all__ = ["ALLOWED", "BedrockGuardrail", "BuiltinGuardrail", "Guardrail", "LayeredGuardrail", "Protected",
           "StreamGuard", "Verdict", "stream_boundary"]


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    reason: str | None = None
    text: str | None = None  # the text to use instead (PII anonymised), when it changed
    signals: tuple[str, ...] = ()  # what fired ("family/signal"), recorded with an incident

    @property
    def status(self) -> str:
        if self.flagged:
            return "blocked"
        return "anonymized" if self.text is not None else "allowed"


ALLOWED = Verdict(flagged=False)
STANDARD = GUARDRAIL_PROFILES["standard"]


class Guardrail(Protocol):
    stream_window: int  # characters a stream holds back until checked
    stream_step: int  # how many new characters make a stream's text checked (and released) again

    def check(self, text: str, *, stage: Stage, protected: Protected | None = None, final: bool = True,
              profile: GuardrailProfile | None = None) -> Verdict:
        """``protected``: what the answer must not leak; ``final``: the whole answer (not a
        stream's checked prefix), when the costlier checks run; ``profile``: how strict (input)."""
        ...


class Classifier(Protocol):
    def classify(self, text: str, *, rubric: str) -> dict[str, Any]: ...


class BuiltinGuardrail:
    stream_window = 64  # longer than any PII entity or the words of a verbatim-leak run
    stream_step = 16  # a check is a fraction of a millisecond: release in small steps

    def __init__(self, classifier: Classifier | None = None) -> None:
        self._classifier = classifier

    def check(self, text: str, *, stage: Stage, protected: Protected | None = None, final: bool = True,
              profile: GuardrailProfile | None = None) -> Verdict:
        profile = profile or STANDARD
        if stage == "input":
            finding = assess(text, profile.block_at, profile.families)
            if finding.flagged:
                return Verdict(flagged=True, reason="prompt_injection", signals=finding.signals)
        else:
            secret = secret_in(text)
            if secret:
                return Verdict(flagged=True, reason="secret_leak", signals=(f"secret/{secret}",))
            leak = protected.leak(text) if protected else None
            if leak:
                return Verdict(flagged=True, reason="system_prompt_leak", signals=(f"system_prompt_leak/{leak}",))
        if self._classifier and final:  # the model sees whole texts: a stream's end, not each window
            verdict = self._classifier.classify(text, rubric=f"guardrail_{stage}")
            if verdict.get("flagged"):
                reason = str(verdict.get("reason") or "policy_violation")
                return Verdict(flagged=True, reason=reason, signals=(f"classifier/{reason}",))
        # A stream's prefix (not final) is anonymised by the stream as it releases it (StreamGuard).
        if (stage == "output" and final) or (stage == "input" and profile.anonymize_input):
            spans = pii.find(text)
            if spans:
                return Verdict(flagged=False, text=pii.anonymize(text, spans),
                               signals=tuple(sorted({f"pii/{s.kind}" for s in spans})))
        return ALLOWED


class LayeredGuardrail:
    """Builtin first (free, local, milliseconds); Bedrock on what it lets through. In a stream,
    the builtin checks every window and Bedrock the whole answer at its end."""

    def __init__(self, builtin: BuiltinGuardrail, bedrock: BedrockGuardrail) -> None:
        self.builtin, self.bedrock = builtin, bedrock
        self.stream_window, self.stream_step = builtin.stream_window, builtin.stream_step

    def check(self, text: str, *, stage: Stage, protected: Protected | None = None, final: bool = True,
              profile: GuardrailProfile | None = None) -> Verdict:
        first = self.builtin.check(text, stage=stage, protected=protected, final=final, profile=profile)
        if first.flagged or not final:
            return first
        second = self.bedrock.check(first.text if first.text is not None else text, stage=stage)
        if second.flagged:
            return second
        changed = second.text if second.text is not None else first.text
        return Verdict(flagged=False, text=changed, signals=first.signals + second.signals)


# Where a stream may be cut: after whitespace, or after any character of a script written without
# spaces (Chinese, Japanese, Thai) or CJK punctuation, where each character ends a word as well as
# any does. Cut only at spaces, a Chinese answer was released only at its end.
STREAM_CUT = re.compile(r"[\s\u0e00-\u0e7f\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                        r"\uf900-\ufaff\uff00-\uffef]")


def _after_break(text: str, end: int) -> int:
    """Just after the last break before ``end`` (0 if none), looking back 256 characters at a time:
    a stream asks at every step, and the text behind is long."""
    hi = end
    while hi > 0:
        lo, last = max(0, hi - 256), None
        for last in STREAM_CUT.finditer(text, lo, hi):  # noqa: B007  # the last one is wanted
            pass
        if last:
            return last.end()
        hi = lo
    return 0


def stream_boundary(text: str, limit: int, spans: list[pii.Span]) -> int:
    """How much of a growing stream may be checked and released: up to ``limit``, back to the last
    break (``STREAM_CUT``), and never inside a piece of PII (``spans``, found in ``text``), which may
    still be growing past the limit."""
    cut = _after_break(text, limit + 1) if limit > 0 else 0
    for span in spans:
        if span.start < cut < span.end:
            cut = _after_break(text, span.start)
    return max(cut, 0)


# Characters before a stream's unreleased text that each step checks again with it: longer than
# any secret, PII entity or run of a protected prompt takes to be recognised, so one that began in
# text already released is still caught before the rest of it goes out.
STREAM_OVERLAP = 256


class StreamGuard:
    """The output guardrail over an answer as it streams, in time linear in its length: the newest
    ``stream_window`` characters are held back (and never a piece of PII cut in two); each
    ``stream_step`` new characters, the text after what is already out (with ``STREAM_OVERLAP``
    before it) is checked and the part before the window released, anonymised. The whole text is
    checked again each time it has doubled: what builds up over a whole answer (a protected prompt
    paraphrased across it) is caught by then, and at the end, which the pipeline checks whole.
    Checking the whole text at every step cost 2.4 s for an 8 KB answer and 15 s for 20 KB."""

    def __init__(self, guardrail: Guardrail, protected: Protected | None) -> None:
        self._guardrail, self._protected = guardrail, protected
        self.raw, self.shown = "", ""  # the answer so far; what has been released of it (anonymised)
        self._released = self._checked = self._whole = 0  # raw's offsets: released, checked, last whole check

    def add(self, text: str) -> str | None:
        """Take the answer's next piece: what may now be released ("" for nothing yet), or None
        when the text so far is flagged (the stream ends; the final check refuses it)."""
        self.raw += text
        raw, window = self.raw, self._guardrail.stream_window
        if len(raw) - self._checked < self._guardrail.stream_step or len(raw) <= window:
            return ""
        start = stream_boundary(raw, self._released - STREAM_OVERLAP, [])  # a word's start: no new one made
        if len(raw) >= 2 * self._whole:  # doubled since the last whole check (the first is whole)
            start, self._whole = 0, len(raw)
        tail = raw[start:]
        spans = [pii.Span(s.start + start, s.end + start, s.kind) for s in pii.find(tail)]
        self._checked, cut = len(raw), max(self._released, stream_boundary(raw, len(raw) - window, spans))
        if self._guardrail.check(tail, stage="output", protected=self._protected, final=False).flagged:
            return None
        released = pii.anonymize(raw, spans, self._released, cut)
        self._released, self.shown = cut, self.shown + released
        return released


# Bedrock assessment names -> the reasons this gateway reports (same vocabulary as the builtin).
BEDROCK_REASONS = {"PROMPT_ATTACK": "prompt_injection", "MISCONDUCT": "misconduct", "HATE": "hate",
                   "INSULTS": "insults", "SEXUAL": "sexual", "VIOLENCE": "violence"}


class BedrockGuardrail:
    """ApplyGuardrail on a Bedrock Guardrail: content filters, denied topics, its PII policy."""

    stream_window = stream_step = 400  # each check is a call: a stream is checked in larger steps

    def __init__(self, guardrail_id: str, version: str, client: Any) -> None:
        self._id, self._version, self._client = guardrail_id, version, client

    def check(self, text: str, *, stage: Stage, protected: Protected | None = None, final: bool = True,
              profile: GuardrailProfile | None = None) -> Verdict:
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
            return Verdict(flagged=True, reason=reason, signals=(f"bedrock/{reason}",))
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
