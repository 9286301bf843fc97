"""The periodic sweeps: scheduled in settings, known to the real worker, sweeping every type."""

import datetime
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.utils import timezone

from portal.celery import app as celery_app
from portal.celery import registered_task
from predictions.models import BatchJob, JobStatus
from tests.processes import REPO_ROOT

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


RECOVER_ENTRY = "recover-lost-jobs"


def test_the_heartbeat_sweep_is_scheduled_more_often_than_the_heartbeat_timeout():
    # given the beat schedule from settings
    entry = settings.CELERY_BEAT_SCHEDULE[RECOVER_ENTRY]

    # then it names a task a tasks module defines, and runs often enough to matter
    assert registered_task(entry["task"]).name == entry["task"]
    assert 0 < entry["schedule"] <= settings.JOB_HEARTBEAT_TIMEOUT_SECONDS
    assert settings.JOB_HEARTBEAT_SECONDS * 2 <= settings.JOB_HEARTBEAT_TIMEOUT_SECONDS


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_runs_the_scheduled_heartbeat_sweep(real_celery, user):
    # given a running batch job, silent for an hour, that has had all its runs
    job = BatchJob.objects.create(
        user=user,
        file_name="x.csv",
        input_csv=b"a",
        status=JobStatus.RUNNING,
        attempts=settings.JOB_MAX_ATTEMPTS,
    )
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    BatchJob.objects.filter(pk=job.pk).update(started_at=long_ago, heartbeat_at=long_ago)

    # when beat's message reaches the worker
    task_name = settings.CELERY_BEAT_SCHEDULE[RECOVER_ENTRY]["task"]
    counts = celery_app.send_task(task_name).get(timeout=RESULT_WAIT_SECONDS)

    # then the worker swept every job type and failed the job with its message
    assert counts["predictions.BatchJob"] == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, BatchJob.worker_lost_message)


def test_a_heartbeat_timeout_shorter_than_two_beats_is_a_start_up_error():
    # given settings where one late beat would make a live job look lost
    env = {
        **os.environ,
        "SECRET_KEY": "x" * 50,
        "JOB_HEARTBEAT_SECONDS": "100",
        "JOB_HEARTBEAT_TIMEOUT_SECONDS": "150",
    }

    # when the settings load
    loaded = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    # then the process refuses to start, saying what to fix
    assert loaded.returncode != 0
    assert "JOB_HEARTBEAT_TIMEOUT_SECONDS at least twice" in loaded.stderr
