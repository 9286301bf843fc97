"""Race helpers: the same action in several threads, let go at the same instant, and waiting
for what another thread or process does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connections

JOIN_TIMEOUT_SECONDS = 120


def run_at_once(action: Callable[[], None], *, copies: int = 2) -> None:
    """Run ``action`` in ``copies`` threads released together by a barrier; each thread's
    database connections are closed when it ends (Django opens one per thread)."""
    start = threading.Barrier(copies)

    def run() -> None:
        try:
            start.wait()
            action()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_SECONDS)


def wait_until(condition: Callable[[], bool], *, seconds: float, poll: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()
