"""ensure_active_model (used by `make run`) and the registry API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.models import ImportBatch, ModelStatus, ModelVersion, SalaryRecord, SalarySource
from tests.conftest import start_experiment_of

pytestmark = pytest.mark.django_db

BOOTSTRAP_ROWS = 400
ACTIVE_MODELS_URL = "/api/v1/models/active/"


def _ensure(*args: str) -> str:
    out = StringIO()
    call_command("ensure_active_model", *args, stdout=out)
    return out.getvalue()


def test_ensure_active_model_does_nothing_when_a_model_is_active(active_model_version):
    # when
    text = _ensure("--csv", "/nonexistent.csv")

    # then
    assert "An active model exists: v1 (DEMO)" in text
    assert ModelVersion.objects.count() == 1


def test_ensure_active_model_imports_the_csv_once_and_trains(fast_training, tmp_path):
    # given
    from mlmodel.core.train.demo_data import make_demo_dataframe

    path = tmp_path / "salaries.csv"
    make_demo_dataframe(n_rows=BOOTSTRAP_ROWS, seed=11)[list(DATASET_COLUMNS)].to_csv(
        path, index=False
    )

    # when
    text = _ensure("--csv", str(path))

    # then
    assert f"imported {BOOTSTRAP_ROWS:,} rows" in text and "activated model v1" in text
    model_version = ModelVersion.objects.get()
    assert model_version.status == ModelStatus.ACTIVE and model_version.is_demo is False
    assert SalaryRecord.objects.filter(source=SalarySource.IMPORT).count() == BOOTSTRAP_ROWS
    assert "An active model exists" in _ensure("--csv", str(path))


def test_ensure_active_model_without_a_csv_trains_a_labelled_demo_model(fast_training, tmp_path):
    # when
    text = _ensure("--csv", str(tmp_path / "absent.csv"), "--demo-rows", str(BOOTSTRAP_ROWS))

    # then
    assert "DEMO model" in text and "SYNTHETIC" in text
    model_version = ModelVersion.objects.get()
    assert model_version.status == ModelStatus.ACTIVE and model_version.is_demo is True
    assert ImportBatch.objects.get().source == SalarySource.DEMO


def test_active_models_api_lists_the_serving_versions(staff_client, register_version):
    # given
    register_version(activate=True)
    register_version()
    start_experiment_of([{"model_version": 2, "weight": 25}])
    register_version()

    # when
    response = staff_client.get(ACTIVE_MODELS_URL)

    # then
    assert response.status_code == 200
    body = response.json()
    assert [(item["version"], item["role"], item["weight"]) for item in body] == [
        (1, "champion", 75),
        (2, "challenger", 25),
    ]
    first = body[0]
    assert first["status"] == "active" and first["is_demo"] is True
    assert first["training_data"]["rows_raw"] == 3_000
    assert "interval_level" in first["metrics"]
    assert first["trained_at"] and len(first["artifact_sha256"]) == 64
    assert "artifact" not in first


def test_active_models_api_needs_authentication(client, active_model_version):
    # when
    response = client.get(ACTIVE_MODELS_URL)

    # then
    assert response.status_code in (401, 403)
    assert "errors" in response.json()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan"])
def test_a_progress_interval_that_is_not_a_positive_number_is_one_clear_line(value):
    # when
    with pytest.raises(CommandError) as caught:
        _ensure("--progress-every", value)

    # then
    assert "is not a positive number of seconds" in str(caught.value)
    assert not ModelVersion.objects.exists()


def test_the_progress_lines_come_at_the_interval_asked(fast_training, tmp_path, settings):
    # given an interval the demo training outlasts
    settings.ENSURE_MODEL_PROGRESS_SECONDS = 0.05

    # when
    text = _ensure("--csv", str(tmp_path / "absent.csv"), "--demo-rows", str(BOOTSTRAP_ROWS))

    # then
    assert "  … still " in text
