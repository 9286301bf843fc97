"""Lost batch jobs are failed with a message by the periodic sweep, never left pending."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from portal.celery import app
from predictions.models import BatchJob, JobStatus
from predictions.services import JOB_STALE_MESSAGE, batch_job_fail_stale
from predictions.tasks import batch_job_fail_stale_task

pytestmark = pytest.mark.django_db


def _job(user, *, status: str, age_seconds: float) -> BatchJob:
    job = BatchJob.objects.create(user=user, status=status, file_name="x.csv", input_csv=b"a")
    moment = timezone.now() - datetime.timedelta(seconds=age_seconds)
    BatchJob.objects.filter(pk=job.pk).update(created_at=moment, started_at=moment)
    return job


def test_sweep_fails_only_jobs_older_than_the_stale_limit(user):
    # given old and fresh jobs in every state
    old = settings.BATCH_STALE_AFTER_SECONDS + 60
    old_pending = _job(user, status=JobStatus.PENDING, age_seconds=old)
    old_running = _job(user, status=JobStatus.RUNNING, age_seconds=old)
    old_done = _job(user, status=JobStatus.SUCCEEDED, age_seconds=old)
    fresh_pending = _job(user, status=JobStatus.PENDING, age_seconds=60)

    # when the sweep runs
    failed = batch_job_fail_stale()

    # then only the lost ones are failed, with a message, and their file is kept
    assert failed == 2
    for job in (old_pending, old_running):
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
        assert job.message == JOB_STALE_MESSAGE
        assert bytes(job.input_csv) == b"a"
    old_done.refresh_from_db()
    fresh_pending.refresh_from_db()
    assert old_done.status == JobStatus.SUCCEEDED
    assert fresh_pending.status == JobStatus.PENDING


def test_the_sweep_is_scheduled_and_registered(user):
    # given the beat schedule from settings
    entry = settings.CELERY_BEAT_SCHEDULE["fail-stale-batch-jobs"]

    # then it names a task the worker knows, and running it sweeps
    assert entry["task"] in app.tasks
    _job(user, status=JobStatus.PENDING, age_seconds=settings.BATCH_STALE_AFTER_SECONDS + 60)
    assert batch_job_fail_stale_task.delay().get(timeout=10) == 1
