"""CloudWatch Logs subscription filters with a Lambda destination, done locally: a function's output
is read as Lambda sends it to its log group (``LogTap``), and the lines a subscription's pattern
matches reach the destination function as CloudWatch Logs delivers them (``LogDelivery``): gathered
for a moment, in one asynchronous invocation with the ``awslogs`` event, retried as Lambda retries
an asynchronous invocation, then handed to its on-failure destination."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from llm_gateway.local.cloudformation import ACCOUNT

Invoke = Callable[[dict[str, Any]], Any]
MAX_EVENTS = 10_000  # log events in one delivery, at most (PutLogEvents' batch)


class LogPattern:
    """The JSON filter patterns the stacks use, ``{ $.a.b EXISTS }`` and ``{ $.a = "v" }``; any other
    is refused when the stack is stood up, rather than never matching."""

    FORM = re.compile(r'^\{\s*\$\.([\w.]+)\s+(?:(EXISTS)|=\s*"([^"*]*)")\s*\}$')

    def __init__(self, pattern: str) -> None:
        form = self.FORM.match(pattern.strip())
        if not form:
            raise ValueError(f"filter pattern {pattern!r}: the local runner emulates "
                             '{ $.field EXISTS } and { $.field = "value" } only')
        self.path, self.value = form.group(1).split("."), form.group(3)
        self._key = f'"{self.path[0]}"'  # in the line, or it cannot match: checked before parsing

    def matches(self, line: str) -> bool:
        if self._key not in line:
            return False
        try:
            value: Any = json.loads(line)
        except ValueError:
            return False
        for key in self.path:
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        return self.value is None or value == self.value


def awslogs_event(log_group: str, filter_name: str, events: list[tuple[int, str]]) -> dict[str, Any]:
    """What CloudWatch Logs invokes a subscription's function with: the events, gzipped, base64."""
    data = {"messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": log_group, "logStream": "local",
            "subscriptionFilters": [filter_name],
            "logEvents": [{"id": str(n), "timestamp": at, "message": message}
                          for n, (at, message) in enumerate(events)]}
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


class LogDelivery(threading.Thread):
    """One subscription filter: the log group's lines that match ``pattern``, gathered for
    ``window`` seconds, reach ``function`` in one invocation. A failed invocation is retried
    ``retries`` times, ``retry_delay`` seconds apart (Lambda waits a minute, then two), then its
    event goes to ``on_failure`` (a queue's send) in Lambda's invocation record, as Lambda's
    asynchronous invocation does with an on-failure destination; without one it is dropped."""

    def __init__(self, log_group: str, filter_name: str, pattern: str, function: Invoke, function_arn: str, *,
                 retries: int, retry_delay: float, on_failure: Callable[[str], None] | None,
                 log: Callable[[str], None], window: float = 1.0) -> None:
        super().__init__(daemon=True, name=f"logs-{filter_name}")
        self.log_group, self.filter_name, self.pattern = log_group, filter_name, LogPattern(pattern)
        self.function, self.function_arn = function, function_arn
        self.retries, self.retry_delay, self.on_failure, self.log = retries, retry_delay, on_failure, log
        self.window = window
        self.stopping = threading.Event()
        self._lines: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def offer(self, line: str) -> None:
        if self.pattern.matches(line):
            with self._lock:
                self._lines.append((int(time.time() * 1000), line))

    def run(self) -> None:
        # Every window, what gathered meanwhile: no wake-up a line (they share the machine's cores).
        while not self.stopping.wait(self.window):
            with self._lock:
                lines, self._lines = self._lines, []
            for at in range(0, len(lines), MAX_EVENTS):
                self._deliver(awslogs_event(self.log_group, self.filter_name, lines[at:at + MAX_EVENTS]))

    def _deliver(self, event: dict[str, Any]) -> None:
        for attempt in range(1 + self.retries):
            if self.stopping.is_set():
                return
            try:
                self.function(event)
                return
            except Exception as exc:
                error = exc
                self.log(f"{self.filter_name}: delivery {attempt + 1} of {1 + self.retries} failed: {exc}")
            if attempt < self.retries:
                self.stopping.wait(self.retry_delay)
        if self.on_failure and not self.stopping.is_set():
            self.on_failure(json.dumps({
                "version": "1.0", "timestamp": datetime.now(UTC).isoformat(),
                "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": self.function_arn,
                                   "condition": "RetriesExhausted", "approximateInvokeCount": 1 + self.retries},
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)}}))

    def stop(self) -> None:
        self.stopping.set()


class LogTap(threading.Thread):
    """A function's output as Lambda sends it to its log group: each line to the local log
    (``sink``; None: our standard output) and to the group's subscriptions."""

    def __init__(self, stream: IO[bytes], sink: IO[str] | None, deliveries: list[LogDelivery], name: str) -> None:
        super().__init__(daemon=True, name=f"log-{name}")
        self.stream, self.sink, self.deliveries = stream, sink, deliveries

    def run(self) -> None:
        sink = self.sink or sys.stdout
        keep = getattr(sink, "name", "") != os.devnull  # a quiet runner's: not written at all
        with self.stream:
            for raw in self.stream:
                line = raw.decode(errors="replace")
                if keep:
                    sink.write(line)
                    sink.flush()
                for delivery in self.deliveries:
                    delivery.offer(line.rstrip("\n"))
