"""Lost batch jobs are failed with a message by the periodic sweep, never left pending; one the
heartbeat sweep sent again waits for its next run."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from portal.jobs.services import job_fail_stale_all, job_recover_lost_all
from predictions.models import BatchJob, JobStatus

pytestmark = pytest.mark.django_db


def _job(user, *, status: str, age_seconds: float) -> BatchJob:
    job = BatchJob.objects.create(user=user, status=status, file_name="x.csv", input_csv=b"a")
    moment = timezone.now() - datetime.timedelta(seconds=age_seconds)
    BatchJob.objects.filter(pk=job.pk).update(created_at=moment, started_at=moment)
    return job


def test_sweep_fails_only_batch_jobs_older_than_the_batch_stale_limit(user):
    # given old and fresh jobs in every state, around BATCH_STALE_AFTER_SECONDS
    old = settings.BATCH_STALE_AFTER_SECONDS + 60
    old_pending = _job(user, status=JobStatus.PENDING, age_seconds=old)
    old_running = _job(user, status=JobStatus.RUNNING, age_seconds=old)
    old_done = _job(user, status=JobStatus.SUCCEEDED, age_seconds=old)
    fresh_pending = _job(user, status=JobStatus.PENDING, age_seconds=60)
    fresh_running = _job(user, status=JobStatus.RUNNING, age_seconds=60)

    # when the sweep over every job type runs
    failed = job_fail_stale_all()

    # then only the lost ones are failed, with the batch message, and their file is kept
    assert failed["predictions.BatchJob"] == 2
    for job in (old_pending, old_running):
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
        assert job.message == BatchJob.stale_message
        assert "Your file is kept" in job.message
        assert job.finished_at is not None
        assert bytes(job.input_csv) == b"a"
    for job, status in (
        (old_done, JobStatus.SUCCEEDED),
        (fresh_pending, JobStatus.PENDING),
        (fresh_running, JobStatus.RUNNING),
    ):
        job.refresh_from_db()
        assert job.status == status


def test_the_batch_stale_limit_comes_from_settings(settings, user):
    # given a job two minutes old, and a batch limit of one minute
    settings.BATCH_STALE_AFTER_SECONDS = 60
    job = _job(user, status=JobStatus.PENDING, age_seconds=120)

    # when
    failed = job_fail_stale_all()

    # then
    assert failed["predictions.BatchJob"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_job_the_heartbeat_sweep_sent_again_is_not_failed_as_stale(
    user, django_capture_on_commit_callbacks
):
    # given a batch job created past the stale limit whose worker died a few minutes ago
    job = _job(user, status=JobStatus.RUNNING, age_seconds=settings.BATCH_STALE_AFTER_SECONDS + 60)
    silent_since = timezone.now() - datetime.timedelta(
        seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS * 2
    )
    BatchJob.objects.filter(pk=job.pk).update(
        started_at=silent_since, heartbeat_at=silent_since, attempts=1
    )

    # when the heartbeat sweep sends it again (its task held back), then the stale sweep runs
    with django_capture_on_commit_callbacks(execute=False) as held_back:
        recovered = job_recover_lost_all()
    failed = job_fail_stale_all()

    # then it waits for its next run instead of failing as a lost message
    assert recovered["predictions.BatchJob"] == {"requeued": 1, "failed": 0}
    assert failed["predictions.BatchJob"] == 0
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert len(held_back) == 1
