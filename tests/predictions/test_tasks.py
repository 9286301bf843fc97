"""A large batch end to end: queued by the API, run by Celery, downloaded as CSV.

Once through the real broker to the real worker process (Postgres + Redis), once in eager mode
(the embedded default: SQLite, no broker). Both commit for real (``transaction=True``) so the
job is enqueued by ``transaction.on_commit`` exactly as in production. Then the task of a job
sent again after its worker died: only its current message runs it, with a heartbeat throughout.
"""

import csv
import io
import time

import pytest

from predictions import services
from predictions.models import BatchJob, JobStatus
from predictions.tasks import batch_job_run_task
from tests.predictions.conftest import GOOD_ROW, csv_bytes

BATCH_URL = "/api/v1/predictions/batch/"
SYNC_LIMIT_FOR_TEST = 50
ROWS = 120
BAD_LINE = 61
JOB_WAIT_SECONDS = 120
POLL_SECONDS = 0.2
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


def _large_file() -> bytes:
    rows = [GOOD_ROW] * ROWS
    rows[BAD_LINE - 2] = "Data Scientist,SE,FT,US,US,33,M,2024"
    return csv_bytes(rows)


def _wait_until_finished(job_id: int) -> BatchJob:
    """Wait for the worker (not an assertion on time: the deadline only stops a hung test)."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while True:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in FINISHED or time.monotonic() > deadline:
            return job
        time.sleep(POLL_SECONDS)


def _run_large_batch(api_client) -> None:
    # when a file over the synchronous limit is posted
    response = api_client.generic("POST", BATCH_URL, _large_file(), content_type="text/csv")

    # then it is accepted as a job, which the worker finishes
    assert response.status_code == 202
    job = _wait_until_finished(response.json()["id"])
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.celery_task_id
    assert job.started_at <= job.heartbeat_at <= job.finished_at
    assert (job.row_count, job.rows_done, job.predicted_count, job.error_count) == (
        ROWS,
        ROWS,
        ROWS - 1,
        1,
    )
    assert job.row_errors[0]["line"] == BAD_LINE

    status = api_client.get(response.json()["url"]).json()
    assert status["status"] == "succeeded" and status["progress_percent"] == 100
    download = api_client.get(status["result_url"])
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == ROWS
    assert rows[BAD_LINE - 2]["error"].startswith(f"Line {BAD_LINE}: remote_ratio")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_large_batch_runs_on_the_real_worker(
    real_celery, api_client, settings, active_model_version
):
    settings.BATCH_SYNC_MAX_ROWS = SYNC_LIMIT_FOR_TEST
    _run_large_batch(api_client)


@pytest.mark.django_db(transaction=True)
def test_large_batch_runs_eagerly_without_a_broker(api_client, settings, active_model_version):
    settings.BATCH_SYNC_MAX_ROWS = SYNC_LIMIT_FOR_TEST
    from portal.celery import app

    assert app.conf.task_always_eager
    _run_large_batch(api_client)


# --- a job sent again after its worker died ------------------------------------------------------

LONG_CHUNK_SECONDS = 0.5
FAST_HEARTBEAT_SECONDS = 0.05


def _queued_job(user, rows: int = 3) -> BatchJob:
    return BatchJob.objects.create(
        user=user,
        file_name="big.csv",
        input_csv=csv_bytes([GOOD_ROW] * rows),
        row_count=rows,
        celery_task_id="second",
        attempts=1,
    )


@pytest.mark.django_db
def test_a_late_copy_of_an_earlier_message_does_not_run_the_job(user, active_model_version):
    # given a job the sweep sent again as task "second" after its first worker died
    job = _queued_job(user)

    # when the broker redelivers the first message late, then the second arrives
    batch_job_run_task.apply(kwargs={"job_id": job.pk}, task_id="first")
    job.refresh_from_db()
    status_after_late_copy = job.status
    batch_job_run_task.apply(kwargs={"job_id": job.pk}, task_id="second")

    # then only the second ran it, as its second attempt
    assert status_after_late_copy == JobStatus.PENDING
    job.refresh_from_db()
    assert (job.status, job.attempts, job.rows_done) == (JobStatus.SUCCEEDED, 2, 3)


@pytest.mark.django_db
def test_a_run_whose_job_was_sent_again_stops_and_leaves_the_job_to_its_new_run(
    user, active_model_version, monkeypatch
):
    # given a running job that the sweep sends again while its first chunk is being predicted
    monkeypatch.setattr(services, "BATCH_CHUNK_ROWS", 2)
    predict_chunk = services._predict_chunk

    def sent_again_meanwhile(chunk, outcome, *, unit):
        BatchJob.objects.update(status=JobStatus.PENDING, celery_task_id="third")
        predict_chunk(chunk, outcome, unit=unit)

    monkeypatch.setattr(services, "_predict_chunk", sent_again_meanwhile)
    job = _queued_job(user, rows=6)

    # when its run goes on
    batch_job_run_task.apply(kwargs={"job_id": job.pk}, task_id="second")

    # then it stopped at its next step and wrote nothing over the new run's job
    job.refresh_from_db()
    assert (job.status, job.celery_task_id, job.rows_done, job.result_csv) == (
        JobStatus.PENDING,
        "third",
        0,
        None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_job_beats_through_a_long_chunk(user, active_model_version, monkeypatch, settings):
    # given a heartbeat every 50 ms, and a chunk that takes ten times that
    settings.JOB_HEARTBEAT_SECONDS = FAST_HEARTBEAT_SECONDS
    predict_chunk = services._predict_chunk
    beats: list[tuple] = []

    def long_chunk(chunk, outcome, *, unit):
        before = BatchJob.objects.values_list("heartbeat_at", flat=True).get()
        time.sleep(LONG_CHUNK_SECONDS)
        beats.append((before, BatchJob.objects.values_list("heartbeat_at", flat=True).get()))
        predict_chunk(chunk, outcome, unit=unit)

    monkeypatch.setattr(services, "_predict_chunk", long_chunk)
    job = _queued_job(user)

    # when it runs
    batch_job_run_task.apply(kwargs={"job_id": job.pk}, task_id="second")

    # then its worker showed signs of life during the chunk, not only after it
    [(before, during)] = beats
    assert during > before
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
