"""Reads over every job type: which models are jobs, and which of their rows are lost."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db.models import Q, QuerySet

from portal.jobs.models import Job, JobStatus


def job_models() -> list[type[Job]]:
    """Every installed concrete job model: subclassing ``Job`` is the whole registration."""
    return [
        model for model in apps.get_models() if issubclass(model, Job) and not model._meta.proxy
    ]


def job_list_stale(*, model: type[Job], now: datetime.datetime) -> QuerySet[Job]:
    """Jobs of ``model`` that waited (pending) or ran longer than the type's ``stale_after``.

    By then no worker can still be running them (the limit is longer than the task time
    limit): their task was lost, e.g. to a broker outage or a purged queue.
    """
    cutoff = now - model.stale_after()
    return model.objects.filter(
        Q(status=JobStatus.PENDING, created_at__lt=cutoff)
        | Q(status=JobStatus.RUNNING, started_at__lt=cutoff)
    )
