"""The usage dashboard's distribution, locally: what ``UsageDashboard`` deploys to S3 behind
CloudFront, served from the package at ``/dashboard/`` with the same response headers, beside the
API (on AWS the distribution routes ``/v1/billing/*`` to the API; here the page shares its origin)."""

from __future__ import annotations

from typing import Any

from starlette.responses import FileResponse, RedirectResponse

from llm_gateway.dashboard import FILES, SECURITY_HEADERS, SITE
from llm_gateway.local.lambda_emulation import send_json

PREFIX = "/dashboard"


class LocalSite:
    def __init__(self, api: Any) -> None:
        self.api = api

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.api(scope, receive, send)
            return
        if path == PREFIX:  # the page's files are relative to the folder
            await RedirectResponse(PREFIX + "/")(scope, receive, send)
            return
        name = path.removeprefix(PREFIX + "/") or "index.html"
        if name not in FILES or scope["method"] not in ("GET", "HEAD"):
            await send_json(send, 404, {"message": "Not Found"})  # as S3 behind CloudFront answers: no listing
            return
        await FileResponse(SITE / name, headers=SECURITY_HEADERS)(scope, receive, send)
