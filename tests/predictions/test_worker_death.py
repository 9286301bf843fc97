"""The whole Celery worker dies mid-job (SIGKILL, not a pool child): the job still finishes.

The real thing: PostgreSQL, Redis and two ``celery worker`` processes this test starts itself,
one after the other, on a queue no other worker reads. Only those two are ever signalled. The
first is killed while it runs a batch job; the heartbeat sweep (run here, as beat would) sends
the job again once its heartbeat has been silent for the timeout, and the second worker runs it
to the end. The dead worker's unacknowledged message, which Redis would hand out again only
after its visibility timeout, is handed out at once instead: the late copy must change nothing.
"""

import csv
import io
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.celery import app as celery_app
from portal.jobs.services import job_recover_lost_all
from predictions import services
from predictions.models import BatchJob, JobStatus
from tests.conftest import _test_database_url
from tests.predictions.conftest import GOOD_ROW, csv_bytes
from tests.processes import start_celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]

# Big enough to run for seconds (each chunk of 2,000 rows saves progress), far under the limits.
ROWS = 100_000
SYNC_LIMIT_FOR_TEST = 50
HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TIMEOUT_SECONDS = 2.0
RECOVERY_LIMIT_SECONDS = 60
JOB_START_WAIT_SECONDS = 60
POLL_SECONDS = 0.05
SWEEP_EVERY_SECONDS = 0.25
WORKER_STOP_SECONDS = 20


class Workers:
    """Start ``celery worker --pool=solo`` processes on one private queue; stop them after."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.started: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen:
        number = len(self.started) + 1
        name = f"{self.queue}-{number}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": _test_database_url(),
            "TEST_CELERY_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "JOB_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "JOB_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT_SECONDS),
        }
        process, log_path = start_celery_worker(queue=self.queue, name=name, env=env)
        self.started.append(process)
        self.logs.append(log_path)
        return process

    def remove_logs(self) -> None:
        for log_path in self.logs:
            log_path.unlink(missing_ok=True)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=WORKER_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def private_workers(transactional_db) -> Iterator[Workers]:
    """This process sends tasks to a queue only the workers of this test read (not eagerly).

    Stopped before the database is flushed, and only the processes started here.
    """
    queue = f"worker-death-{uuid.uuid4().hex[:12]}"
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    workers = Workers(queue)
    try:
        yield workers
    finally:
        workers.stop_all()
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved
        with celery_app.connection_for_write() as connection:
            channel = connection.default_channel
            channel.client.delete(channel.keyprefix_queue % queue)


def _wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds}s")
        time.sleep(POLL_SECONDS)
    return found


def _restore_unacked(task_id: str) -> None:
    """Hand the broker's unacknowledged message of ``task_id`` out again now, as the Redis
    transport does once its visibility timeout has passed."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        unacked = channel.client.hgetall(channel.unacked_key)
        tags = [
            tag for tag, raw in unacked.items() if json.loads(raw)[0]["headers"]["id"] == task_id
        ]
        assert len(tags) == 1, "the killed worker left its message unacknowledged"
        channel.qos.restore_by_tag(tags[0])


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_is_sent_again_and_finishes(
    private_workers, user, active_model_version, settings
):
    # given a worker running a large batch job
    settings.BATCH_SYNC_MAX_ROWS = SYNC_LIMIT_FOR_TEST
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = HEARTBEAT_TIMEOUT_SECONDS
    first_worker = private_workers.start()
    job = services.batch_job_create(
        user=user, file_name="big.csv", data=csv_bytes([GOOD_ROW] * ROWS)
    )
    job_id, first_task_id = job.pk, job.celery_task_id
    _wait_for(
        lambda: BatchJob.objects.filter(pk=job_id, rows_done__gt=0).exists(),
        seconds=JOB_START_WAIT_SECONDS,
        what="the first worker starts the job",
    )

    # when that whole worker process is killed mid-job
    first_worker.send_signal(signal.SIGKILL)
    first_worker.wait()
    killed_at = time.monotonic()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
    assert 0 < job.rows_done < ROWS
    # and the sweep runs (as beat would): at once it leaves the job alone, its heartbeat fresh
    assert job_recover_lost_all()["predictions.BatchJob"] == {"requeued": 0, "failed": 0}

    def sweep_until_requeued() -> bool:
        requeued = job_recover_lost_all()["predictions.BatchJob"]["requeued"]
        time.sleep(0 if requeued else SWEEP_EVERY_SECONDS)
        return bool(requeued)

    _wait_for(sweep_until_requeued, seconds=RECOVERY_LIMIT_SECONDS, what="the sweep sends it")
    requeued_after = time.monotonic() - killed_at
    job.refresh_from_db()
    second_task_id = job.celery_task_id
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert second_task_id != first_task_id
    # and the dead worker's own message comes back too, as Redis hands it out once its
    # visibility timeout has passed (here at once, before the new run)
    _restore_unacked(first_task_id)
    # and a new worker starts
    private_workers.start()

    # then the job finishes with every row, run once more, in bounded time
    job = _wait_for(
        lambda: BatchJob.objects.filter(
            pk=job_id, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)
        ).first(),
        seconds=RECOVERY_LIMIT_SECONDS,
        what="the job finishes",
    )
    recovered_after = time.monotonic() - killed_at
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert recovered_after < RECOVERY_LIMIT_SECONDS
    assert requeued_after >= HEARTBEAT_TIMEOUT_SECONDS - HEARTBEAT_SECONDS
    assert (job.attempts, job.celery_task_id) == (2, second_task_id)
    assert (job.row_count, job.rows_done, job.predicted_count, job.error_count) == (
        ROWS,
        ROWS,
        ROWS,
        0,
    )
    assert len(list(csv.DictReader(io.StringIO(bytes(job.result_csv).decode())))) == ROWS
    # and the late copy of the first message (a restored message is handed out first) reached
    # the new worker while the job was waiting for its second run, and did not claim it
    log = private_workers.logs[-1].read_text()
    late_copy = log[
        log.index(f"[{first_task_id}] received") : log.index(f"[{first_task_id}] succeeded")
    ]
    assert "nothing to do" in late_copy
    assert log.index(f"[{first_task_id}] succeeded") < log.index(f"[{second_task_id}] received")
    private_workers.remove_logs()  # kept when anything above failed
