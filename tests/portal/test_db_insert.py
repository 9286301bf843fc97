"""CompiledInsert stores what Model.objects.create() stores, with the ORM's own preparation;
insert_rows stores database-ready rows in bulk on PostgreSQL and on SQLite alike."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import signals
from django.db.utils import ConnectionHandler
from django.forms.models import model_to_dict
from django.utils import timezone

from mlmodel.core.profile import EXAMPLE_PROFILE
from portal.db.insert import CompiledInsert, insert_rows
from predictions.models import BatchJob, Channel, PendingExposure, Prediction

pytestmark = pytest.mark.django_db

COMPARED_EXCEPT = {"id", "created_at"}


def _fields(user, model_version) -> dict:
    return {
        "user": user,
        "channel": Channel.API,
        "inputs": EXAMPLE_PROFILE.as_dict(),
        "estimate_usd": 150_000,
        "interval_low_usd": 100_000,
        "interval_high_usd": 200_000,
        "interval_level": 0.9,
        "contributions": [{"feature": "job_title", "usd": 1234}],
        "model_version": model_version,
        "latency_ms": 1.5,
        "request_id": "abc",
        "title_match": "exact",
    }


def test_the_compiled_insert_stores_the_same_row_as_create(user, active_model_version):
    # given the same prediction saved by the ORM and by the compiled INSERT (twice: compiled
    # on first use, reused after)
    insert = CompiledInsert(Prediction)
    by_orm = Prediction.objects.create(**_fields(user, active_model_version))
    first = insert.save(Prediction(**_fields(user, active_model_version)))
    second = insert.save(Prediction(**_fields(user, active_model_version)))

    # then each got its own key and creation time, and is a saved instance
    assert len({by_orm.pk, first.pk, second.pk}) == 3
    assert first.created_at and second.created_at >= first.created_at
    assert not first._state.adding and first._state.db == "default"

    # and the stored rows are the same, JSON included
    def stored(prediction) -> dict:
        row = model_to_dict(Prediction.objects.get(pk=prediction.pk))
        return {key: value for key, value in row.items() if key not in COMPARED_EXCEPT}

    assert stored(first) == stored(by_orm) == stored(second)
    assert Prediction.objects.get(pk=second.pk).created_at == second.created_at


def test_it_sends_the_save_signals_and_respects_a_transaction(user, active_model_version):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((kwargs.get("created"), instance.pk))

    signals.post_save.connect(receiver, sender=Prediction)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            saved = CompiledInsert(Prediction).save(
                Prediction(**_fields(user, active_model_version))
            )
            raise RuntimeError("roll back")
    finally:
        signals.post_save.disconnect(receiver, sender=Prediction)

    assert seen == [(True, saved.pk)]
    assert not Prediction.objects.filter(pk=saved.pk).exists()


def test_models_whose_fields_need_their_own_placeholder_are_refused():
    with pytest.raises(ImproperlyConfigured, match="input_csv"):
        CompiledInsert(BatchJob)


def _queue_rows(db, ids) -> list[tuple]:
    start = timezone.now().replace(microsecond=0)
    return [
        (pk, db.ops.adapt_datetimefield_value(start + datetime.timedelta(seconds=pk))) for pk in ids
    ]


def test_insert_rows_stores_each_row_once_on_the_suites_database():
    # given rows, some of them already stored
    rows = _queue_rows(connection, [3, 1, 2])
    insert_rows(PendingExposure, ("prediction_id", "created_at"), rows[:1])

    # when all of them are inserted, skipping conflicts
    insert_rows(
        PendingExposure, ("prediction_id", "created_at"), rows, conflict_target=("prediction_id",)
    )

    # then each is stored once, with its value
    stored = {row.prediction_id: row.created_at for row in PendingExposure.objects.all()}
    assert sorted(stored) == [1, 2, 3]
    first = min(stored.values())
    assert [(stored[pk] - first).total_seconds() for pk in (1, 2, 3)] == [0.0, 1.0, 2.0]


def test_insert_rows_on_sqlite_the_embedded_default():
    # given an SQLite database with the queue's table
    sqlite = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )["default"]
    try:
        with sqlite.schema_editor() as editor:
            editor.create_model(PendingExposure)
        rows = _queue_rows(sqlite, [2, 1])

        # when rows go in twice, conflicts skipped
        for _ in range(2):
            insert_rows(
                PendingExposure,
                ("prediction_id", "created_at"),
                rows,
                conflict_target=("prediction_id",),
                connection=sqlite,
            )

        # then each is stored once
        with sqlite.cursor() as cursor:
            cursor.execute("SELECT prediction_id, created_at FROM predictions_pendingexposure")
            stored = sorted(cursor.fetchall())
        assert [pk for pk, _ in stored] == [1, 2]
        assert [str(created) for _, created in stored] == [str(value) for _, value in sorted(rows)]
    finally:
        sqlite.close()
