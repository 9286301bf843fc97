"""Fixtures for the shared job machinery: a batch job to move around, a second job type, and
the tasks sent by name (captured, not run)."""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from portal.jobs.models import Job
from predictions.models import BatchJob, JobStatus
from tests.predictions.conftest import unreachable_broker  # noqa: F401 (shared fixture)

REPORT_STALE_SECONDS = 60


@pytest.fixture
def make_batch_job(user):
    """``make_batch_job(status=..., **fields)`` stores a batch job (the job type that exists)."""

    def make(*, status: str = JobStatus.PENDING, **fields) -> BatchJob:
        return BatchJob.objects.create(
            user=user, status=status, file_name="x.csv", input_csv=b"a", **fields
        )

    return make


@pytest.fixture
def report_job_model(transactional_db):
    """A second concrete job type, made for one test: a model in the app registry and its table.

    It exists nowhere in the code, so anything that handles it handles every job type.
    """

    class ReportJob(Job):
        stale_message = "The report was lost; please ask for it again."

        class Meta:
            app_label = "jobs"

        @classmethod
        def stale_after(cls) -> datetime.timedelta:
            return datetime.timedelta(seconds=REPORT_STALE_SECONDS)

    with connection.schema_editor() as editor:
        editor.create_model(ReportJob)
    try:
        yield ReportJob
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(ReportJob)
        del apps.all_models["jobs"][ReportJob._meta.model_name]
        apps.clear_cache()


@dataclass(frozen=True)
class SentTask:
    name: str
    kwargs: dict
    task_id: str


@pytest.fixture
def sent_tasks(monkeypatch) -> Iterator[list[SentTask]]:
    """Tasks published by name (as with a broker), recorded instead of sent; none is run."""
    from portal.celery import app

    sent: list[SentTask] = []

    def record(name, *, kwargs, task_id, **options):
        sent.append(SentTask(name=name, kwargs=dict(kwargs), task_id=task_id))

    monkeypatch.setattr(app, "send_task", record)
    app.conf.task_always_eager = False
    try:
        yield sent
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
