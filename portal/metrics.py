"""Prometheus metrics: the portal's own (``mlpaygrade_*``) and the protected ``/metrics`` view.

Every business metric is defined here, once, and incremented where its event happens with a
one-line call (``prediction_create``, ``feedback_upsert``, the model loader, Celery signals).

Under gunicorn the web workers are separate processes: with ``PROMETHEUS_MULTIPROC_DIR`` set
(compose and ``docker/k8s/`` set it for web) prometheus_client keeps each process's values in
files there and ``/metrics`` sums them, whichever worker answers the scrape. The directory is
emptied when the gunicorn master starts and a dead worker is marked in it
(``docker/gunicorn.conf.py``); its counters stay in the sum, so every counter is monotonic.

``/metrics`` is not public. It answers a scraper sending ``Authorization: Bearer
<METRICS_TOKEN>`` (compared in constant time; without ``METRICS_TOKEN`` no token is accepted)
or a signed-in staff user. A request without any credentials gets 401 (``WWW-Authenticate:
Bearer``); wrong credentials (another token, a non-staff user) get 403.

The Celery queue depth (``mlpaygrade_celery_queue_length{queue}``) is read from the Redis
broker at scrape time with a short socket timeout, so a silent Redis never hangs a scrape; with
no Redis broker (or when it does not answer) the gauge is absent.

Each Celery worker records its heartbeat in a Redis hash on the broker (at most every 15 s, from
Celery's ``heartbeat_sent`` signal); ``/metrics`` exports them at scrape time as
``mlpaygrade_celery_worker_last_heartbeat_timestamp_seconds{worker}``, which the
``CeleryWorkerHeartbeatMissing`` alert watches.

Task outcomes (``mlpaygrade_celery_tasks_total``) are counted in the process that runs the task:
inline tasks in a web process are in ``/metrics``; a Celery worker's own counts are only visible
if that worker's metrics are exported too.
"""

from __future__ import annotations

import contextlib
import contextvars
import hmac
import logging
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus import exports
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

BEARER_PREFIX = "bearer "
# A scrape must answer within Prometheus's scrape timeout whatever Redis does.
QUEUE_LENGTH_TIMEOUT_SECONDS = 0.5
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# kombu's Redis transport keeps messages with a priority in sibling lists ``<queue>\x06\x16<n>``.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)

PREDICTIONS = Counter(
    "mlpaygrade_predictions",
    "Predictions stored, by answering model version, experiment arm (<experiment>:<arm id>) and "
    "channel.",
    ["model_version", "experiment_arm", "channel"],
)
PREDICTION_LATENCY = Histogram(
    "mlpaygrade_prediction_latency_seconds",
    "Time the serving model took to answer one prediction.",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
FEEDBACK = Counter(
    "mlpaygrade_feedback",
    "Feedback saved on a prediction, created or updated.",
    ["action"],
)
MODEL_LOAD_FAILURES = Counter(
    "mlpaygrade_model_load_failures",
    "Model artifacts that could not be read (database error or missing row).",
)
MODEL_INTEGRITY_FAILURES = Counter(
    "mlpaygrade_model_integrity_failures",
    "Model artifacts refused because they failed their sha256 integrity check.",
)
EXPOSURES_NOT_SENT = Counter(
    "mlpaygrade_experiment_exposures_not_sent",
    "Experiment exposures not sent to the broker (refused or backing off); reconciled later.",
)
CSP_VIOLATIONS = Counter(
    "mlpaygrade_csp_violations",
    "Content-Security-Policy violations reported to /csp-report (by anyone: a hint, not proof), by "
    "the directive of our policy they fall under.",
    ["directive"],
)
CELERY_TASKS = Counter(
    "mlpaygrade_celery_tasks",
    "Celery task outcomes, by task name and state (success, failure, retry).",
    ["task", "state"],
)


# False while the start-up warm-up answers predictions it rolls back (portal/warmup.py): they
# were never stored, so they are not counted; their label sets are still created (at 0).
_counting: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mlpaygrade_counting", default=True
)


@contextlib.contextmanager
def uncounted() -> Iterator[None]:
    """Predictions served inside this block are not counted (their effects are rolled back)."""
    reset = _counting.set(False)
    try:
        yield
    finally:
        _counting.reset(reset)


def prediction_served(served, *, channel: str, latency_ms: float) -> None:
    """One stored prediction: ``served`` is the ``mlmodel.services.ServedPrediction``."""
    arm = f"{served.experiment_id}:{served.arm_id}" if served.arm_id is not None else ""
    predictions = PREDICTIONS.labels(str(served.model_version_number), arm, channel)
    latency = PREDICTION_LATENCY.labels(channel)
    if _counting.get():
        predictions.inc()
        latency.observe(latency_ms / 1000)


