"""Writes for retraining runs that any process may call: request a run, the run lock, reviews.

Web-safe: nothing here imports the training stack. A run is requested here (admin "Retrain
now", ``manage.py retrain``, the staff API, Celery beat) and sent by name to the worker, which
runs it in ``mlmodel.training_services.training_run_execute``.

**One run at a time**, twice over:

* a request is refused (``TrainingRunBusy``, a 409 naming the run) while another run is pending
  or running, or while a worker holds the run lock; requests are serialised in the database
  (an advisory lock on PostgreSQL), so two simultaneous requests cannot both pass;
* the worker holds a lock in Redis (the shared cache) while it trains, renewed by a thread every
  third of ``TRAINING_LOCK_SECONDS``: a worker that dies stops renewing it and it expires by
  itself, so a dead worker never blocks training for ever. Its value is the run id, so the same
  run sent again after its worker died takes it back, and any other run is refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction

from mlmodel.importing import salary_data_changed
from mlmodel.models import (
    DEFAULT_TRAINING_RUN_SEED,
    ReviewStatus,
    SalaryRecord,
    SalarySource,
    TrainingRun,
    TrainingTrigger,
)
from mlmodel.training_selectors import training_run_is_unfinished, training_run_unfinished
from portal.exceptions import Conflict, InvalidInput, Unavailable
from portal.jobs.services import job_enqueue

logger = logging.getLogger(__name__)

TRAINING_RUN_TASK = TrainingRun.task_name
# Celery beat sends this one by name (portal/settings.py CELERY_BEAT_SCHEDULE).
TRAINING_RUN_SCHEDULED_TASK = "mlmodel.training_run_scheduled_task"
TRAINING_LOCK_KEY = "mlmodel:training-run-lock"
# Any constant key for pg_advisory_xact_lock: requests for a run queue up on it.
TRAINING_REQUEST_ADVISORY_LOCK = 7_309_001
# The lock is renewed this many times per TRAINING_LOCK_SECONDS.
LOCK_RENEWALS_PER_TTL = 3
LOCK_THREAD_JOIN_SECONDS = 5.0
PARAM_GROUPS = ("point", "quantile", "features", "blend")
MAX_SEED = 2**31 - 1

# A run's stages, in order (mlmodel.training_services runs them). train_production_model fits
# the served model and calibrates its interval by cross-fitting its last year in one call (the
# core's, not split here), so those two are one stage; the held-out evaluation's fit runs beside
# it, and "evaluating" is the wait for what is left of it.
STAGE_LOADING = "loading data"
STAGE_TRAINING = "training + calibrating"
STAGE_EVALUATING = "evaluating"
STAGE_COMPARING = "comparing"
STAGE_SAVING = "saving"
TRAINING_STAGES = (STAGE_LOADING, STAGE_TRAINING, STAGE_EVALUATING, STAGE_COMPARING, STAGE_SAVING)


class TrainingRunBusy(Conflict):
    """Another training run is pending or running; the message names it."""


# --------------------------------------------------------------------------------------------
# Requesting a run
# --------------------------------------------------------------------------------------------
def _busy_message(run: TrainingRun | None, run_id: int | None = None) -> str:
    if run is None:
        return (
            f"Training run #{run_id} is running (it holds the training lock). Wait for it to "
            "finish before starting another."
        )
    where = f", {run.stage} {run.progress_percent}%" if run.stage else ""
    return (
        f"Training run #{run.pk} is already {run.status}{where}. Wait for it to finish "
        "before starting another."
    )


def _serialise_requests() -> None:
    """Make concurrent requests take turns until their transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRAINING_REQUEST_ADVISORY_LOCK])
    else:
        # SQLite (no broker, one machine): a write takes the database's write lock at once.
        TrainingRun.objects.filter(pk=-1).update(stage="")


def _checked_params(params: Mapping[str, object] | None) -> dict[str, dict]:
    if not params:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidInput({"params": ["Expected an object of parameter groups."]})
    unknown = sorted(set(params) - set(PARAM_GROUPS))
    if unknown:
        raise InvalidInput({"params": [f"Unknown parameter groups: {', '.join(unknown)}."]})
    if not all(isinstance(group, Mapping) for group in params.values()):
        raise InvalidInput({"params": ["Each parameter group must be an object."]})
    return {name: dict(group) for name, group in params.items()}


