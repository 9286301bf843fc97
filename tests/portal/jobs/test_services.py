"""Job transitions on a real row: start, progress with a heartbeat, succeed, fail, the sweep."""

import datetime
import threading
import time

import pytest
from django.conf import settings
from django.utils import timezone

from portal.jobs import services
from portal.jobs.models import JobStatus
from predictions.models import BatchJob
from tests.portal.jobs.conftest import REPORT_STALE_SECONDS

LONG_AGO = datetime.timedelta(hours=1)


def _long_ago() -> datetime.datetime:
    return timezone.now() - LONG_AGO


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
    assert failed == {
        "predictions.BatchJob": 0,
        "mlmodel.TrainingRun": 0,
        report_job_model._meta.label: 1,
    }
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


# --- attempts and the task id a run was claimed under -------------------------------------------


@pytest.mark.django_db
def test_each_claim_counts_one_attempt_until_the_last(make_batch_job, settings):
    # given a job that may run twice
    settings.JOB_MAX_ATTEMPTS = 2
    job = make_batch_job()

    # when its task is delivered three times (its worker dying after each claim)
    claims = [services.job_start(model=BatchJob, job_id=job.pk) for _ in range(3)]

    # then the third delivery runs nothing (the heartbeat sweep fails the job)
    assert claims == [True, True, False]
    assert (_row(job)["attempts"], _row(job)["status"]) == (2, JobStatus.RUNNING)


@pytest.mark.django_db
def test_only_the_task_a_job_was_last_sent_as_may_claim_it(make_batch_job):
    # given a job sent again under a new task id after its first worker died
    job = make_batch_job(status=JobStatus.PENDING, celery_task_id="second", attempts=1)

    # when the broker redelivers the first message late, then the second one arrives
    late_copy = services.job_start(model=BatchJob, job_id=job.pk, task_id="first")
    current = services.job_start(model=BatchJob, job_id=job.pk, task_id="second")

    # then only the second runs it
    assert (late_copy, current) == (False, True)
    assert (_row(job)["attempts"], _row(job)["celery_task_id"]) == (2, "second")


@pytest.mark.django_db
def test_a_job_without_a_stored_task_id_is_claimed_and_takes_the_task_id(make_batch_job):
    job = make_batch_job()
    assert services.job_start(model=BatchJob, job_id=job.pk, task_id="t-1") is True
    assert _row(job)["celery_task_id"] == "t-1"


@pytest.mark.django_db
def test_a_run_whose_job_was_sent_again_changes_nothing(make_batch_job):
    # given a run holding the job, which the sweep then sent again under another task id
    job = make_batch_job(celery_task_id="first")
    services.job_start(model=BatchJob, job_id=job.pk, task_id="first")
    run = BatchJob.objects.get(pk=job.pk)
    BatchJob.objects.filter(pk=job.pk).update(celery_task_id="second")

    # when the first run comes back and reports progress, success or failure
    outcomes = (
        services.job_progress(job=run, stage="predicting", percent=50),
        services.job_succeed(job=run),
        services.job_fail(job=run, message="late"),
    )

    # then none of it lands: the job belongs to its current run
    assert outcomes == (False, False, False)
    row = _row(job)
    assert (row["status"], row["progress_percent"], row["message"]) == (JobStatus.RUNNING, 0, "")


# --- the heartbeat thread -------------------------------------------------------------------------

BEAT_SECONDS = 0.05
BEAT_WAIT_SECONDS = 10


def _wait_for(condition) -> bool:
    deadline = time.monotonic() + BEAT_WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(BEAT_SECONDS)
    return True


def _heartbeat_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("heartbeat-")]