def feedback_saved(*, created: bool) -> None:
    FEEDBACK.labels("created" if created else "updated").inc()


# --- Celery task outcomes ---------------------------------------------------------------------


def _task_name(sender) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


def _on_task_success(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(_task_name(sender), "success").inc()


def _on_task_failure(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(_task_name(sender), "failure").inc()


def _on_task_retry(sender=None, **kwargs) -> None:
    CELERY_TASKS.labels(_task_name(sender), "retry").inc()


def connect_task_signals() -> None:
    """Count every task's outcome (idempotent: each receiver is connected once)."""
    from celery.signals import task_failure, task_retry, task_success

    task_success.connect(_on_task_success, weak=False, dispatch_uid="mlpaygrade-task-success")
    task_failure.connect(_on_task_failure, weak=False, dispatch_uid="mlpaygrade-task-failure")
    task_retry.connect(_on_task_retry, weak=False, dispatch_uid="mlpaygrade-task-retry")


# --- Celery queue depth, read at scrape time --------------------------------------------------

_redis_clients: dict[str, object] = {}


def _redis_client(url: str):
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(
            url,
            socket_timeout=QUEUE_LENGTH_TIMEOUT_SECONDS,
            socket_connect_timeout=QUEUE_LENGTH_TIMEOUT_SECONDS,
            retry_on_timeout=False,
        )
        _redis_clients[url] = client
    return client


class CeleryQueueCollector:
    """``mlpaygrade_celery_queue_length{queue}``: messages waiting in the configured queue."""

    def describe(self):
        return []  # collected at scrape time only; nothing to check at registration

    def collect(self):
        url = settings.CELERY_BROKER_URL or ""
        if not url.startswith(REDIS_SCHEMES):
            return  # no Redis broker (tasks inline, or the in-memory broker of the tests)
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        keys = [queue, *(f"{queue}{KOMBU_PRIORITY_SEPARATOR}{n}" for n in KOMBU_PRIORITY_STEPS)]
        try:
            pipeline = _redis_client(url).pipeline(transaction=False)
            for key in keys:
                pipeline.llen(key)
            length = sum(pipeline.execute())
        except Exception:
            logger.warning("could not read the Celery queue length from the broker", exc_info=True)
            return
        family = GaugeMetricFamily(
            "mlpaygrade_celery_queue_length",
            "Celery messages waiting in the queue (read from the broker at scrape time).",
            labels=["queue"],
        )
        family.add_metric([queue], length)
        yield family


# --- Celery worker heartbeats, written by the workers and read at scrape time ----------------
#
# A worker's event heartbeat (Celery's ``heartbeat_sent`` signal, every 2 s by default, and once
# when it comes online) records the time in a Redis hash on the broker, at most every
# HEARTBEAT_RECORD_SECONDS: field = the worker's node name, value = a Unix timestamp. /metrics,
# answered by a web process, exports one gauge per worker from that hash, so the
# CeleryWorkerHeartbeatMissing alert sees a worker that stopped or lost the broker go stale.

HEARTBEAT_HASH_SUFFIX = "celery:worker-heartbeats"
HEARTBEAT_RECORD_SECONDS = 15.0
DEFAULT_KEY_PREFIX = "mlpaygrade"
# A worker silent this long is gone (renamed, scaled down): its field is deleted at a scrape.
HEARTBEAT_FORGET_SECONDS = 24 * 60 * 60
_last_heartbeat_recorded: dict[str, float] = {}


def heartbeat_hash_key() -> str:
    """One hash per installation sharing a Redis (the cache's key prefix names it)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX") or DEFAULT_KEY_PREFIX
    return f"{prefix}:{HEARTBEAT_HASH_SUFFIX}"


def worker_heartbeat_record(*, worker: str, now: float | None = None) -> bool:
    """Record that ``worker`` is alive now, unless it did so less than HEARTBEAT_RECORD_SECONDS
    ago; returns whether it wrote. Never raises: a broker that does not answer is the broker's
    problem, which the worker itself reports; the heartbeat simply goes stale."""
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(REDIS_SCHEMES):
        return False
    now = time.time() if now is None else now
    last = _last_heartbeat_recorded.get(worker)
    if last is not None and now - last < HEARTBEAT_RECORD_SECONDS:
        return False
    # Also after a failure: a broker that is down is tried again (and logged) every interval,
    # not on every 2-second heartbeat.
    _last_heartbeat_recorded[worker] = now
    try:
        _redis_client(url).hset(heartbeat_hash_key(), worker, repr(now))
    except Exception:
        logger.warning("could not record the worker heartbeat on the broker", exc_info=True)
        return False
    return True


def _on_heartbeat_sent(sender=None, **kwargs) -> None:
    worker = getattr(getattr(sender, "eventer", None), "hostname", None)
    if worker:
        worker_heartbeat_record(worker=str(worker))


def connect_worker_signals() -> None:
    """Record each worker's heartbeats on the broker (idempotent)."""
    from celery.signals import heartbeat_sent

    heartbeat_sent.connect(_on_heartbeat_sent, weak=False, dispatch_uid="mlpaygrade-heartbeat")


class CeleryWorkerHeartbeatCollector:
    """``mlpaygrade_celery_worker_last_heartbeat_timestamp_seconds{worker}``: when each worker
    last recorded a heartbeat. Absent without a Redis broker or when it does not answer."""

    def describe(self):
        return []  # collected at scrape time only

    def collect(self):
        url = settings.CELERY_BROKER_URL or ""
        if not url.startswith(REDIS_SCHEMES):
            return
        try:
            client = _redis_client(url)
            key = heartbeat_hash_key()
            beats = client.hgetall(key)
            now = time.time()
            forgotten = [
                worker
                for worker, stamp in beats.items()
                if now - _timestamp(stamp) > HEARTBEAT_FORGET_SECONDS
            ]
            if forgotten:
                client.hdel(key, *forgotten)
        except Exception:
            logger.warning("could not read the worker heartbeats from the broker", exc_info=True)
            return
        family = GaugeMetricFamily(
            "mlpaygrade_celery_worker_last_heartbeat_timestamp_seconds",
            "Unix time of each Celery worker's last recorded heartbeat (read from the broker).",
            labels=["worker"],
        )
        for worker, stamp in sorted(beats.items()):
            if worker not in forgotten:
                family.add_metric([worker.decode(errors="replace")], _timestamp(stamp))
        yield family


def _timestamp(stamp: bytes) -> float:
    try:
        return float(stamp)
    except ValueError:
        return 0.0  # not ours: reported as the epoch (stale), then forgotten


# Its own registry: the scrape-time gauges are appended to what django-prometheus exports (the
# process's registry, or the sum of all workers in multiprocess mode), never exported twice.
class ExperimentSrmCollector:
    """``mlpaygrade_experiment_srm_flag{experiment}``: 1 while the running experiment's split
    is mismatched, as the rollup task last judged it (read from the cache, no query here)."""

    def describe(self):
        return []

    def collect(self):
        from mlmodel.rollout.metrics import srm_flags

        try:
            flags = srm_flags()
        except Exception:
            logger.warning("could not read the experiment SRM flags", exc_info=True)
            return
        family = GaugeMetricFamily(
            "mlpaygrade_experiment_srm_flag",
            "1 when the running experiment's observed split does not match its weights.",
            labels=["experiment"],
        )
        for experiment, flag in flags.items():
            family.add_metric([str(experiment)], flag)
        yield family


class ExperimentExposureBacklogCollector:
    """``mlpaygrade_experiment_exposures_pending`` and
    ``mlpaygrade_experiment_exposures_oldest_pending_seconds``: the exposure queue the worker
    drains (two small reads at scrape time; absent when the database does not answer)."""

    def describe(self):
        return []

    def collect(self):
        from predictions.selectors import exposure_backlog

        try:
            backlog = exposure_backlog()
        except Exception:
            logger.warning("could not read the exposure backlog", exc_info=True)
            return
        yield GaugeMetricFamily(
            "mlpaygrade_experiment_exposures_pending",
            "Experiment exposures (and shadow scores) not recorded by a worker yet.",
            value=backlog.pending,
        )
        yield GaugeMetricFamily(
            "mlpaygrade_experiment_exposures_oldest_pending_seconds",
            "Age of the oldest exposure not recorded yet (0 when none waits).",
            value=backlog.oldest_age_seconds,
        )


SCRAPE_TIME_REGISTRY = CollectorRegistry(auto_describe=False)
SCRAPE_TIME_REGISTRY.register(CeleryQueueCollector())
SCRAPE_TIME_REGISTRY.register(CeleryWorkerHeartbeatCollector())
SCRAPE_TIME_REGISTRY.register(ExperimentSrmCollector())
SCRAPE_TIME_REGISTRY.register(ExperimentExposureBacklogCollector())


# --- The protected /metrics view --------------------------------------------------------------


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return header[len(BEARER_PREFIX) :].strip()
    return None


def _has_valid_token(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    given = _bearer_token(request)
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics for a scraper with the bearer token or a staff user; else 401/403."""
    if not _has_valid_token(request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            if "Authorization" in request.headers:
                return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
            response = HttpResponse(
                "Authentication required\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not user.is_staff:
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    response = exports.ExportToDjangoView(request)
    response.content = response.content + generate_latest(SCRAPE_TIME_REGISTRY)
    response["Cache-Control"] = "no-store"
    return response
