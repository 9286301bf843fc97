"""The loader's two halves: the artifact cache (bounded, never evicting what routing needs,
retrying refused artifacts) and the routing snapshot (no database call under a lock, warm at
process start)."""

import threading
import time

import pytest
from django.db import connection, connections

from mlmodel import loading
from mlmodel.core.profile import EXAMPLE_PROFILE
from mlmodel.models import ModelVersion
from mlmodel.rollout.services import model_version_activate
from mlmodel.services import predict
from portal.exceptions import Unavailable
from tests.conftest import start_experiment_of

PROFILE = EXAMPLE_PROFILE
LOCK_WAIT_SECONDS = 10
# Any other thread must answer from the snapshot it has in far less than this.
SNAPSHOT_ANSWER_SECONDS = 2.0


def _flip_one_byte(version: int) -> bytes:
    original = bytes(ModelVersion.objects.get(version=version).artifact)
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    ModelVersion.objects.filter(version=version).update(artifact=bytes(tampered))
    return original


def _cached_versions() -> set[int]:
    ids = {version_id for version_id, _sha in loading.registry().cache.loaded_keys()}
    return set(ModelVersion.objects.filter(pk__in=ids).values_list("version", flat=True))


@pytest.mark.django_db
def test_versions_the_routing_needs_stay_loaded_whatever_the_budget(
    register_version, fresh_registry, settings
):
    # given a budget smaller than one artifact and two versions sharing the traffic
    settings.MLMODEL_CACHE_MAX_BYTES = 1
    loading.reset_registry()
    register_version(activate=True)
    register_version()
    start_experiment_of([{"model_version": 2, "weight": 50}])

    # when
    served = {predict(PROFILE, unit=f"user:{n}").model_version_number for n in range(40)}

    # then both serve and both stay cached
    assert served == {1, 2}
    assert _cached_versions() == {1, 2}


@pytest.mark.django_db
def test_a_version_no_longer_routed_is_evicted_beyond_the_budget(
    register_version, fresh_registry, settings
):
    # given
    settings.MLMODEL_CACHE_MAX_BYTES = 1
    loading.reset_registry()
    register_version(activate=True)
    register_version()
    assert predict(PROFILE).model_version_number == 1

    # when v2 takes all the traffic
    model_version_activate(version=2)
    assert predict(PROFILE).model_version_number == 2

    # then v1 (retired, over budget) is gone and v2 is kept
    assert _cached_versions() == {2}


@pytest.mark.django_db
def test_within_the_budget_earlier_versions_stay_cached(register_version, fresh_registry):
    # given the default budget
    register_version(activate=True)
    register_version()
    predict(PROFILE)

    # when
    model_version_activate(version=2)
    predict(PROFILE)

    # then switching back needs no new load
    assert _cached_versions() == {1, 2}


@pytest.mark.django_db
def test_a_repaired_artifact_serves_again_after_the_back_off(
    register_version, fresh_registry, settings
):
    # given an active version whose artifact was damaged
    settings.MLMODEL_REFUSED_RETRY_SECONDS = 0.3
    loading.reset_registry()
    register_version(activate=True)
    original = _flip_one_byte(1)
    with pytest.raises(Unavailable) as raised:
        predict(PROFILE)
    assert "v1 is active but its artifact failed the integrity check" in str(raised.value)

    # when the artifact is repaired in place (same row, same sha256)
    ModelVersion.objects.filter(version=1).update(artifact=original)
    time.sleep(settings.MLMODEL_REFUSED_RETRY_SECONDS + 0.1)

    # then it serves, without a restart
    assert predict(PROFILE).model_version_number == 1


@pytest.mark.django_db
def test_warm_loads_the_serving_set_so_requests_read_no_artifact(
    register_version, fresh_registry, settings, django_assert_num_queries
):
    # given
    settings.MLMODEL_RELOAD_CHECK_SECONDS = 60
    loading.reset_registry()
    register_version(activate=True)

    # when
    warmed = loading.warm()

    # then
    assert [model.version_number for model in warmed] == [1]
    with django_assert_num_queries(0):
        assert predict(PROFILE).model_version_number == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_other_threads_answer_while_a_refresh_waits_on_the_database(register_version, settings):
    # given a warm registry whose snapshot is due for a refresh
    settings.MLMODEL_RELOAD_CHECK_SECONDS = 60
    loading.reset_registry()
    register_version(activate=True)
    assert predict(PROFILE).model_version_number == 1
    loading.invalidate()
    refresher_done = threading.Event()

    def refresh_in_thread() -> None:
        try:
            loading.serving_models()
        finally:
            connections.close_all()
            refresher_done.set()

    # when another session locks the table, so the refresh's query waits on Postgres
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE mlmodel_modelversion IN ACCESS EXCLUSIVE MODE")
        refresher = threading.Thread(target=refresh_in_thread)
        refresher.start()
        time.sleep(0.5)  # the refresher is now blocked in its SELECT
        started = time.monotonic()
        answered = predict(PROFILE)
        elapsed = time.monotonic() - started
        blocked_meanwhile = not refresher_done.is_set()
        cursor.execute("COMMIT")
    refresher.join(LOCK_WAIT_SECONDS)

    # then this thread answered from the snapshot while the refresher was still waiting
    assert blocked_meanwhile
    assert answered.model_version_number == 1
    assert elapsed < SNAPSHOT_ANSWER_SECONDS
    assert refresher_done.is_set()


@pytest.mark.django_db
@pytest.mark.parametrize(("setting", "expected"), [(1, 1), (0, None)])
def test_served_models_score_batches_with_the_configured_threads(
    register_version, fresh_registry, settings, setting, expected
):
    import os

    settings.MLMODEL_BATCH_THREADS = setting
    loading.reset_registry()
    register_version(activate=True)

    [model] = loading.warm()

    assert model.predictor.batch_threads == (expected or os.cpu_count())
