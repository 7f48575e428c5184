"""Lex V2 fulfillment (seeds 002/004): every utterance the bot hands over is a question through the
gateway's pipeline, as the bot's own tenant (``LEX_TENANT_ID``) and alias (``LEX_MODEL_ALIAS``):
guardrails, semantic cache, quotas, budgets and usage apply as to any client.

The conversation so far rides in the Lex session attribute ``gateway_history`` (the earlier turns,
JSON, the oldest dropped past ``HISTORY_BYTES``), so each answer has the context of the ones before
and the cache never answers a question asked in another conversation's context. What the bot says
when the pipeline says no (a blocked question, a spent quota, a model outage) is a plain sentence:
a chat user gets no error codes.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from llm_gateway.api.answering import Metering, describe
from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError, api_error
from llm_gateway.contract import LEX_SERVICE, Settings
from llm_gateway.core.pipeline import Query
from llm_gateway.core.timings import StageTraces
from llm_gateway.core.wiring import build_pipeline, usage_ledger
from llm_gateway.observability import powertools

HISTORY = "gateway_history"
HISTORY_BYTES = 8_000  # of Lex's session state, which all attributes share
DOOR = "lex"
REPLIES = {  # what the bot says instead of an answer, by what happened
    "empty": "I didn't catch a question there. What would you like to know?",
    "blocked": "I can't help with that request.",
    "limited": "I'm getting a lot of questions right now. Please ask again in a minute.",
    "failed": "I can't reach the assistant right now. Please try again shortly.",
}

logger, metrics, tracer = powertools(LEX_SERVICE)
settings = Settings.from_env()
pipeline = build_pipeline(settings)  # module scope: once per container
metering = Metering(usage_ledger(settings), StageTraces())


def history_of(attributes: dict[str, str]) -> list[dict[str, str]]:
    try:
        turns = json.loads(attributes.get(HISTORY) or "[]")
    except ValueError:
        return []
    return [t for t in turns if isinstance(t, dict) and t.get("role") in ("user", "assistant")
            and isinstance(t.get("content"), str)] if isinstance(turns, list) else []


def kept(turns: list[dict[str, str]]) -> str:
    """The newest turns that fit in ``HISTORY_BYTES``, whole question-and-answer pairs."""
    while turns and len(json.dumps(turns).encode()) > HISTORY_BYTES:
        turns = turns[2:]
    return json.dumps(turns)


def reply(event: dict[str, Any], text: str, attributes: dict[str, str], *, fulfilled: bool) -> dict[str, Any]:
    intent = dict((event.get("sessionState") or {}).get("intent") or {"name": "FallbackIntent"})
    return {"sessionState": {"sessionAttributes": attributes, "dialogAction": {"type": "Close"},
                             "intent": {**intent, "state": "Fulfilled" if fulfilled else "Failed"}},
            "messages": [{"contentType": "PlainText", "content": text}]}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    arrived = time.time()
    attributes = {k: str(v) for k, v in ((event.get("sessionState") or {}).get("sessionAttributes") or {}).items()}
    question, history = str(event.get("inputTranscript") or "").strip(), history_of(attributes)
    if not question:
        return reply(event, REPLIES["empty"], attributes, fulfilled=False)
    caller = Caller(tenant_id=settings.lex_tenant_id, request_id=uuid.uuid4().hex)
    logger.set_correlation_id(caller.request_id)
    system = ({"role": "system", "content": settings.system_prompt},) if settings.system_prompt else ()
    query = Query(caller.tenant_id, (*system, *history, {"role": "user", "content": question}),
                  settings.lex_model_alias)
    caller.alias, caller.prompt = query.model_alias, question
    error: ApiError | None = None
    try:
        outcome = pipeline.run(query, caller.request_id)
        describe(outcome, caller)
    except Exception as exc:
        error = api_error(exc) or ApiError(500, "internal error", code="internal_error")
        if error.status >= 500 and error.code == "internal_error":
            logger.exception("fulfillment failed")
        answer, fulfilled = REPLIES["limited" if error.status == 429 else "failed"], False
    else:
        fulfilled = outcome.kind in ("answered", "cached")
        answer = outcome.answer if outcome.kind != "blocked" else REPLIES["blocked"]
        if fulfilled:
            attributes[HISTORY] = kept([*history, {"role": "user", "content": question},
                                        {"role": "assistant", "content": outcome.answer}])
    metering.after(caller, DOOR, error.status if error else 200, error, arrived=arrived)
    return reply(event, answer, attributes, fulfilled=fulfilled)
