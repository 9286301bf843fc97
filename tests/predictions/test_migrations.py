"""The move of BatchJob onto the shared Job keeps every existing row and its progress."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = ("predictions", "0002_recent_list_indexes")
AFTER = ("predictions", "0003_batchjob_shared_job_state")


def _migrate(target) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture
def migrator(transactional_db):
    """Migrate ``predictions`` back and forth; every app is at its latest migration after."""
    yield _migrate
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_batch_jobs_keep_their_data_and_get_the_percent_they_showed(migrator):
    # given batch jobs stored before the migration, in each state
    old_apps = migrator(BEFORE)
    user = old_apps.get_model("accounts", "User").objects.create(username="carol")
    BatchJob = old_apps.get_model("predictions", "BatchJob")
    started = timezone.now() - datetime.timedelta(minutes=5)
    finished = started + datetime.timedelta(minutes=1)
    ids = {
        name: BatchJob.objects.create(
            user=user, file_name=f"{name}.csv", input_csv=name.encode(), **fields
        ).pk
        for name, fields in {
            "pending": {"status": "pending", "row_count": 30},
            "running": {
                "status": "running",
                "row_count": 30,
                "rows_done": 10,
                "started_at": started,
            },
            "done": {
                "status": "succeeded",
                "row_count": 30,
                "rows_done": 30,
                "started_at": started,
                "finished_at": finished,
                "message": "",
            },
            "failed": {
                "status": "failed",
                "row_count": 3,
                "rows_done": 2,
                "started_at": started,
                "finished_at": finished,
                "message": "The file is not CSV.",
            },
            "empty_done": {"status": "succeeded", "started_at": started, "finished_at": finished},
        }.items()
    }

    # when the migration runs
    new_apps = migrator(AFTER)

    # then every row is kept, with the percent the old property computed, and a heartbeat at
    # its last known activity
    jobs = {
        name: new_apps.get_model("predictions", "BatchJob").objects.get(pk=pk)
        for name, pk in ids.items()
    }
    assert {name: job.progress_percent for name, job in jobs.items()} == {
        "pending": 0,
        "running": 33,
        "done": 100,
        "failed": 67,
        "empty_done": 100,
    }
    assert jobs["pending"].heartbeat_at is None
    assert jobs["running"].heartbeat_at == started
    assert jobs["done"].heartbeat_at == finished
    assert (jobs["failed"].status, jobs["failed"].message) == ("failed", "The file is not CSV.")
    assert bytes(jobs["failed"].input_csv) == b"failed"
    assert all((job.stage, job.celery_task_id) == ("", "") for job in jobs.values())