def training_run_request(
    *,
    trigger: str,
    actor=None,
    seed: int = DEFAULT_TRAINING_RUN_SEED,
    params: Mapping[str, object] | None = None,
) -> TrainingRun:
    """Store a pending run and send it to a worker once committed; refused while one is active.

    Raises ``TrainingRunBusy`` (naming the run) when a run is pending or running or holds the
    lock, and ``Unavailable`` when the broker refuses the task (the run is then failed with a
    message, not left pending). Without a broker the run executes inline, before this returns.
    """
    if trigger not in TrainingTrigger.values:
        raise InvalidInput({"trigger": [f"Choose one of: {', '.join(TrainingTrigger.values)}."]})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput({"seed": [f"Expected a whole number from 0 to {MAX_SEED}."]})
    checked = _checked_params(params)
    with transaction.atomic():
        _serialise_requests()
        active = training_run_unfinished()
        if active is not None:
            raise TrainingRunBusy(_busy_message(active))
        holder = training_lock_holder()
        if holder is not None and training_run_is_unfinished(run_id=holder):
            raise TrainingRunBusy(_busy_message(None, holder))
        run = TrainingRun.objects.create(
            trigger=trigger, requested_by=actor, seed=seed, params=checked
        )
        enqueued = job_enqueue(
            job=run, task_name=TRAINING_RUN_TASK, refused_message=TrainingRun.queue_refused_message
        )
    if enqueued.sent is False:
        raise Unavailable(TrainingRun.queue_refused_message)
    logger.info(
        "training run requested",
        extra={
            "training_run_id": run.pk,
            "trigger": trigger,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    run.refresh_from_db()
    return run


# --------------------------------------------------------------------------------------------
# The run lock (Redis, through the shared cache)
# --------------------------------------------------------------------------------------------
def _lock_seconds() -> float:
    return float(settings.TRAINING_LOCK_SECONDS)


def training_lock_holder() -> int | None:
    """The id of the run holding the lock, or None when it is free (or expired)."""
    value = cache.get(TRAINING_LOCK_KEY)
    return int(value) if value is not None else None


def training_lock_acquire(*, run: TrainingRun) -> int | None:
    """Take the lock for ``run``; None when taken, else the id of the run that holds it.

    The run's own lock (it was sent again after its worker died) is taken back; a lock left by
    a run that is finished or gone (released late) is taken over.
    """
    if cache.add(TRAINING_LOCK_KEY, run.pk, timeout=_lock_seconds()):
        return None
    holder = training_lock_holder()
    if holder is None or holder == run.pk or not training_run_is_unfinished(run_id=holder):
        cache.set(TRAINING_LOCK_KEY, run.pk, timeout=_lock_seconds())
        return None
    return holder


def training_lock_release(*, run: TrainingRun) -> None:
    """Free the lock if ``run`` still holds it (never another run's)."""
    try:
        if training_lock_holder() == run.pk:
            cache.delete(TRAINING_LOCK_KEY)
    except Exception:  # the lock expires by itself; a Redis hiccup must not fail a finished run
        logger.warning("training lock not released", extra={"training_run_id": run.pk})


def _renew(run: TrainingRun) -> None:
    holder = training_lock_holder()
    if holder == run.pk:
        cache.touch(TRAINING_LOCK_KEY, timeout=_lock_seconds())
    elif holder is None:
        cache.add(TRAINING_LOCK_KEY, run.pk, timeout=_lock_seconds())  # e.g. Redis restarted
    else:
        logger.warning(
            "training lock held by another run", extra={"training_run_id": run.pk, "holder": holder}
        )


def _renew_until(run: TrainingRun, stop: threading.Event) -> None:
    try:
        while not stop.wait(_lock_seconds() / LOCK_RENEWALS_PER_TTL):
            try:
                _renew(run)
            except Exception:  # one missed renewal is harmless; the lock outlives several
                logger.warning("training lock not renewed", extra={"training_run_id": run.pk})
    finally:
        connections.close_all()


@contextmanager
def training_lock_kept(*, run: TrainingRun) -> Iterator[None]:
    """Renew ``run``'s lock from a thread while inside; it expires once the process is gone."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_renew_until, args=(run, stop), name=f"training-lock-{run.pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=LOCK_THREAD_JOIN_SECONDS)


# --------------------------------------------------------------------------------------------
# Reviewing feedback salaries (the admin's review queue)
# --------------------------------------------------------------------------------------------
def salary_feedback_review(*, record_ids: list[int], approve: bool, actor=None) -> int:
    """Approve or reject feedback salary rows for training; returns how many changed.

    Only feedback rows change, and only those not already in the chosen state; the next
    training run reads the decision (approved rows train, others never do).
    """
    status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    with transaction.atomic():
        changed = (
            SalaryRecord.objects.filter(pk__in=list(record_ids), source=SalarySource.FEEDBACK)
            .exclude(review_status=status)
            .update(review_status=status)
        )
        if changed:
            transaction.on_commit(salary_data_changed)
    logger.info(
        "feedback salaries reviewed",
        extra={"status": status, "count": changed, "actor_id": getattr(actor, "pk", None)},
    )
    return changed
