"""Reads over every job type: which models are jobs, and which of their rows are lost."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from portal.jobs.models import Job, JobStatus


def job_models() -> list[type[Job]]:
    """Every installed concrete job model: subclassing ``Job`` is the whole registration."""
    return [
        model for model in apps.get_models() if issubclass(model, Job) and not model._meta.proxy
    ]


def job_list_stale(*, model: type[Job], now: datetime.datetime) -> QuerySet[Job]:
    """Jobs of ``model`` that waited (pending) or ran longer than the type's ``stale_after``.

    By then no worker can still be running them (the limit is longer than the task time
    limit): their task was lost, e.g. to a broker outage or a purged queue. A job sent again
    after its worker died waits from its last heartbeat, not from its creation.
    """
    cutoff = now - model.stale_after()
    return model.objects.alias(waiting_since=Coalesce("heartbeat_at", "created_at")).filter(
        Q(status=JobStatus.PENDING, waiting_since__lt=cutoff)
        | Q(status=JobStatus.RUNNING, started_at__lt=cutoff)
    )


def job_list_heartbeat_lost(*, model: type[Job], now: datetime.datetime) -> QuerySet[Job]:
    """Running jobs of ``model`` without a heartbeat for ``JOB_HEARTBEAT_TIMEOUT_SECONDS``.

    A live worker beats every ``JOB_HEARTBEAT_SECONDS`` (``services.job_heartbeat``), so these
    lost theirs: it was killed, or its host went away.
    """
    cutoff = now - datetime.timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    return model.objects.alias(
        last_beat=Coalesce("heartbeat_at", "started_at", "created_at")
    ).filter(status=JobStatus.RUNNING, last_beat__lt=cutoff)
