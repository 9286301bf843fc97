"""Tasks are sent when the transaction commits, by name, through the real broker and worker."""

import os
import subprocess
import sys
import time

import pytest
from celery.result import AsyncResult
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.celery import app as celery_app
from portal.jobs.enqueue import enqueue_on_commit
from portal.jobs.services import job_enqueue
from predictions.models import BatchJob, JobStatus
from predictions.services import BATCH_JOB_RUN_TASK, JOB_QUEUE_FAILED_MESSAGE
from tests.conftest import _test_database_url
from tests.predictions.conftest import GOOD_ROW, csv_bytes
from tests.processes import REPO_ROOT

PING_TASK = "portal.health_ping_task"
RESULT_WAIT_SECONDS = 60
JOB_WAIT_SECONDS = 120
POLL_SECONDS = 0.2
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


class _Rollback(Exception):
    pass


def _wait_until_finished(job_id: int) -> BatchJob:
    """Wait for the worker (not an assertion on time: the deadline only stops a hung test)."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while True:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in FINISHED or time.monotonic() > deadline:
            return job
        time.sleep(POLL_SECONDS)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_in_a_rolled_back_transaction_is_never_sent(real_celery):
    # given a ping enqueued inside a transaction that rolls back
    with pytest.raises(_Rollback), transaction.atomic():
        lost = enqueue_on_commit(PING_TASK, kwargs={"token": "rolled-back"})
        raise _Rollback

    # when a second ping is committed and the worker (one queue, in order) has answered it
    sent = enqueue_on_commit(PING_TASK, kwargs={"token": "committed"})
    answer = AsyncResult(sent.task_id, app=celery_app).get(timeout=RESULT_WAIT_SECONDS)

    # then only the committed one ever reached the worker
    assert (sent.sent, answer) == (True, "committed")
    assert lost.sent is None
    assert AsyncResult(lost.task_id, app=celery_app).state == "PENDING"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_is_sent_only_once_its_transaction_commits(real_celery):
    # given a ping enqueued in an open transaction
    with transaction.atomic():
        enqueued = enqueue_on_commit(PING_TASK, kwargs={"token": "after-commit"})
        # then nothing is sent while it is open
        assert enqueued.sent is None

    # and the worker answers once it has committed
    assert enqueued.sent is True
    result = AsyncResult(enqueued.task_id, app=celery_app)
    assert result.get(timeout=RESULT_WAIT_SECONDS) == "after-commit"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    real_celery, user, active_model_version
):
    # given two committed pending jobs; the first is enqueued in a transaction that rolls back
    forgotten, queued = (
        BatchJob.objects.create(
            user=user, file_name=f"{name}.csv", input_csv=csv_bytes([GOOD_ROW]), row_count=1
        )
        for name in ("forgotten", "queued")
    )
    with pytest.raises(_Rollback), transaction.atomic():
        job_enqueue(job=forgotten, task_name=BATCH_JOB_RUN_TASK, refused_message="refused")
        raise _Rollback

    # when the second is enqueued in a transaction that commits, and the worker finishes it
    with transaction.atomic():
        enqueued = job_enqueue(job=queued, task_name=BATCH_JOB_RUN_TASK, refused_message="refused")
    finished = _wait_until_finished(queued.pk)

    # then the worker ran the committed job (under the task id stored on it) and not the other
    assert finished.status == JobStatus.SUCCEEDED, finished.message
    assert finished.celery_task_id == enqueued.task_id
    assert finished.heartbeat_at is not None and finished.progress_percent == 100
    forgotten.refresh_from_db()
    assert (forgotten.status, forgotten.celery_task_id, forgotten.started_at) == (
        JobStatus.PENDING,
        "",
        None,
    )


@pytest.mark.django_db
def test_a_refused_job_fails_with_the_message_at_commit(
    user, unreachable_broker, django_capture_on_commit_callbacks
):
    # given a pending job
    job = BatchJob.objects.create(user=user, file_name="x.csv", input_csv=b"a")

    # when it is enqueued and the transaction commits, with the broker down
    with django_capture_on_commit_callbacks(execute=True):
        enqueued = job_enqueue(
            job=job, task_name=BATCH_JOB_RUN_TASK, refused_message=JOB_QUEUE_FAILED_MESSAGE
        )
        assert enqueued.sent is None

    # then the job says so, and keeps the task id it would have run under
    assert enqueued.sent is False
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, JOB_QUEUE_FAILED_MESSAGE)
    assert job.celery_task_id == enqueued.task_id


@pytest.mark.django_db
def test_without_a_refusal_handler_a_refusing_broker_raises_at_commit(
    unreachable_broker, django_capture_on_commit_callbacks
):
    with pytest.raises(OperationalError), django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(PING_TASK, kwargs={"token": "x"})


@pytest.mark.django_db
def test_without_a_broker_an_unknown_task_name_is_an_error_not_a_lost_message(
    django_capture_on_commit_callbacks,
):
    # given eager mode (no broker: this process runs tasks)
    assert celery_app.conf.task_always_eager

    # when / then a name no tasks module defines fails loudly at commit
    with (
        pytest.raises(LookupError, match=r"portal\.no_such_task"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        enqueue_on_commit("portal.no_such_task", kwargs={})


# A web process: it loads what requests reach (URLconf → views → services), then a service
# enqueues. It prints the task id, then the project's tasks modules it has imported.
WEB_PROCESS = """
import sys, django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns
from portal.celery import task_packages
from portal.jobs.enqueue import enqueue_on_commit
enqueued = enqueue_on_commit("portal.health_ping_task", kwargs={"token": "from-the-web"})
packages = set(task_packages())
print(enqueued.task_id)
print(sorted(m for m in sys.modules if m.endswith(".tasks") and m[: -len(".tasks")] in packages))
"""


@pytest.mark.celery_worker
def test_a_web_process_sends_tasks_by_name_without_importing_any_tasks_module(real_celery):
    # given a fresh process with a broker, like a gunicorn worker
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "TEST_CELERY_EAGER": "0",
    }

    # when it enqueues a task
    web = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )

    # then it never imported a tasks module, and the worker ran the task it named
    assert web.returncode == 0, web.stderr
    task_id, imported_tasks_modules = web.stdout.strip().splitlines()
    assert imported_tasks_modules == "[]"
    result = AsyncResult(task_id, app=celery_app)
    assert result.get(timeout=RESULT_WAIT_SECONDS) == "from-the-web"
