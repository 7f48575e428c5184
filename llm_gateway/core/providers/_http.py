"""HTTP plumbing the HTTP providers share: one pooled client, error mapping, SSE parsing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx

from llm_gateway.core.chat import UpstreamError

CLIENT = httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))


def _error(response: httpx.Response) -> UpstreamError:
    try:
        body = response.json()
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = response.text[:300]
    retry_after = response.headers.get("retry-after")
    return UpstreamError(response.status_code, f"upstream {response.status_code}: {message}",
                         retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)


def post(url: str, headers: dict[str, str], timeout: float, **content: Any) -> httpx.Response:
    """A POST whose failure is an UpstreamError; ``content``: httpx's ``json=``, or ``data=`` and ``files=``."""
    try:
        response = CLIENT.post(url, headers=headers, timeout=timeout, **content)
    except httpx.TimeoutException as exc:
        raise UpstreamError(504, f"upstream timed out after {timeout}s") from exc
    except httpx.TransportError as exc:
        raise UpstreamError(502, f"upstream unreachable: {exc}") from exc
    if response.status_code >= 400:
        raise _error(response)
    return response


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> dict[str, Any]:
    return dict(post(url, headers, timeout, json=body).json())


@contextlib.contextmanager
def open_stream(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> Iterator[httpx.Response]:
    try:
        with CLIENT.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise _error(response)
            yield response
    except httpx.TimeoutException as exc:
        raise UpstreamError(504, f"upstream timed out after {timeout}s") from exc
    except httpx.TransportError as exc:
        raise UpstreamError(502, f"upstream stream failed: {exc}") from exc


def sse(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    event, data = "message", list[str]()
    for line in response.iter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield event, "\n".join(data)


def loads(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise UpstreamError(502, f"upstream sent malformed JSON: {data[:200]!r}") from exc
    return value if isinstance(value, dict) else {}
