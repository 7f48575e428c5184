"""The functions' boto3 clients: one configuration, one way to build them.

Their ``User-Agent`` is given, not composed: botocore composes its default from a dozen
components, sanitizing each, twice a call (when the request is made and again before it is sent):
0.15 to 0.18 ms of a DynamoDB call's 0.9 ms of client CPU, on every call the gateway makes.
Given in the client's configuration (a documented option), it is one string, built here once:
the gateway's name and version first, then what the default names (SDK, Python, platform, and
in Lambda its execution environment).
"""

from __future__ import annotations

import os
import platform
import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore
from botocore.config import Config

from llm_gateway import __version__

USER_AGENT = " ".join([
    f"llm-gateway/{__version__}", f"Botocore/{botocore.__version__}", f"lang/python#{platform.python_version()}",
    f"os/{platform.system().lower()}#{platform.release()}",
    *([f"exec-env/{os.environ['AWS_EXECUTION_ENV']}"] if os.environ.get("AWS_EXECUTION_ENV") else [])])


def client(service: str, **config: Any) -> Any:
    """A boto3 client for ``service``; ``config``: further ``botocore.config.Config`` options."""
    return boto3.client(service, config=Config(user_agent=USER_AGENT, **config))


class LazyClient:
    """A boto3 client built on first use, so the function's init does not pay for it (each client
    loads its service's model: 5 to 20 milliseconds): for the ones a request needs only after its
    answer is sent (EventBridge), rarely (the eval events' fallback queue, Secrets Manager), or
    only under some settings (Bedrock Guardrails). ``prepare``: applied to the client once built."""

    def __init__(self, service: str, prepare: Callable[[Any], Any] | None = None) -> None:
        self._service, self._prepare, self._client, self._lock = service, prepare, None, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._client is None:
                built = client(self._service)
                self._client = self._prepare(built) if self._prepare else built
        return getattr(self._client, name)
