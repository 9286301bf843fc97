"""Training runs through the real thing: PostgreSQL, Redis and ``celery worker`` processes.

The workers are started here on a queue no other worker reads, and only they are signalled.
One test sends a run to a worker and races two requests; the other SIGKILLs the worker in the
middle of training: no partial version is left, the run lock in Redis expires by itself, the
heartbeat sweep (run here, as beat would) sends the run again, and a second worker finishes it
with exactly one version, while the dead worker's own message, handed out again, does nothing.
"""

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlmodel.models import ModelStatus, ModelVersion, SalaryRecord, SalarySource, TrainingRun
from mlmodel.models import TrainingTrigger as Trigger
from mlmodel.training_runs import (
    STAGE_TRAINING,
    TrainingRunBusy,
    training_lock_holder,
    training_run_request,
)
from mlmodel.training_services import salary_demo_data_create
from portal.celery import app as celery_app
from portal.jobs.models import JobStatus
from portal.jobs.services import job_recover_lost_all
from tests.concurrency import run_at_once
from tests.conftest import FAST_TRAINING_PARAMS, _test_database_url
from tests.processes import start_celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]

RUN_ROWS = 1_500
MIN_ROWS = 300
HEARTBEAT_SECONDS = 0.5
HEARTBEAT_TIMEOUT_SECONDS = 2.0
LOCK_SECONDS = 3.0
RUN_LIMIT_SECONDS = 180
POLL_SECONDS = 0.05
SWEEP_EVERY_SECONDS = 0.25
WORKER_STOP_SECONDS = 20
LABEL = "mlmodel.TrainingRun"


class Workers:
    """``celery worker --pool=solo`` processes on one private queue; stopped after the test."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.started: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen:
        name = f"{self.queue}-{len(self.started) + 1}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": _test_database_url(),
            "TEST_CELERY_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "JOB_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "JOB_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT_SECONDS),
            "TRAINING_LOCK_SECONDS": str(LOCK_SECONDS),
            "TRAINING_MIN_ROWS": str(MIN_ROWS),
            "TRAINING_GATE_COVERAGE_RANGE": "0,1",
        }
        process, log_path = start_celery_worker(queue=self.queue, name=name, env=env)
        self.started.append(process)
        self.logs.append(log_path)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=WORKER_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def remove_logs(self) -> None:
        for log_path in self.logs:
            log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def workers_on_a_private_queue(settings, *, prefix: str = "training") -> Iterator[Workers]:
    """Tasks go through the broker to a queue only these workers read; the queue is removed
    and the app's eager mode restored afterwards (the browser tests use it too)."""
    settings.TRAINING_LOCK_SECONDS = LOCK_SECONDS
    settings.TRAINING_MIN_ROWS = MIN_ROWS
    queue = f"{prefix}-{uuid.uuid4().hex[:12]}"
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


@pytest.fixture
def private_workers(transactional_db, settings) -> Iterator[Workers]:
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = HEARTBEAT_TIMEOUT_SECONDS
    with workers_on_a_private_queue(settings) as workers:
        yield workers


@pytest.fixture
def imported_rows(transactional_db):
    salary_demo_data_create(rows=RUN_ROWS, seed=5)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)


def _wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds}s")
        time.sleep(POLL_SECONDS)
    return found


def _finished(run_id: int):
    return TrainingRun.objects.filter(
        pk=run_id, status__in=(JobStatus.SUCCEEDED, JobStatus.FAILED)
    ).first()


def _request() -> TrainingRun:
    return training_run_request(trigger=Trigger.API, params=FAST_TRAINING_PARAMS)


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_one_run_two_simultaneous_requests_allow(
    private_workers, imported_rows, active_model_version
):
    # given a worker, and two requests arriving at the same moment
    private_workers.start()
    outcomes: list[object] = []

    def trigger() -> None:
        try:
            outcomes.append(_request())
        except TrainingRunBusy as exc:
            outcomes.append(exc)

    # when both are made
    run_at_once(trigger)

    # then one run was queued and the other request refused, naming it
    runs = [outcome for outcome in outcomes if isinstance(outcome, TrainingRun)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, TrainingRunBusy)]
    assert len(runs) == 1 and len(refusals) == 1
    assert f"Training run #{runs[0].pk} is already" in str(refusals[0])
    assert TrainingRun.objects.count() == 1
    # and the worker ran it to a candidate compared with the champion
    run = _wait_for(lambda: _finished(runs[0].pk), seconds=RUN_LIMIT_SECONDS, what="run ends")
    assert run.status == JobStatus.SUCCEEDED, run.message
    version = run.model_version
    assert version.status == ModelStatus.CANDIDATE
    comparison = version.metrics["comparison"]
    assert comparison["active_version"] == active_model_version.version
    assert comparison["rows"] > 0
    assert {"mae", "coverage"} <= set(comparison["candidate"]) & set(comparison["active"])
    # the worker releases the lock just after it marks the run succeeded
    _wait_for(lambda: training_lock_holder() is None, seconds=10, what="the lock is released")
    private_workers.remove_logs()


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
def test_a_worker_killed_mid_run_leaves_no_version_and_the_retry_stores_exactly_one(
    private_workers, imported_rows
):
    # given a worker training a run
    first_worker = private_workers.start()
    run = _request()
    run_id, first_task_id = run.pk, run.celery_task_id
    _wait_for(
        lambda: TrainingRun.objects.filter(pk=run_id, stage=STAGE_TRAINING).exists(),
        seconds=RUN_LIMIT_SECONDS,
        what="the worker starts training",
    )

    # when that whole worker process is killed mid-run
    first_worker.send_signal(signal.SIGKILL)
    first_worker.wait()

    # then no version was stored, the run is still "running" and the lock is still held …
    run.refresh_from_db()
    assert (run.status, run.attempts, run.model_version_id) == (JobStatus.RUNNING, 1, None)
    assert not ModelVersion.objects.exists()
    assert training_lock_holder() == run_id
    # … until it expires by itself, nobody renewing it
    _wait_for(
        lambda: training_lock_holder() is None,
        seconds=LOCK_SECONDS * 3,
        what="the lock of the dead worker expires",
    )

    # and when the heartbeat sweep runs (as beat would), it sends the run again
    def sweep_until_requeued() -> bool:
        requeued = job_recover_lost_all()[LABEL]["requeued"]
        time.sleep(0 if requeued else SWEEP_EVERY_SECONDS)
        return bool(requeued)

    _wait_for(sweep_until_requeued, seconds=RUN_LIMIT_SECONDS, what="the sweep sends it again")
    run.refresh_from_db()
    second_task_id = run.celery_task_id
    assert run.status == JobStatus.PENDING and second_task_id != first_task_id
    # and the dead worker's own message comes back too (a duplicate delivery), then a new worker
    _restore_unacked(first_task_id)
    private_workers.start()

    # then the retry succeeds with exactly one version, and the late copy did nothing
    run = _wait_for(lambda: _finished(run_id), seconds=RUN_LIMIT_SECONDS, what="the retry ends")
    assert run.status == JobStatus.SUCCEEDED, run.message
    assert (run.attempts, run.celery_task_id) == (2, second_task_id)
    assert ModelVersion.objects.count() == 1
    assert run.model_version == ModelVersion.objects.get()
    assert run.model_version.training_data["training_run"]["id"] == run_id
    assert training_lock_holder() is None
    log = private_workers.logs[-1].read_text()
    late_copy = log[
        log.index(f"[{first_task_id}] received") : log.index(f"[{first_task_id}] succeeded")
    ]
    assert "nothing to do" in late_copy
    private_workers.remove_logs()
