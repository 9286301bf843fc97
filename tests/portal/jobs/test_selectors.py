"""Which models are jobs, and which of their rows are stale."""

import datetime

import pytest
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.selectors import job_list_heartbeat_lost, job_list_stale, job_models
from predictions.models import BatchJob


@pytest.mark.django_db
def test_job_models_are_the_installed_concrete_job_types():
    # when
    models = job_models()

    # then the batch job is one, and only concrete subclasses of Job are listed
    assert BatchJob in models
    assert Job not in models
    assert all(issubclass(model, Job) and not model._meta.abstract for model in models)


def test_a_new_job_type_is_registered_by_subclassing_job(report_job_model):
    assert report_job_model in job_models()


@pytest.mark.django_db
def test_job_list_stale_is_pending_since_creation_or_running_since_start(make_batch_job):
    # given one job in each state, all created and started long ago
    long_ago = timezone.now() - BatchJob.stale_after() - datetime.timedelta(minutes=1)
    jobs = {status: make_batch_job(status=status) for status in JobStatus.values}
    BatchJob.objects.update(created_at=long_ago, started_at=long_ago)
    # and a running job created long ago but started just now (it waited in the queue)
    recently_started = make_batch_job(status=JobStatus.RUNNING)
    BatchJob.objects.filter(pk=recently_started.pk).update(
        created_at=long_ago, started_at=timezone.now()
    )

    # when
    stale = set(job_list_stale(model=BatchJob, now=timezone.now()))

    # then
    assert stale == {jobs[JobStatus.PENDING], jobs[JobStatus.RUNNING]}


def test_a_job_type_without_its_own_limit_is_stale_after_two_task_time_limits(settings):
    # given a task time limit of 10 minutes
    settings.CELERY_TASK_TIME_LIMIT = 600

    # then a job type that does not set its own limit takes 20 minutes
    assert Job.stale_after() == datetime.timedelta(minutes=20)


@pytest.mark.django_db
def test_a_job_sent_again_after_its_worker_died_waits_from_its_last_heartbeat(make_batch_job):
    # given a job created long ago that ran until a minute ago, then was sent again
    long_ago = timezone.now() - BatchJob.stale_after() - datetime.timedelta(minutes=1)
    job = make_batch_job(status=JobStatus.PENDING, attempts=1)
    BatchJob.objects.filter(pk=job.pk).update(
        created_at=long_ago,
        started_at=long_ago,
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=1),
    )

    # then it is not taken for a lost message: it has only waited a minute
    assert list(job_list_stale(model=BatchJob, now=timezone.now())) == []


@pytest.mark.django_db
def test_job_list_heartbeat_lost_is_running_jobs_silent_past_the_timeout(make_batch_job, settings):
    # given a timeout of 3 minutes, and jobs in every state silent for 4
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 180
    now = timezone.now()
    silent = now - datetime.timedelta(minutes=4)
    jobs = {status: make_batch_job(status=status) for status in JobStatus.values}
    BatchJob.objects.update(created_at=silent, started_at=silent, heartbeat_at=silent)
    # and a running job that beat 2 minutes ago, and one that never beat (started 4 minutes ago)
    beating = make_batch_job(status=JobStatus.RUNNING)
    BatchJob.objects.filter(pk=beating.pk).update(
        started_at=silent, heartbeat_at=now - datetime.timedelta(minutes=2)
    )
    never_beat = make_batch_job(status=JobStatus.RUNNING)
    BatchJob.objects.filter(pk=never_beat.pk).update(started_at=silent, heartbeat_at=None)

    # when
    lost = set(job_list_heartbeat_lost(model=BatchJob, now=now))

    # then
    assert lost == {jobs[JobStatus.RUNNING], never_beat}
