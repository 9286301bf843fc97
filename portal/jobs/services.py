"""State changes of background jobs, for any concrete ``Job`` model.

Each change is one conditional UPDATE, so a redelivered task, a late worker and the sweeps can
race safely: a job only moves forward (pending → running → succeeded / failed, or back to
pending when the heartbeat sweep sends it again), and a finished job is never changed again.
A run's own writes are fenced by the task id it was claimed under: once a job was sent again,
the earlier run (a worker back from the dead) changes nothing. The instance passed in is
updated to match the row.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from celery.utils import uuid
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.jobs.enqueue import Enqueued, enqueue_on_commit
from portal.jobs.models import FULL_PERCENT, UNFINISHED_STATUSES, Job, JobStatus
from portal.jobs.selectors import job_list_heartbeat_lost, job_list_stale, job_models

logger = logging.getLogger(__name__)

# How long a finished run waits for its heartbeat thread (at most one UPDATE in flight).
HEARTBEAT_JOIN_TIMEOUT_SECONDS = 10.0


def job_enqueue(*, job: Job, task_name: str, refused_message: str) -> Enqueued:
    """Send ``task_name(job_id=…)`` when the transaction commits; store its task id now.

    If the broker refuses the message the job fails with ``refused_message`` (its owner reads
    it); the answer's ``sent`` says which happened, once the transaction has committed.
    """
    task_id = uuid()
    type(job).objects.filter(pk=job.pk).update(celery_task_id=task_id)
    job.celery_task_id = task_id
    return enqueue_on_commit(
        task_name,
        kwargs={"job_id": job.pk},
        task_id=task_id,
        on_refused=lambda: job_fail(job=job, message=refused_message),
    )


def job_start(
    *,
    model: type[Job],
    job_id: int,
    stage: str = "",
    reset: Mapping[str, object] | None = None,
    task_id: str | None = None,
) -> bool:
    """Claim a job for the worker about to run it; ``False`` if there is nothing to run.

    A pending job is claimed, and so is a running one (its task was redelivered after a worker
    died: the run starts over); each claim is one of its ``JOB_MAX_ATTEMPTS`` runs, so a job
    that kills its worker is not run for ever (the heartbeat sweep fails it). With ``task_id``
    only the task the job was last sent as may claim it: a copy of an earlier message (the
    broker redelivering a dead worker's message after the sweep sent the job again) finds
    nothing to do. A finished or deleted job is not claimed. ``reset`` sets the type's own
    progress fields back for the fresh run.
    """
    now = timezone.now()
    claimable = model.objects.filter(
        pk=job_id, status__in=UNFINISHED_STATUSES, attempts__lt=settings.JOB_MAX_ATTEMPTS
    )
    changes: dict[str, object] = {}
    if task_id is not None:
        claimable = claimable.filter(Q(celery_task_id=task_id) | Q(celery_task_id=""))
        changes["celery_task_id"] = task_id
    claimed = claimable.update(
        status=JobStatus.RUNNING,
        stage=stage,
        progress_percent=0,
        message="",
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        **changes,
        **(reset or {}),
    )
    return bool(claimed)


@contextmanager
def job_heartbeat(*, job: Job, interval: float | None = None) -> Iterator[None]:
    """Beat the job's heartbeat from a thread every ``JOB_HEARTBEAT_SECONDS`` while inside.

    ``job_progress`` beats too, but only between steps; this keeps a job alive through one long
    step (a slow chunk, a model fit), so only a worker that is gone stops beating, and the
    heartbeat sweep sends its job again. The thread stops when the block ends or the job is no
    longer this run's, and closes its own database connection.
    """
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_until,
        kwargs={
            "job": job,
            "interval": settings.JOB_HEARTBEAT_SECONDS if interval is None else interval,
            "stop": stop,
        },
        name=f"heartbeat-{job._meta.label_lower}-{job.pk}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=HEARTBEAT_JOIN_TIMEOUT_SECONDS)


def _beat_until(*, job: Job, interval: float, stop: threading.Event) -> None:
    mine = type(job).objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, celery_task_id=job.celery_task_id
    )
    try:
        while not stop.wait(interval):
            try:
                if not mine.update(heartbeat_at=timezone.now()):
                    return
            except DatabaseError:
                # One missed beat is harmless (the timeout spans several); keep trying.
                logger.warning("job heartbeat not saved", extra={"job_id": job.pk}, exc_info=True)
    finally:
        connections.close_all()


def job_progress(
    *,
    job: Job,
    stage: str,
    percent: int,
    fields: Mapping[str, object] | None = None,
) -> bool:
    """Record where a running job got to, and that its worker is alive (the heartbeat).

    ``False`` if the job is no longer running (e.g. the sweep failed it): the caller stops.
    """
    if not 0 <= percent <= FULL_PERCENT:
        raise ValueError(f"percent must be within 0..{FULL_PERCENT}, not {percent}")
    changes = {
        "stage": stage,
        "progress_percent": percent,
        "heartbeat_at": timezone.now(),
        **(fields or {}),
    }
    return _change(job, from_statuses=(JobStatus.RUNNING,), changes=changes)


def job_succeed(*, job: Job, fields: Mapping[str, object] | None = None) -> bool:
    """Finish a running job successfully, with the type's result ``fields``."""
    now = timezone.now()
    changes = {
        "status": JobStatus.SUCCEEDED,
        "progress_percent": FULL_PERCENT,
        "heartbeat_at": now,
        "finished_at": now,
        **(fields or {}),
    }
    return _change(job, from_statuses=(JobStatus.RUNNING,), changes=changes)


def job_fail(*, job: Job, message: str) -> bool:
    """Fail an unfinished job with a message its owner can read; a finished one stays as is."""
    changes = {"status": JobStatus.FAILED, "message": message, "finished_at": timezone.now()}
    return _change(job, from_statuses=UNFINISHED_STATUSES, changes=changes)


def job_fail_stale(*, model: type[Job], now: datetime.datetime | None = None) -> int:
    """Fail the lost jobs of one type, with its ``stale_message``; returns how many."""
    now = now or timezone.now()
    failed = job_list_stale(model=model, now=now).update(
        status=JobStatus.FAILED, message=model.stale_message, finished_at=now
    )
    if failed:
        logger.warning("failed stale jobs", extra={"job_model": model._meta.label, "count": failed})
    return failed


def job_fail_stale_all(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The periodic sweep: fail lost jobs of every job type, so none stays pending for ever.

    Returns how many jobs were failed, by model label (``"predictions.BatchJob"``).
    """
    now = now or timezone.now()
    return {model._meta.label: job_fail_stale(model=model, now=now) for model in job_models()}


def job_recover(*, job: Job, now: datetime.datetime | None = None) -> str | None:
    """Send a job whose worker died (its heartbeat stopped) again, or fail it after its last run.

    Returns ``"requeued"``, ``"failed"`` (also when the broker refuses the task) or ``None``
    when the job is no longer lost (it beat again, finished, or another sweep got there first):
    the move is one conditional UPDATE, and the task is sent by name (``job_enqueue``) under a
    new task id once it commits.
    """
    model = type(job)
    now = now or timezone.now()
    # Decided on the row as it was read: a claim or a beat since then makes it not lost.
    lost = job_list_heartbeat_lost(model=model, now=now).filter(
        pk=job.pk, celery_task_id=job.celery_task_id, attempts=job.attempts
    )
    extra = {"job_model": model._meta.label, "job_id": job.pk, "attempts": job.attempts}
    if not model.task_name or job.attempts >= settings.JOB_MAX_ATTEMPTS:
        failed = lost.update(
            status=JobStatus.FAILED, message=model.worker_lost_message, finished_at=now
        )
        if failed:
            logger.warning("job failed: its worker was lost on its last run", extra=extra)
        return "failed" if failed else None
    with transaction.atomic():
        if not lost.update(status=JobStatus.PENDING, stage="", progress_percent=0):
            return None
        job.status, job.stage, job.progress_percent = JobStatus.PENDING, "", 0
        enqueued = job_enqueue(
            job=job, task_name=model.task_name, refused_message=model.queue_refused_message
        )
    if enqueued.sent is False:
        return "failed"  # the broker refused: job_enqueue failed the job with the message
    logger.warning("job sent again: its worker was lost", extra=extra)
    return "requeued"


def job_recover_lost(*, model: type[Job], now: datetime.datetime | None = None) -> dict[str, int]:
    """Recover the running jobs of one type whose heartbeat stopped; counts by outcome."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    lost = job_list_heartbeat_lost(model=model, now=now).only("pk", "celery_task_id", "attempts")
    for job in lost.order_by("pk"):
        outcome = job_recover(job=job, now=now)
        if outcome is not None:
            counts[outcome] += 1
    return counts


def job_recover_lost_all(*, now: datetime.datetime | None = None) -> dict[str, dict[str, int]]:
    """The heartbeat sweep (Celery beat, every ``JOB_HEARTBEAT_SWEEP_SECONDS``), every job type.

    It is what brings back a job whose whole worker died (SIGKILL, a lost host). The broker
    would redeliver that worker's unacknowledged message too, but only after the Redis
    transport's ``visibility_timeout`` (``CELERY_BROKER_TRANSPORT_OPTIONS``), which must stay
    longer than any run (``CELERY_TASK_TIME_LIMIT``) or a live run would get a twin; this sweep
    sends the job again within ``JOB_HEARTBEAT_TIMEOUT_SECONDS`` plus one sweep interval, under
    a new task id, so that late copy finds nothing to claim (``job_start``).

    Returns the counts by model label (``"predictions.BatchJob"``).
    """
    now = now or timezone.now()
    return {model._meta.label: job_recover_lost(model=model, now=now) for model in job_models()}


def _change(job: Job, *, from_statuses: tuple[str, ...], changes: Mapping[str, object]) -> bool:
    changed = (
        type(job)
        .objects.filter(pk=job.pk, status__in=from_statuses, celery_task_id=job.celery_task_id)
        .update(**changes)
    )
    if changed:
        for name, value in changes.items():
            setattr(job, name, value)
    return bool(changed)
