"""Work the response does not wait for: an answer's records (token count, cache entry, eval event).

Where the process lives on after a response (a server, the local runner), the work is simply done
in the background. Lambda freezes an environment once its response is sent, so there the work is
awaited before responding unless an extension holds the invocation open until ``wait`` says it is
done (``llm_gateway.lambdas.after_response``); whoever gives that guarantee sets ``detached``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any


class Background:
    def __init__(self, workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-response")
        self._pending = 0
        self._idle = threading.Condition()
        # Outside Lambda nothing freezes the process between requests.
        self.detached = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ

    def run(self, tasks: list[Callable[[], Any]]) -> None:
        """Start ``tasks`` at once; return when they are done, or at once if ``detached``. Each task
        handles its own failures (a failed record must not fail the answer)."""
        with self._idle:
            self._pending += len(tasks)
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
