"""Serving: the per-process registry, integrity checks, reload across processes, readiness."""

import logging
import os
import subprocess
import sys

import pytest

from mlmodel import loading
from mlmodel.core.profile import EXAMPLE_PROFILE, SalaryProfile
from mlmodel.loading import readiness_check, serving_models
from mlmodel.models import ModelVersion
from mlmodel.rollout.services import model_version_activate
from mlmodel.services import ServedPrediction, predict, predict_many
from portal.exceptions import NotFound, ServiceError, Unavailable
from tests.conftest import _test_database_url
from tests.processes import REPO_ROOT

PROFILE = EXAMPLE_PROFILE
OTHER_PROFILE = SalaryProfile("Data Analyst", "EN", "PT", "GB", "GB", 100, "S", 2023)
SUBPROCESS_TIMEOUT_SECONDS = 120
STEADY_STATE_PREDICTIONS = 25

# A second process: prints the served version, waits for a line on stdin, then polls until the
# served version changes (bounded by a deadline) and prints it again.
WATCHER_SCRIPT = """
import sys, time
import django
django.setup()
from mlmodel.loading import serving_models

def served():
    return ",".join(f"v{m.version_number}" for m in serving_models()) or "none"

first = served()
print(first, flush=True)
sys.stdin.readline()
deadline = time.monotonic() + 60
current = served()
while current == first and time.monotonic() < deadline:
    time.sleep(0.05)
    current = served()
print(current, flush=True)
"""