@pytest.mark.django_db(transaction=True)
def test_a_running_job_beats_from_a_thread_during_one_long_step(make_batch_job):
    # given a claimed job whose last beat is an hour old
    job = make_batch_job(celery_task_id="t-1")
    services.job_start(model=BatchJob, job_id=job.pk, task_id="t-1")
    BatchJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    job.refresh_from_db()

    # when one step runs longer than the heartbeat interval, without reporting progress
    with services.job_heartbeat(job=job, interval=BEAT_SECONDS):
        beat = _wait_for(lambda: _row(job)["heartbeat_at"] > timezone.now() - LONG_AGO / 2)

    # then the job beat meanwhile, and the thread is gone with the step
    assert beat
    assert _heartbeat_threads() == []
    last = _row(job)["heartbeat_at"]
    time.sleep(BEAT_SECONDS * 4)
    assert _row(job)["heartbeat_at"] == last


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_stops_once_the_job_is_no_longer_this_runs(make_batch_job):
    # given a beating run
    job = make_batch_job(celery_task_id="t-1")
    services.job_start(model=BatchJob, job_id=job.pk, task_id="t-1")
    job.refresh_from_db()
    with services.job_heartbeat(job=job, interval=BEAT_SECONDS):
        # when the sweep sends the job again (another task id)
        BatchJob.objects.filter(pk=job.pk).update(celery_task_id="t-2", heartbeat_at=None)

        # then the old run's thread stops beating for it
        assert _wait_for(lambda: _heartbeat_threads() == [])
    assert _row(job)["heartbeat_at"] is None


# --- the heartbeat sweep: send again, or fail --------------------------------------------------


