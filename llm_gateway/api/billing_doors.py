"""``GET /v1/billing/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`` (seed 003's path): the caller's tenant's
usage and spend over a range of days, from the ledger's pre-aggregated counters. An admin key may
add ``tenant=<id>``, or ``tenant=*`` for every tenant together."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_gateway.api.context import Caller
from llm_gateway.api.errors import ApiError
from llm_gateway.core.usage import ALL_TENANTS, UsageStore

MAX_DAYS = 366
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        if DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise ApiError(400, f"'{name}' must be a date as YYYY-MM-DD, got {raw[:20]!r}", param=name, code="invalid_value")


class BillingDoors:
    def __init__(self, store: UsageStore | None) -> None:
        self.store = store

    async def usage(self, request: Request, caller: Caller) -> Response:
        if self.store is None:
            raise ApiError(404, "this gateway keeps no usage ledger (deploy it with a UsageLedger)",
                           code="usage_not_recorded")
        today = datetime.now(UTC).date()
        last = _day(request, "to", today)
        first = _day(request, "from", last.replace(day=1))
        if first > last:
            raise ApiError(400, "'from' must not be after 'to'", param="from", code="invalid_value")
        if (last - first).days >= MAX_DAYS:
            raise ApiError(400, f"at most {MAX_DAYS} days at a time", param="from", code="invalid_value")
        tenant = request.query_params.get("tenant") or caller.tenant_id
        if tenant != caller.tenant_id and not caller.admin:
            raise ApiError(403, "only an admin key may read another tenant's usage", param="tenant",
                           code="admin_key_required")
        usage = await run_in_threadpool(self.store.usage, tenant, first, last)
        return JSONResponse({"object": "billing.usage", **usage, "all_tenants": tenant == ALL_TENANTS})
