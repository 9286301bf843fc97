"""Readiness checks: each dependency the portal needs to answer, probed with a short timeout."""

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0
WORKER_TIMEOUT_SECONDS = 5.0


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


def readiness_report(*, include_worker: bool = False) -> dict:
    checks: dict[str, Callable[[], str]] = {
        "database": check_database,
        "cache": check_cache,
        "broker": check_broker,
        "model": check_model,
    }
    if include_worker:
        checks["worker"] = check_worker
    components: dict[str, dict] = {}
    failing: list[str] = []
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            detail = check()
            components[name] = {"status": "ok", "detail": detail}
        except Exception as exc:  # any failure makes the component not ready
            logger.warning("readiness check %s failed: %s", name, exc)
            components[name] = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}
            failing.append(name)
        components[name]["ms"] = round(1000 * (time.perf_counter() - started), 1)
    return {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "components": components,
    }
