"""CompiledInsert stores what Model.objects.create() stores, with the ORM's own preparation."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import signals
from django.forms.models import model_to_dict

from mlmodel.core.profile import EXAMPLE_PROFILE
from portal.db.insert import CompiledInsert
from predictions.models import BatchJob, Channel, Prediction

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
