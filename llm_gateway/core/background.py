"""Work the response does not wait for: an answer's records (token count, cache entry, eval event).

Where the process lives on after a response (a server, the local runner), the work is simply done
in the background. Lambda freezes an environment once its response is sent, so there the work is
awaited before responding unless an extension holds the invocation open until ``wait`` says it is
done (``llm_gateway.lambdas.after_response``); whoever gives that guarantee sets ``detached``.

Detached work a request leaves inside ``AfterResponse`` starts once its response's last byte is
sent: started at once, its AWS calls held the interpreter lock the response was waiting for (about
2 ms a request in the local stack).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from typing import Any

Tasks = list[Callable[[], Any]]


# An answer's records wait in a group commit (``records.GroupCommit``) for the others sent with
# them, each holding a worker meanwhile: with 8 workers a PutEvents gathered about 2 events under 16
# clients, with 32 it fills its 10 (0.1 calls a request instead of 0.47, and 2.3 ms less CPU a
# request across the local stack, median of four runs side by side).
WORKERS = 32


class Background:
    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-response")
        self._pending = 0
        self._idle = threading.Condition()
        # Outside Lambda nothing freezes the process between requests.
        self.detached = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ

    def run(self, tasks: Tasks) -> None:
        """Start ``tasks``; return when they are done, or at once if ``detached`` (then, inside a
        request served through ``AfterResponse``, they start once its response is sent). Each task
        handles its own failures (a failed record must not fail the answer)."""
        with self._idle:
            self._pending += len(tasks)  # ``wait`` waits for held tasks too
        held = _held.get()
        if not (self.detached and held is not None and held.hold(self, tasks)):
            self._start(tasks)

    def _start(self, tasks: Tasks) -> None:
        futures: list[Future[Any]] = [self._pool.submit(task) for task in tasks]
        for future in futures:
            future.add_done_callback(self._done)
        if not self.detached:
            wait(futures)

    def _done(self, _: Future[Any]) -> None:
        with self._idle:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Until every task started so far has finished (False: ``timeout`` seconds passed first)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)


class _Held:
    """A request's detached work, until its response is sent; afterwards nothing more is held."""

    def __init__(self) -> None:
        self._lock, self._tasks, self._open = threading.Lock(), list[tuple[Background, Tasks]](), True

    def hold(self, background: Background, tasks: Tasks) -> bool:
        with self._lock:
            if self._open:
                self._tasks.append((background, tasks))
            return self._open

    def release(self) -> None:
        with self._lock:
            self._open, held, self._tasks = False, self._tasks, []
        for background, tasks in held:
            background._start(tasks)


_held: ContextVar[_Held | None] = ContextVar("held_until_sent", default=None)


class _Serving:
    """How many requests this process is serving (their responses not yet sent): a Lambda
    environment serves one at a time, a server several."""

    def __init__(self) -> None:
        self._lock, self.count = threading.Lock(), 0

    def add(self, n: int) -> None:
        with self._lock:
            self.count += n


serving = _Serving()


def others_in_flight() -> bool:
    """Whether a request is being served beside whatever work asks (records run once their own
    request's response is sent)."""
    return serving.count > 0


class AfterResponse:
    """ASGI middleware: the background work a request leaves starts once its response's last byte
    is sent, or once the request ends without it (it failed, or the client left)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held, sent = _Held(), False
        token = _held.set(held)
        serving.add(1)

        def done() -> None:
            nonlocal sent
            if not sent:
                sent = True
                serving.add(-1)
            held.release()

        async def sending(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done()

        try:
            await self.app(scope, receive, sending)
        finally:
            _held.reset(token)
            done()
