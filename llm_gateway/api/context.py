"""Who is calling, from the request context API Gateway (or the local runner) attaches."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from llm_gateway.core.budgets import BUDGET_WINDOWS, Budget
from llm_gateway.core.tenants import Quotas

if TYPE_CHECKING:
    from llm_gateway.core.pipeline import Outcome

DEFAULT_TENANT = "default"


@dataclass
class Caller:
    """The Lambda Web Adapter forwards the REST API's requestContext, authorizer output included, in
    the ``x-amzn-request-context`` header; the client cannot set it. ``headers`` collects the
    ``x-gateway-*`` (and rate limit) headers every response of this request carries."""

    tenant_id: str
    request_id: str
    upstream_request_id: str | None = None
    quotas: Quotas | None = None
    allowed_models: tuple[str, ...] = ()
    guardrail_profile: str | None = None  # the key's own, if it names one
    cache_control: str | None = None  # the request's Cache-Control: no-cache or no-store
    key_id: str = ""
    budget: Budget | None = None  # the key's and its tenant's USD limits
    admin: bool = False  # may read any tenant's usage
    trace: str = ""  # X-Ray's trace header for this invocation (Root, Parent: the function's segment)
    headers: dict[str, str] = field(default_factory=dict)
    # What the request came to, for its usage record: the model alias asked, the final outcome.
    alias: str = ""
    prompt: str = ""
    outcome: Outcome | None = None

    def query_fields(self) -> dict[str, Any]:
        """What a pipeline ``Query`` takes from its caller."""
        return {"quotas": self.quotas, "allowed_models": self.allowed_models, "key_id": self.key_id,
                "guardrail_profile": self.guardrail_profile, "cache_control": self.cache_control,
                "budget": self.budget}

    @classmethod
    def of(cls, request: Request) -> Caller:
        try:
            context = json.loads(request.headers.get("x-amzn-request-context") or "{}")
        except ValueError:
            context = {}
        context = context if isinstance(context, dict) else {}
        authorizer = context.get("authorizer")
        authorizer = authorizer if isinstance(authorizer, dict) else {}

        def number(name: str) -> int | None:
            value = str(authorizer.get(name) or "")
            return int(value) if value.isdigit() else None

        def dollars(name: str) -> float | None:
            try:
                return float(authorizer[name]) if authorizer.get(name) not in (None, "") else None
            except (TypeError, ValueError):
                return None

        limits = {window: dollars(f"budget_{window}") for window in BUDGET_WINDOWS}

        request_id = uuid.uuid4().hex
        return cls(tenant_id=str(authorizer.get("tenantId") or DEFAULT_TENANT), request_id=request_id,
                   upstream_request_id=context.get("requestId"),
                   quotas=Quotas(rpm=number("rpm"), rpd=number("rpd"), tpm=number("tpm")),
                   allowed_models=tuple(m for m in str(authorizer.get("models") or "").split(",") if m),
                   guardrail_profile=str(authorizer.get("guardrail") or "") or None,
                   cache_control=_cache_control(request.headers.get("cache-control", "")),
                   key_id=str(authorizer.get("keyId") or ""), admin=str(authorizer.get("admin") or "") == "true",
                   budget=Budget(**limits) if any(v is not None for v in limits.values()) else None,
                   trace=_trace(request), headers={"x-gateway-request-id": request_id})


def _trace(request: Request) -> str:
    """The adapter forwards each invocation's Lambda context (its ``xray_trace_id`` names the
    function's segment); API Gateway's own header is the fallback."""
    try:
        context = json.loads(request.headers.get("x-amzn-lambda-context") or "{}")
    except ValueError:
        context = {}
    trace = context.get("xray_trace_id") if isinstance(context, dict) else None
    return str(trace or request.headers.get("x-amzn-trace-id") or "")


def _cache_control(header: str) -> str | None:
    directives = {d.strip().lower() for d in header.split(",")}
    return "no-store" if "no-store" in directives else "no-cache" if "no-cache" in directives else None
