"""State changes of background jobs, for any concrete ``Job`` model.

Each change is one conditional UPDATE, so a redelivered task, a late worker and the sweep can
race safely: a job only moves forward (pending → running → succeeded / failed), and a finished
job is never changed again. The instance passed in is updated to match the row.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping

from celery.utils import uuid
from django.utils import timezone

from portal.jobs.enqueue import Enqueued, enqueue_on_commit
from portal.jobs.models import FULL_PERCENT, UNFINISHED_STATUSES, Job, JobStatus
from portal.jobs.selectors import job_list_stale, job_models

logger = logging.getLogger(__name__)


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
) -> bool:
    """Claim a job for the worker about to run it; ``False`` if there is nothing to run.

    A pending job is claimed, and so is a running one (its task was redelivered after a worker
    died: the run starts over). A finished or deleted job is not. ``reset`` sets the type's own
    progress fields back for the fresh run.
    """
    now = timezone.now()
    claimed = model.objects.filter(pk=job_id, status__in=UNFINISHED_STATUSES).update(
        status=JobStatus.RUNNING,
        stage=stage,
        progress_percent=0,
        message="",
        started_at=now,
        heartbeat_at=now,
        **(reset or {}),
    )
    return bool(claimed)


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


def _change(job: Job, *, from_statuses: tuple[str, ...], changes: Mapping[str, object]) -> bool:
    changed = type(job).objects.filter(pk=job.pk, status__in=from_statuses).update(**changes)
    if changed:
        for name, value in changes.items():
            setattr(job, name, value)
    return bool(changed)
