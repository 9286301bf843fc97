"""Job transitions on a real row: start, progress with a heartbeat, succeed, fail, the sweep."""

import datetime

import pytest
from django.utils import timezone

from portal.jobs import services
from portal.jobs.models import JobStatus
from predictions.models import BatchJob
from tests.portal.jobs.conftest import REPORT_STALE_SECONDS

LONG_AGO = datetime.timedelta(hours=1)


def _row(job) -> dict:
    return type(job).objects.values().get(pk=job.pk)


@pytest.mark.django_db
def test_job_start_claims_a_pending_job(make_batch_job):
    # given a pending job with leftovers of an earlier attempt
    job = make_batch_job(message="old", rows_done=7, progress_percent=30)
    before = timezone.now()

    # when
    claimed = services.job_start(
        model=BatchJob, job_id=job.pk, stage="predicting", reset={"rows_done": 0}
    )

    # then it is running from scratch, and its worker has just shown a sign of life
    assert claimed is True
    row = _row(job)
    assert row["status"] == JobStatus.RUNNING
    assert (row["stage"], row["progress_percent"], row["message"], row["rows_done"]) == (
        "predicting",
        0,
        "",
        0,
    )
    assert row["started_at"] >= before
    assert row["heartbeat_at"] == row["started_at"]


@pytest.mark.django_db
def test_job_start_claims_a_running_job_again_when_its_task_is_redelivered(make_batch_job):
    # given a job whose worker died mid-run
    job = make_batch_job(status=JobStatus.RUNNING, progress_percent=40, rows_done=8)

    # when
    claimed = services.job_start(model=BatchJob, job_id=job.pk, reset={"rows_done": 0})

    # then the run starts over
    assert claimed is True
    assert (_row(job)["progress_percent"], _row(job)["rows_done"]) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_a_finished_job_is_not_claimed(make_batch_job, status):
    # given
    job = make_batch_job(status=status, message="done", progress_percent=100)

    # when
    claimed = services.job_start(model=BatchJob, job_id=job.pk)

    # then nothing about it changes
    assert claimed is False
    row = _row(job)
    assert (row["status"], row["message"], row["progress_percent"]) == (status, "done", 100)
    assert row["started_at"] is None


@pytest.mark.django_db
def test_job_start_of_a_missing_job_is_nothing_to_do():
    assert services.job_start(model=BatchJob, job_id=987_654) is False


@pytest.mark.django_db
def test_job_progress_records_stage_percent_fields_and_a_fresh_heartbeat(make_batch_job):
    # given a running job whose last heartbeat is an hour old
    job = make_batch_job(status=JobStatus.RUNNING)
    old_beat = timezone.now() - LONG_AGO
    BatchJob.objects.filter(pk=job.pk).update(heartbeat_at=old_beat)

    # when
    still_running = services.job_progress(
        job=job, stage="predicting", percent=40, fields={"rows_done": 4}
    )

    # then the row and the instance agree on the new progress
    assert still_running is True
    row = _row(job)
    assert (row["stage"], row["progress_percent"], row["rows_done"]) == ("predicting", 40, 4)
    assert row["heartbeat_at"] > old_beat + LONG_AGO / 2
    assert (job.progress_percent, job.rows_done, job.heartbeat_at) == (
        40,
        4,
        row["heartbeat_at"],
    )


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.FAILED, JobStatus.SUCCEEDED])
def test_progress_of_a_job_that_is_not_running_changes_nothing(make_batch_job, status):
    # given e.g. a job the sweep already failed while its worker was still busy
    job = make_batch_job(status=status)

    # when
    still_running = services.job_progress(job=job, stage="predicting", percent=50)

    # then the worker is told to stop, and the job stays as it was
    assert still_running is False
    row = _row(job)
    assert (row["status"], row["progress_percent"], row["heartbeat_at"]) == (status, 0, None)


@pytest.mark.django_db
@pytest.mark.parametrize("percent", [-1, 101])
def test_progress_outside_0_to_100_is_a_programming_error(make_batch_job, percent):
    job = make_batch_job(status=JobStatus.RUNNING)
    with pytest.raises(ValueError, match="percent"):
        services.job_progress(job=job, stage="predicting", percent=percent)
    assert _row(job)["progress_percent"] == 0


