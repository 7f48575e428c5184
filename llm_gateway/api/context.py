"""Who is calling, from the request context API Gateway (or the local runner) attaches."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from starlette.requests import Request

from llm_gateway.core.tenants import Quotas

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
    headers: dict[str, str] = field(default_factory=dict)

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

        request_id = uuid.uuid4().hex
        return cls(tenant_id=str(authorizer.get("tenantId") or DEFAULT_TENANT), request_id=request_id,
                   upstream_request_id=context.get("requestId"),
                   quotas=Quotas(rpm=number("rpm"), rpd=number("rpd"), tpm=number("tpm")),
                   allowed_models=tuple(m for m in str(authorizer.get("models") or "").split(",") if m),
                   guardrail_profile=str(authorizer.get("guardrail") or "") or None,
                   cache_control=_cache_control(request.headers.get("cache-control", "")),
                   headers={"x-gateway-request-id": request_id})


def _cache_control(header: str) -> str | None:
    directives = {d.strip().lower() for d in header.split(",")}
    return "no-store" if "no-store" in directives else "no-cache" if "no-cache" in directives else None