def _flip_one_byte(version: int) -> None:
    """Corrupt the stored artifact in place, behind the registry's back."""
    stored = bytearray(ModelVersion.objects.get(version=version).artifact)
    stored[len(stored) // 2] ^= 0xFF
    ModelVersion.objects.filter(version=version).update(artifact=bytes(stored))


@pytest.mark.django_db
def test_predict_answers_with_the_active_version(active_model_version):
    # when
    served = predict(PROFILE, unit="user:1")

    # then
    assert isinstance(served, ServedPrediction)
    assert served.model_version_id == active_model_version.pk
    assert served.model_version_number == active_model_version.version
    assert served.is_demo is True
    assert served.experiment_id is None and served.arm_id is None
    assert served.interval_low_usd <= served.estimate_usd <= served.interval_high_usd
    assert served.interval_level == pytest.approx(0.9)
    assert {item["feature"] for item in served.contributions} == set(PROFILE.as_dict())
    assert all(isinstance(item["usd"], int) for item in served.contributions)
    assert isinstance(served.baseline_usd, int)


@pytest.mark.django_db
def test_predict_many_uses_one_version_and_matches_predict(active_model_version):
    # when
    version_id, rows = predict_many([PROFILE, OTHER_PROFILE])

    # then
    assert version_id == active_model_version.pk
    assert [row["estimate_usd"] for row in rows] == [
        predict(PROFILE).estimate_usd,
        predict(OTHER_PROFILE).estimate_usd,
    ]
    assert predict_many([]) == (version_id, [])


@pytest.mark.django_db
def test_without_an_active_model_predict_is_a_503_and_readiness_fails(fresh_registry):
    # when
    with pytest.raises(Unavailable) as raised:
        predict(PROFILE)

    # then
    assert "No model is active yet" in str(raised.value)
    with pytest.raises(loading.ModelUnavailable):
        readiness_check()


@pytest.mark.django_db
def test_readiness_names_the_loaded_version(active_model_version):
    # when
    detail = readiness_check()

    # then
    assert detail == f"v1 loaded (sha256 {active_model_version.artifact_sha256[:12]}…)"


@pytest.mark.django_db
def test_no_query_per_prediction_in_the_steady_state(
    active_model_version, settings, django_assert_num_queries
):
    # given
    settings.MLMODEL_RELOAD_CHECK_SECONDS = 3600
    predict(PROFILE)

    # when / then
    with django_assert_num_queries(0):
        for _ in range(STEADY_STATE_PREDICTIONS):
            predict(PROFILE, unit="user:7")
        predict_many([PROFILE, OTHER_PROFILE])
        readiness_check()


@pytest.mark.django_db
def test_activation_is_picked_up_at_the_next_check(register_version, fresh_registry):
    # given
    register_version(activate=True)
    register_version()
    assert predict(PROFILE).model_version_number == 1

    # when
    model_version_activate(version=2)

    # then
    assert predict(PROFILE).model_version_number == 2


@pytest.mark.django_db
def test_a_tampered_artifact_is_refused_and_the_last_good_model_keeps_serving(
    register_version, fresh_registry, caplog
):
    # given
    register_version(activate=True)
    register_version()
    assert predict(PROFILE).model_version_number == 1
    _flip_one_byte(2)

    # when
    model_version_activate(version=2)
    with caplog.at_level(logging.ERROR, logger="mlmodel.loading"):
        served = predict(PROFILE)
        served_again = predict(PROFILE)

    # then
    assert served.model_version_number == served_again.model_version_number == 1
    refusals = [r for r in caplog.records if r.levelno == logging.ERROR and "refusing" in r.message]
    assert len(refusals) == 1
    assert "v2" in refusals[0].message and "integrity" in refusals[0].message
    assert any("last good model keeps serving: v1" in r.message for r in caplog.records)


@pytest.mark.django_db
def test_a_tampered_artifact_at_start_up_serves_nothing(register_version, fresh_registry, caplog):
    # given
    register_version(activate=True)
    _flip_one_byte(1)

    # when
    with caplog.at_level(logging.ERROR, logger="mlmodel.loading"), pytest.raises(ServiceError):
        predict(PROFILE)

    # then
    assert any("refusing model v1" in r.message for r in caplog.records)
    with pytest.raises(loading.ModelUnavailable):
        readiness_check()


@pytest.mark.django_db
def test_a_corrupt_sha_column_is_refused_too(register_version, fresh_registry, caplog):
    # given
    register_version(activate=True)
    stored = ModelVersion.objects.get(version=1).artifact_sha256
    ModelVersion.objects.filter(version=1).update(artifact_sha256=stored[::-1])

    # when / then
    with caplog.at_level(logging.ERROR, logger="mlmodel.loading"), pytest.raises(ServiceError):
        predict(PROFILE)
    assert any("refusing model v1" in r.message for r in caplog.records)


@pytest.mark.django_db
def test_a_specific_version_can_be_asked_for_even_when_retired(register_version, fresh_registry):
    # given
    register_version(activate=True)
    register_version(activate=True)

    # when
    pinned = predict(PROFILE, version=1)

    # then
    assert pinned.model_version_number == 1
    assert predict(PROFILE).model_version_number == 2
    with pytest.raises(NotFound):
        predict(PROFILE, version=42)


@pytest.mark.django_db
def test_a_tampered_pinned_version_is_a_503(register_version, fresh_registry):
    # given
    register_version(activate=True)
    register_version()
    _flip_one_byte(2)

    # when / then
    with pytest.raises(Unavailable):
        predict(PROFILE, version=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_process_picks_up_an_activation(register_version, tmp_path):
    # given
    register_version(activate=True)
    register_version()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
    }
    log_path = tmp_path / "watcher.log"
    log = log_path.open("w")
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER_SCRIPT],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert watcher.stdout.readline().strip() == "v1", log_path.read_text()

        # when
        model_version_activate(version=2)
        watcher.stdin.write("go\n")
        watcher.stdin.flush()

        # then
        assert watcher.stdout.readline().strip() == "v2", log_path.read_text()
    finally:
        watcher.kill()
        watcher.wait(timeout=SUBPROCESS_TIMEOUT_SECONDS)
        log.close()


def test_serving_models_is_empty_before_anything_is_registered(db, fresh_registry):
    # when / then
    assert serving_models() == ()