@pytest.mark.django_db
def test_job_succeed_finishes_a_running_job_at_100_percent(make_batch_job):
    # given
    job = make_batch_job(status=JobStatus.RUNNING, progress_percent=80)

    # when
    succeeded = services.job_succeed(job=job, fields={"predicted_count": 5})

    # then
    assert succeeded is True
    row = _row(job)
    assert (row["status"], row["progress_percent"], row["predicted_count"]) == (
        JobStatus.SUCCEEDED,
        100,
        5,
    )
    assert row["finished_at"] is not None
    assert row["heartbeat_at"] == row["finished_at"]
    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_failed_job_cannot_succeed_later(make_batch_job):
    job = make_batch_job(status=JobStatus.FAILED, message="lost")
    assert services.job_succeed(job=job) is False
    assert (_row(job)["status"], _row(job)["message"]) == (JobStatus.FAILED, "lost")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.RUNNING])
def test_job_fail_records_a_message_for_the_owner(make_batch_job, status):
    # given
    job = make_batch_job(status=status)

    # when
    failed = services.job_fail(job=job, message="The file is not CSV.")

    # then
    assert failed is True
    row = _row(job)
    assert (row["status"], row["message"]) == (JobStatus.FAILED, "The file is not CSV.")
    assert row["finished_at"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_a_finished_job_keeps_its_outcome_when_failed_again(make_batch_job, status):
    job = make_batch_job(status=status, message="first")
    assert services.job_fail(job=job, message="second") is False
    assert (_row(job)["status"], _row(job)["message"]) == (status, "first")


def _aged(model, *, status: str, seconds: float):
    job = model.objects.create(status=status)
    moment = timezone.now() - datetime.timedelta(seconds=seconds)
    model.objects.filter(pk=job.pk).update(created_at=moment, started_at=moment)
    return job


def test_the_sweep_fails_stale_jobs_of_a_job_type_it_has_never_heard_of(report_job_model):
    # given a second job type (not in the code base) with lost and live jobs
    lost_pending = _aged(
        report_job_model, status=JobStatus.PENDING, seconds=REPORT_STALE_SECONDS * 2
    )
    lost_running = _aged(
        report_job_model, status=JobStatus.RUNNING, seconds=REPORT_STALE_SECONDS * 2
    )
    live = _aged(report_job_model, status=JobStatus.RUNNING, seconds=REPORT_STALE_SECONDS / 2)

    # when the periodic sweep runs
    failed = services.job_fail_stale_all()

    # then it found the type by itself and used the type's own limit and message
    assert failed[report_job_model._meta.label] == 2
    for job in (lost_pending, lost_running):
        row = _row(job)
        assert (row["status"], row["message"]) == (JobStatus.FAILED, report_job_model.stale_message)
        assert row["finished_at"] is not None
    assert _row(live)["status"] == JobStatus.RUNNING


def test_each_job_type_is_swept_with_its_own_limit(report_job_model, make_batch_job):
    # given a batch job and a report job of the same age, past the report limit only
    age = REPORT_STALE_SECONDS * 2
    report = _aged(report_job_model, status=JobStatus.PENDING, seconds=age)
    batch = make_batch_job()
    BatchJob.objects.filter(pk=batch.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=age)
    )
    assert BatchJob.stale_after().total_seconds() > age

    # when
    failed = services.job_fail_stale_all()

    # then
    assert failed == {"predictions.BatchJob": 0, report_job_model._meta.label: 1}
    assert _row(report)["status"] == JobStatus.FAILED
    assert _row(batch)["status"] == JobStatus.PENDING


@pytest.mark.django_db
def test_job_fail_stale_sweeps_one_type_at_a_given_moment(make_batch_job):
    # given a job created now, and a sweep looking from past its stale limit
    job = make_batch_job()
    later = timezone.now() + BatchJob.stale_after() + datetime.timedelta(seconds=1)

    # when
    failed = services.job_fail_stale(model=BatchJob, now=later)

    # then
    assert failed == 1
    row = _row(job)
    assert (row["status"], row["finished_at"]) == (JobStatus.FAILED, later)
