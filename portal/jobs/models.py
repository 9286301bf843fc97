"""The state every background job shares, as an abstract model (saleor's ``Job``)."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

FULL_PERCENT = 100
# A job is taken as lost after this many task time limits: no worker can still be running it.
STALE_AFTER_TASK_TIME_LIMITS = 2
STAGE_MAX_LENGTH = 32
CELERY_TASK_ID_MAX_LENGTH = 255


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


UNFINISHED_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)


class Job(models.Model):
    """A unit of background work and where it got to; concrete job types add their payload.

    Every concrete subclass is swept (``portal.jobs.selectors.job_models``) twice over: a running
    job whose heartbeat stopped lost its worker and is sent again as ``task_name`` (up to
    ``JOB_MAX_ATTEMPTS`` runs, then failed with ``worker_lost_message``), and a job that waited
    or ran past ``stale_after`` is failed with ``stale_message``. State changes go through
    ``portal.jobs.services``, which only moves a job forward (a finished job stays finished).
    """

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    stage = models.CharField(
        max_length=STAGE_MAX_LENGTH, blank=True, help_text="What the running job is doing now."
    )
    progress_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(FULL_PERCENT)]
    )
    message = models.TextField(blank=True, help_text="For the owner: why the job failed.")
    celery_task_id = models.CharField(max_length=CELERY_TASK_ID_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker running the job."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started by a worker, at most JOB_MAX_ATTEMPTS."
    )

    # The Celery task (by name) that runs a job of this type with ``job_id``; the heartbeat sweep
    # sends it again for a job whose worker died. Empty: such a job is failed instead.
    task_name: ClassVar[str] = ""
    worker_lost_message: ClassVar[str] = (
        "This job stopped without finishing: the background worker running it was lost (e.g. "
        "restarted or out of memory). Please start it again, or contact support if it keeps "
        "failing."
    )
    # When the broker refuses the job's task (``services.job_enqueue``).
    queue_refused_message: ClassVar[str] = (
        "This job could not be queued: the background workers are unreachable. Please start it "
        "again in a few minutes."
    )
    stale_message: ClassVar[str] = (
        "This job stopped without finishing (its task was lost). Please start it again."
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk} {self.status}"

    @classmethod
    def stale_after(cls) -> datetime.timedelta:
        """How long a job may wait (pending) or run before the sweep fails it as lost."""
        return datetime.timedelta(
            seconds=STALE_AFTER_TASK_TIME_LIMITS * settings.CELERY_TASK_TIME_LIMIT
        )
