"""Errors every door raises, how core exceptions become them, and request-body parsing."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.requests import Request

from llm_gateway.core.budgets import BudgetExceeded
from llm_gateway.core.chat import UpstreamError
from llm_gateway.core.pipeline import ModelNotAllowed, UnknownModel
from llm_gateway.core.ratelimit import QuotaStoreUnavailable, RateLimited

log = logging.getLogger(__name__)
TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.type = type or TYPES.get(status, "api_error")
        self.headers = headers or {}

    def openai_body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def guardrail_blocked(reason: str | None, param: str) -> ApiError:
    return ApiError(400, f"blocked by input guardrail: {reason}", param=param, code="guardrail_blocked")


def api_error(exc: Exception) -> ApiError | None:
    """The client-facing error for a core exception (None: a bug, answered as a 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RateLimited):
        headers = {**exc.admission.headers(), "retry-after": str(exc.retry_after)}
        if not exc.retryable:
            headers["x-should-retry"] = "false"
        return ApiError(429, str(exc), code="rate_limit_exceeded", headers=headers)
    if isinstance(exc, BudgetExceeded):
        return ApiError(429, str(exc), code="insufficient_quota", type="insufficient_quota", headers=exc.headers())
    if isinstance(exc, QuotaStoreUnavailable):  # fail closed: the quota cannot be checked right now
        return ApiError(503, "quota checks are unavailable; try again shortly", code="quota_store_unavailable",
                        type="api_error", headers={"retry-after": "1"})
    if isinstance(exc, ModelNotAllowed):
        return ApiError(403, f"this API key may not use the model '{exc}'", param="model", code="model_not_allowed")
    if isinstance(exc, UnknownModel):
        return ApiError(404, f"The model '{exc}' does not exist or you do not have access to it.", param="model",
                        code="model_not_found")
    if isinstance(exc, UpstreamError):
        return upstream_error(exc)
    return None


def upstream_error(exc: UpstreamError) -> ApiError:
    """What the client is told when every target failed: the provider and the kind of failure,
    never the upstream's own words (they go to the logs: its messages and bodies may carry its
    internals, or another tenant's request)."""
    log.warning("upstream failed", extra={"upstream_status": exc.status, "provider": exc.provider,
                                           "detail": str(exc)[:500]})
    provider = f"the model provider ({exc.provider})" if exc.provider else "the model provider"
    if not exc.fallback:
        return ApiError(400, f"{provider} rejected the request (status {exc.status})", code="upstream_rejected")
    if exc.status == 429:
        wait = str(max(1, math.ceil(exc.retry_after or 1)))
        return ApiError(429, f"{provider} is rate limiting requests; retry after {wait} s",
                        code="upstream_rate_limited", headers={"retry-after": wait})
    if exc.status in (408, 504):
        return ApiError(504, f"{provider} timed out", code="upstream_timeout", type="api_error")
    if exc.status == 503:
        return ApiError(503, f"{provider} is unavailable", code="upstream_unavailable", type="api_error")
    kind = "sent a malformed response" if exc.status == 502 and "malformed" in str(exc) else "failed"
    return ApiError(502, f"{provider} {kind}", code="upstream_error", type="api_error")


MAX_DEPTH = 32  # OpenAI's bodies nest a handful deep; JSON Schemas in tools a little more
MAX_INT_DIGITS = 20  # past 64 bits is no count, token id or seed


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ApiError(400, f"number {text[:24]}... is too large", code="invalid_json")
    return int(text)


def _real(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(400, f"number {text[:24]} is out of range", code="invalid_json")
    return value


def _constant(name: str) -> Any:
    raise ApiError(400, f"{name} is not valid JSON", code="invalid_json")


def _check_tree(value: Any) -> None:
    """Depth bounded, and every string encodable as UTF-8 (a lone surrogate escaped in JSON
    decodes fine, then cannot be logged, stored or forwarded)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, f"request body nests deeper than {MAX_DEPTH} levels", code="invalid_json")
        if isinstance(node, str):
            try:
                node.encode()
            except UnicodeEncodeError:
                raise ApiError(400, "request body has text that is not valid Unicode (a lone surrogate)",
                               code="invalid_encoding") from None
        elif isinstance(node, dict):
            pending += [(k, depth) for k in node] + [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            pending += [(v, depth + 1) for v in node]


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, or a 413 as soon as it is known to exceed ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, f"request body exceeds {max_bytes} bytes", code="request_too_large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ApiError(413, f"request body exceeds {max_bytes} bytes", code="request_too_large")
    return body


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, or an ApiError that says what is wrong with it: bounded
    in size, depth and number size, with no NaN or infinities and no text that cannot be encoded."""
    body = await read_body(request, max_bytes)
    try:
        value = json.loads(body or b"null", parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "request body is not valid JSON", code="invalid_json") from None
    if not isinstance(value, dict):
        raise ApiError(400, "request body must be a JSON object", code="invalid_json")
    _check_tree(value)
    return value


def require_text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(400, f"missing '{field}'", param=field, code="missing_field")
    if not isinstance(value, str):
        raise ApiError(400, f"'{field}' must be a string", param=field, code="invalid_type")
    return value.strip()
