"""Readiness checks: each dependency the portal needs to answer, all within one time budget.

The checks run side by side in threads and the report is made when the budget
(``READINESS_BUDGET_SECONDS``) ends, whatever is still waiting: a dependency that hangs is
reported as timed out instead of holding the request (and a web worker) for its whole socket
timeout. Each check also has its own socket timeouts, so a stuck thread ends soon after.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.5
WORKER_TIMEOUT_SECONDS = 1.5
TIMED_OUT = "timed out"


class _Check(threading.Thread):
    """One check in a daemon thread: the report never waits past the budget for it, and a
    check stuck on a silent server (until its socket timeouts and client retries give up)
    cannot keep the process from exiting."""

    def __init__(self, name: str, check: Callable[[], str]):
        super().__init__(name=f"readiness-{name}", daemon=True)
        self.check = check
        self.detail: str | None = None
        self.error: Exception | None = None
        self.seconds = 0.0

    def run(self) -> None:
        started = time.perf_counter()
        try:
            self.detail = self.check()
        except Exception as exc:  # any failure makes the component not ready
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - started
            connections.close_all()


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def check_cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(key)
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def check_broker() -> str:
    """Probe the configured broker; without one, Celery runs tasks in-process (eager)."""
    if not settings.CELERY_BROKER_URL:
        return "eager (no broker configured; tasks run in-process)"
    from portal.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    return "reachable"


def check_worker() -> str:
    """Round-trip the health task through the broker to a worker (only on ``?deep=1``)."""
    from portal.tasks import health_ping_task

    token = uuid.uuid4().hex
    result = health_ping_task.delay(token)
    if result.get(timeout=WORKER_TIMEOUT_SECONDS) != token:
        raise RuntimeError("worker answered with the wrong token")
    return "answered"


def check_model() -> str:
    from mlmodel.loading import readiness_check

    return readiness_check()


def readiness_report(*, include_worker: bool = False, with_details: bool = True) -> dict:
    """Every component's status within ``READINESS_BUDGET_SECONDS``; the names of failing ones.

    ``with_details=False`` (anonymous callers) keeps each status and timing but no exception
    text, which can carry host names and internals.
    """
    checks: dict[str, Callable[[], str]] = {
        "database": check_database,
        "cache": check_cache,
        "broker": check_broker,
        "model": check_model,
    }
    if include_worker:
        checks["worker"] = check_worker
    budget = float(settings.READINESS_BUDGET_SECONDS)
    deadline = time.monotonic() + budget
    running = {name: _Check(name, check) for name, check in checks.items()}
    for thread in running.values():
        thread.start()
    components: dict[str, dict] = {}
    failing: list[str] = []
    for name, thread in running.items():
        thread.join(max(deadline - time.monotonic(), 0))
        if thread.is_alive():
            logger.warning("readiness check %s timed out after %.1f s", name, budget)
            components[name] = {"status": "error", "detail": TIMED_OUT, "ms": budget * 1000}
            failing.append(name)
        elif thread.error is not None:
            logger.warning("readiness check %s failed: %s", name, thread.error)
            components[name] = {
                "status": "error",
                "detail": f"{type(thread.error).__name__}: {thread.error}",
                "ms": round(thread.seconds * 1000, 1),
            }
            failing.append(name)
        else:
            components[name] = {
                "status": "ok",
                "detail": thread.detail,
                "ms": round(thread.seconds * 1000, 1),
            }
    if not with_details:
        for component in components.values():
            component.pop("detail", None)
    return {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "components": components,
    }
