"""The move of BatchJob onto the shared Job keeps every existing row and its progress."""

import copy
import datetime
import importlib

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


QUEUE_BEFORE = ("predictions", "0007_form_submission_ids_and_batch_title_notes")
QUEUE_AFTER = ("predictions", "0008_exposure_queue")


def test_pending_exposures_move_into_the_queue_and_back(migrator):
    # given, before the queue, an experiment prediction still pending, one recorded and one
    # served outside any experiment
    old_apps = migrator(QUEUE_BEFORE)
    user = old_apps.get_model("accounts", "User").objects.create(username="dora")
    version = old_apps.get_model("mlmodel", "ModelVersion").objects.create(
        version=1,
        status="active",
        trained_at=timezone.now(),
        artifact=b"x",
        artifact_format="test",
        artifact_sha256="0" * 64,
        artifact_size=1,
    )
    experiment = old_apps.get_model("mlmodel", "Experiment").objects.create(
        name="e", status="running", seed="s"
    )
    arm = old_apps.get_model("mlmodel", "ExperimentArm").objects.create(
        experiment=experiment, model_version=version, role="champion", weight=100
    )

    def prediction(apps, **fields):
        return apps.get_model("predictions", "Prediction").objects.create(
            user_id=user.pk,
            channel="api",
            inputs={},
            estimate_usd=100_000,
            interval_low_usd=50_000,
            interval_high_usd=150_000,
            interval_level=0.9,
            model_version_id=version.pk,
            latency_ms=1.0,
            **fields,
        )

    in_experiment = {"experiment_id": experiment.pk, "arm_id": arm.pk, "experiment_phase": 1}
    pending = prediction(old_apps, **in_experiment)
    prediction(old_apps, exposure_recorded_at=timezone.now(), **in_experiment)
    prediction(old_apps)

    # when the queue comes in
    new_apps = migrator(QUEUE_AFTER)

    # then only the pending one is queued, and from now on the database queues new ones itself
    queue = new_apps.get_model("predictions", "PendingExposure").objects
    assert list(queue.values_list("prediction_id", flat=True)) == [pending.pk]
    later = prediction(new_apps, **in_experiment)
    prediction(new_apps)
    assert sorted(queue.values_list("prediction_id", flat=True)) == [pending.pk, later.pk]

    # and back: what was queued is pending again, the rest recorded, no trigger left behind
    old_apps = migrator(QUEUE_BEFORE)
    Prediction = old_apps.get_model("predictions", "Prediction")
    in_experiments = Prediction.objects.filter(experiment_id=experiment.pk)
    assert sorted(
        in_experiments.filter(exposure_recorded_at__isnull=True).values_list("pk", flat=True)
    ) == [pending.pk, later.pk]
    assert in_experiments.filter(exposure_recorded_at__isnull=False).count() == 1
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "predictions_pendingexposure" not in tables


def test_the_sqlite_trigger_queues_experiment_predictions_only():
    """The embedded default (``make run`` without DATABASE_URL) runs SQLite: its trigger is
    checked on a real SQLite database even when the suite runs on PostgreSQL."""
    import sqlite3

    migration = importlib.import_module("predictions.migrations.0008_exposure_queue")
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE predictions_prediction (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " experiment_id INTEGER NULL, created_at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE predictions_pendingexposure (prediction_id INTEGER PRIMARY KEY,"
        " created_at TEXT NOT NULL)"
    )
    for statement in migration.CREATE_TRIGGER["sqlite"]:
        db.execute(statement)

    db.execute("INSERT INTO predictions_prediction (experiment_id, created_at) VALUES (7, 'a')")
    db.execute("INSERT INTO predictions_prediction (experiment_id, created_at) VALUES (NULL, 'b')")
    db.execute("INSERT INTO predictions_prediction (experiment_id, created_at) VALUES (7, 'c')")

    assert db.execute("SELECT * FROM predictions_pendingexposure").fetchall() == [
        (1, "a"),
        (3, "c"),
    ]
    for statement in migration.DROP_TRIGGER["sqlite"]:
        db.execute(statement)
    db.execute("INSERT INTO predictions_prediction (experiment_id, created_at) VALUES (7, 'd')")
    assert db.execute("SELECT count(*) FROM predictions_pendingexposure").fetchone() == (2,)


@pytest.mark.django_db  # pytest-django allows no connection, even a private SQLite one, without it
def test_a_table_rebuild_on_sqlite_loses_the_trigger_and_migrate_puts_it_back():
    """SQLite alters most columns by rebuilding the table, which drops its triggers: after
    every ``migrate`` (``post_migrate``) the exposure trigger is re-created where missing."""
    from django.apps import apps as installed_apps
    from django.db.models.signals import post_migrate
    from django.db.utils import ConnectionHandler

    from predictions.models import PendingExposure, Prediction
    from predictions.triggers import (
        exposure_trigger_ensure,
        exposure_trigger_missing,
        exposure_trigger_restore,
    )

    migration = importlib.import_module("predictions.migrations.0008_exposure_queue")
    sqlite = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )["default"]
    try:
        # given the two tables and the trigger, as migration 0008 leaves them
        with sqlite.schema_editor() as editor:
            editor.create_model(Prediction)
            editor.create_model(PendingExposure)
        with sqlite.cursor() as cursor:
            for statement in migration.CREATE_TRIGGER["sqlite"]:
                cursor.execute(statement)
        assert not exposure_trigger_missing(sqlite)

        # when a later migration alters a column of the predictions table
        old = Prediction._meta.get_field("request_id")
        new = copy.copy(old)
        new.max_length = old.max_length + 1
        with sqlite.schema_editor() as editor:
            editor.alter_field(Prediction, old, new)

        # then the rebuild dropped the trigger, and restoring it brings it back, once
        assert exposure_trigger_missing(sqlite)
        assert exposure_trigger_restore(sqlite) is True
        assert not exposure_trigger_missing(sqlite)
        assert exposure_trigger_restore(sqlite) is False
    finally:
        sqlite.close()
    # and migrate runs the restore after every run
    app = installed_apps.get_app_config("predictions")
    assert post_migrate.disconnect(exposure_trigger_ensure, sender=app)  # it was connected
    post_migrate.connect(exposure_trigger_ensure, sender=app)


@pytest.mark.django_db
def test_postgresql_keeps_the_trigger_after_migrate():
    from predictions.triggers import exposure_trigger_missing

    if connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite here; the SQLite case is tested above")
    assert not exposure_trigger_missing(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'prediction_exposure_enqueue'"
        )
        assert cursor.fetchone() == (1,)
