"""Start-up warm-up: a worker loads its models before its first client."""

import pytest

from mlmodel import loading
from portal.warmup import open_worker_resources


@pytest.mark.django_db
def test_worker_resources_load_the_serving_model(active_model_version):
    # given a process that has loaded nothing yet
    loading.reset_registry()

    # when
    open_worker_resources()

    # then the model is loaded before any request
    cached = {version_id for version_id, _sha in loading.registry().cache.loaded_keys()}
    assert cached == {active_model_version.pk}
