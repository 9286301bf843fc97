"""Start-up warm-up: a worker loads its models before its first client."""

import pytest

from mlmodel import loading
from portal.warmup import (
    UNAUTHORIZED,
    WARM_UP_ROUNDS,
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
def test_warm_up_requests_run_the_api_path_and_store_nothing(settings, active_model_version):
    # given production-like security settings
    settings.SECURE_SSL_REDIRECT = True
    from portal.wsgi import application

    # when
    statuses = answer_warm_up_requests(application)

    # then each went through to the token check and was refused; nothing was stored
    assert statuses == [UNAUTHORIZED] * WARM_UP_ROUNDS
    assert Prediction.objects.count() == 0
