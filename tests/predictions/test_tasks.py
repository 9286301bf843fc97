"""A large batch end to end: queued by the API, run by Celery, downloaded as CSV.

Once through the real broker to the real worker process (Postgres + Redis), once in eager mode
(the embedded default: SQLite, no broker). Both commit for real (``transaction=True``) so the
job is enqueued by ``transaction.on_commit`` exactly as in production.
"""

import csv
import io
import time

import pytest

from predictions.models import BatchJob, JobStatus
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
