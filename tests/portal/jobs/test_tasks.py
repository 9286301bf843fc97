"""The periodic sweep: scheduled in settings, known to the real worker, sweeping every type."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from portal.celery import app as celery_app
from portal.celery import registered_task
from predictions.models import BatchJob, JobStatus

RESULT_WAIT_SECONDS = 60
SWEEP_ENTRY = "fail-stale-jobs"


def test_the_sweep_is_scheduled_under_a_registered_task():
    # given the beat schedule from settings
    entry = settings.CELERY_BEAT_SCHEDULE[SWEEP_ENTRY]

    # then it names a task that a tasks module defines
    assert registered_task(entry["task"]).name == entry["task"]
    assert entry["schedule"] > 0


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_runs_the_scheduled_sweep(real_celery, user):
    # given a batch job lost long ago
    job = BatchJob.objects.create(user=user, file_name="x.csv", input_csv=b"a")
    long_ago = timezone.now() - BatchJob.stale_after() - datetime.timedelta(minutes=1)
    BatchJob.objects.filter(pk=job.pk).update(created_at=long_ago)

    # when beat's message (the task name in settings) reaches the worker
    task_name = settings.CELERY_BEAT_SCHEDULE[SWEEP_ENTRY]["task"]
    failed = celery_app.send_task(task_name).get(timeout=RESULT_WAIT_SECONDS)

    # then the worker swept every job type, and failed the lost job
    assert failed["predictions.BatchJob"] == 1
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, BatchJob.stale_message)
