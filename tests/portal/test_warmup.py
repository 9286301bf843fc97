"""Start-up warm-up: a worker loads its models and answers real (rolled-back) predictions
before its first client."""

import pytest
from prometheus_client import REGISTRY

from mlmodel import loading
from portal.accounts.models import ApiToken
from portal.warmup import (
    CREATED,
    UNAUTHORIZED,
    WARM_UP_PREDICTIONS,
    WARM_UP_ROUNDS,
    WARM_UP_USER_PREFIX,
    answer_warm_up_requests,
    open_worker_resources,
)
from predictions.models import Prediction


@pytest.mark.django_db
def test_worker_resources_load_the_serving_model(active_model_version):
    # given a process that has loaded nothing yet
    loading.reset_registry()

    # when
    open_worker_resources()

    # then the model is loaded before any request
    cached = {version_id for version_id, _sha in loading.registry().cache.loaded_keys()}
    assert cached == {active_model_version.pk}


@pytest.mark.django_db(transaction=True)
def test_warm_up_requests_answer_real_predictions_and_leave_nothing_behind(
    settings, active_model_version, django_user_model
):
    # given production-like security settings and the predictions counter before
    settings.SECURE_SSL_REDIRECT = True
    from portal.wsgi import application

    labels = {
        "model_version": str(active_model_version.version),
        "experiment_arm": "",
        "channel": "api",
    }
    counted_before = REGISTRY.get_sample_value("mlpaygrade_predictions_total", labels) or 0.0
    users_before = django_user_model.objects.count()

    # when
    statuses = answer_warm_up_requests(application)

    # then the refused ones went through to the token check, the real ones were answered ...
    assert statuses == [UNAUTHORIZED] * WARM_UP_ROUNDS + [CREATED] * WARM_UP_PREDICTIONS
    # ... and nothing stays: no prediction, no warm-up user or token, nothing counted
    assert Prediction.objects.count() == 0
    assert django_user_model.objects.count() == users_before
    assert not django_user_model.objects.filter(username__startswith=WARM_UP_USER_PREFIX).exists()
    assert ApiToken.objects.count() == 0
    counted_after = REGISTRY.get_sample_value("mlpaygrade_predictions_total", labels) or 0.0
    assert counted_after == counted_before


@pytest.mark.django_db(transaction=True)
def test_warm_up_survives_a_database_that_refuses_the_predictions(settings, active_model_version):
    # given a database that answers the token look-up but refuses to store a prediction
    from django.db import connection

    from portal.wsgi import application

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE predictions_prediction RENAME TO predictions_prediction_away")
    try:
        # when
        statuses = answer_warm_up_requests(application)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE predictions_prediction_away RENAME TO predictions_prediction"
            )

    # then it did not raise: the refused requests were answered, the predictions were not
    assert statuses[:WARM_UP_ROUNDS] == [UNAUTHORIZED] * WARM_UP_ROUNDS
    assert CREATED not in statuses
    assert Prediction.objects.count() == 0