def _lost(make_job, **fields):
    """A running job whose worker stopped beating well past the timeout."""
    job = make_job(status=JobStatus.RUNNING, celery_task_id="first", attempts=1, **fields)
    silent_since = timezone.now() - datetime.timedelta(
        seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS * 2
    )
    type(job).objects.filter(pk=job.pk).update(
        started_at=silent_since, heartbeat_at=silent_since, stage="predicting", progress_percent=40
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_job_whose_heartbeat_stopped_is_sent_again_by_name(
    make_batch_job, sent_tasks, django_capture_on_commit_callbacks
):
    # given a running job whose worker died
    job = _lost(make_batch_job)

    # when the heartbeat sweep runs, and its transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.job_recover_lost_all()

    # then the job waits again, under a new task id, and its task was sent by name
    assert counts["predictions.BatchJob"] == {"requeued": 1, "failed": 0}
    row = _row(job)
    assert (row["status"], row["stage"], row["progress_percent"], row["attempts"]) == (
        JobStatus.PENDING,
        "",
        0,
        1,
    )
    assert row["celery_task_id"] not in ("", "first")
    assert [(task.name, task.kwargs, task.task_id) for task in sent_tasks] == [
        (BatchJob.task_name, {"job_id": job.pk}, row["celery_task_id"])
    ]
    # and the new message starts attempt 2, while a late copy of the first does nothing
    assert services.job_start(model=BatchJob, job_id=job.pk, task_id="first") is False
    assert services.job_start(model=BatchJob, job_id=job.pk, task_id=row["celery_task_id"])
    assert _row(job)["attempts"] == 2


@pytest.mark.django_db
def test_after_its_last_attempt_a_lost_job_fails_with_a_message(
    make_batch_job, sent_tasks, settings
):
    # given a lost job that has had all its runs
    settings.JOB_MAX_ATTEMPTS = 3
    job = _lost(make_batch_job)
    BatchJob.objects.filter(pk=job.pk).update(attempts=3)

    # when
    counts = services.job_recover_lost_all()

    # then it is failed with a message its owner can read, and nothing is sent
    assert counts["predictions.BatchJob"] == {"requeued": 0, "failed": 1}
    row = _row(job)
    assert (row["status"], row["message"]) == (JobStatus.FAILED, BatchJob.worker_lost_message)
    assert "Your file is kept" in row["message"]
    assert row["finished_at"] is not None
    assert sent_tasks == []


@pytest.mark.django_db
def test_a_job_that_still_beats_is_left_alone(make_batch_job, sent_tasks, settings):
    # given a running job that beat within the timeout
    job = make_batch_job(status=JobStatus.RUNNING, celery_task_id="first", attempts=1)
    recently = timezone.now() - datetime.timedelta(
        seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS / 2
    )
    BatchJob.objects.filter(pk=job.pk).update(started_at=_long_ago(), heartbeat_at=recently)

    # when
    counts = services.job_recover_lost_all()

    # then
    assert counts["predictions.BatchJob"] == {"requeued": 0, "failed": 0}
    assert (_row(job)["status"], _row(job)["celery_task_id"]) == (JobStatus.RUNNING, "first")
    assert sent_tasks == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_jobs_that_are_not_running_are_never_touched_by_the_heartbeat_sweep(
    make_batch_job, sent_tasks, status
):
    # given a job in another state, silent for an hour
    job = make_batch_job(status=status, message="kept", celery_task_id="first")
    BatchJob.objects.filter(pk=job.pk).update(created_at=_long_ago(), heartbeat_at=_long_ago())
    before = _row(job)

    # when
    services.job_recover_lost_all()

    # then
    assert _row(job) == before
    assert sent_tasks == []


@pytest.mark.django_db
def test_sending_a_lost_job_again_is_idempotent(
    make_batch_job, sent_tasks, django_capture_on_commit_callbacks
):
    # given a lost job, seen by two sweeps at once (both read it before either moved it)
    job = _lost(make_batch_job)
    seen_by_first, seen_by_second = BatchJob.objects.get(pk=job.pk), BatchJob.objects.get(pk=job.pk)

    # when both act on what they saw, and a third sweep runs afterwards
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = (
            services.job_recover(job=seen_by_first),
            services.job_recover(job=seen_by_second),
        )
        counts = services.job_recover_lost_all()

    # then the job was sent again exactly once
    assert outcomes == ("requeued", None)
    assert counts["predictions.BatchJob"] == {"requeued": 0, "failed": 0}
    assert len(sent_tasks) == 1
    assert _row(job)["celery_task_id"] == sent_tasks[0].task_id


@pytest.mark.django_db(transaction=True)
def test_a_lost_job_the_broker_refuses_to_take_again_fails_with_a_message(
    make_batch_job, unreachable_broker
):
    # given a lost job, and a broker that refuses messages
    job = _lost(make_batch_job)

    # when the sweep's transaction commits
    outcome = services.job_recover(job=job)

    # then the owner reads why
    assert outcome == "failed"
    row = _row(job)
    assert (row["status"], row["message"]) == (JobStatus.FAILED, BatchJob.queue_refused_message)


def test_the_heartbeat_sweep_covers_every_job_type(
    report_job_model, make_batch_job, sent_tasks, monkeypatch
):
    # given lost jobs of two types, one of which names its task and one that cannot be re-run
    lost_batch = _lost(make_batch_job)
    lost_report = _lost(report_job_model.objects.create)
    assert report_job_model.task_name == ""

    # when
    counts = services.job_recover_lost_all()

    # then each type was recovered its own way
    assert counts == {
        "predictions.BatchJob": {"requeued": 1, "failed": 0},
        "mlmodel.TrainingRun": {"requeued": 0, "failed": 0},
        report_job_model._meta.label: {"requeued": 0, "failed": 1},
    }
    assert _row(lost_batch)["status"] == JobStatus.PENDING
    row = _row(lost_report)
    assert (row["status"], row["message"]) == (
        JobStatus.FAILED,
        report_job_model.worker_lost_message,
    )
    assert [task.name for task in sent_tasks] == [BatchJob.task_name]

    # and a type that names its task is sent again under that name
    monkeypatch.setattr(report_job_model, "task_name", "jobs.report_job_run_task")
    another = _lost(report_job_model.objects.create)
    assert services.job_recover(job=another) == "requeued"
    assert sent_tasks[-1].name == "jobs.report_job_run_task"
    assert sent_tasks[-1].kwargs == {"job_id": another.pk}
