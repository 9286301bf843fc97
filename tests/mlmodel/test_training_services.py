"""Training from the database: which rows, what is recorded, and the Celery task."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mlmodel.importing import salary_import_csv
from mlmodel.models import ModelStatus, ModelVersion, ReviewStatus, SalaryRecord, SalarySource
from mlmodel.tasks import model_train_task
from mlmodel.training_services import (
    MIN_TRAINING_ROWS,
    model_version_train,
    salary_demo_data_create,
    salary_training_frame,
)
from portal.exceptions import ServiceError
from tests.conftest import FAST_TRAINING_PARAMS
from tests.mlmodel.conftest import VALID_ROWS

TRAINING_ROWS = 400
TASK_TIMEOUT_SECONDS = 300


def _feedback_row(review_status: str) -> SalaryRecord:
    return SalaryRecord.objects.create(
        work_year=2024,
        experience_level="SE",
        employment_type="FT",
        job_title="Data Scientist",
        salary=150_000,
        salary_currency="USD",
        salary_in_usd=150_000,
        employee_residence="US",
        remote_ratio=0,
        company_location="US",
        company_size="M",
        source=SalarySource.FEEDBACK,
        review_status=review_status,
    )


@pytest.mark.django_db
def test_training_frame_holds_approved_rows_and_prefers_real_data(csv_file):
    # given
    salary_demo_data_create(rows=30, seed=1)
    salary_import_csv(path=csv_file(VALID_ROWS))
    _feedback_row(ReviewStatus.APPROVED)
    _feedback_row(ReviewStatus.PENDING)
    _feedback_row(ReviewStatus.REJECTED)

    # when
    default = salary_training_frame()
    demo_only = salary_training_frame(include_sources=[SalarySource.DEMO])

    # then
    assert len(default) == len(VALID_ROWS) + 1
    assert set(default["source"]) == {SalarySource.IMPORT, SalarySource.FEEDBACK}
    assert list(default.columns[:3]) == ["work_year", "experience_level", "employment_type"]
    assert len(demo_only) == 30


@pytest.mark.django_db
def test_training_frame_falls_back_to_demo_rows():
    # given
    salary_demo_data_create(rows=25, seed=2)

    # when
    frame = salary_training_frame()

    # then
    assert len(frame) == 25 and set(frame["source"]) == {SalarySource.DEMO}


@pytest.mark.django_db
def test_too_few_rows_is_a_clear_error(csv_file):
    # given
    salary_import_csv(path=csv_file(VALID_ROWS))

    # when / then
    with pytest.raises(ServiceError, match=f"at least {MIN_TRAINING_ROWS} needed"):
        model_version_train()
    with pytest.raises(CommandError, match="Too few training rows"):
        call_command("train_model", stdout=StringIO())
    assert ModelVersion.objects.count() == 0


@pytest.mark.django_db
def test_train_records_metrics_fingerprint_and_provenance(fast_training, monkeypatch, user):
    # given
    monkeypatch.setenv("GIT_REVISION", "abc123")
    salary_demo_data_create(rows=TRAINING_ROWS, seed=5)

    # when
    model_version = model_version_train(activate=True, seed=3, actor=user, notes="first")

    # then
    assert (model_version.version, model_version.status) == (1, ModelStatus.ACTIVE)
    assert model_version.is_demo is True
    assert model_version.git_revision == "abc123"
    assert model_version.notes == "first"
    assert model_version.hyperparameters["seed"] == 3
    assert set(model_version.library_versions) >= {
        "xgboost",
        "scikit-learn",
        "numpy",
        "pandas",
        "python",
    }
    data = model_version.training_data
    assert data["rows_raw"] == TRAINING_ROWS and data["sources"] == {"demo": TRAINING_ROWS}
    assert len(data["sha256"]) == 64
    metrics = model_version.metrics
    assert {"seed_protocol", "production_protocol", "calibration", "summary"} <= set(metrics)
    assert metrics["summary"]["interval_level"] == pytest.approx(0.9)


@pytest.mark.django_db
def test_is_demo_is_false_when_real_rows_are_used(fast_training, monkeypatch):
    # given
    salary_demo_data_create(rows=TRAINING_ROWS, seed=5)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)

    # when
    model_version = model_version_train(evaluate=False)

    # then
    assert model_version.is_demo is False
    assert model_version.status == ModelStatus.CANDIDATE


@pytest.mark.django_db
def test_train_model_command_prints_the_metrics_table(fast_training):
    # given
    salary_demo_data_create(rows=TRAINING_ROWS, seed=5)
    out = StringIO()

    # when
    call_command("train_model", "--activate", "--seed", "4", stdout=out)

    # then
    text = out.getvalue()
    assert "MAE $" in text and "coverage" in text
    assert "production" in text and "ours" in text
    assert "Registered model v1, ACTIVE" in text and "DEMO" in text


@pytest.mark.django_db
def test_train_model_command_rejects_unknown_sources():
    # when / then
    with pytest.raises(CommandError, match="Unknown source"):
        call_command("train_model", "--sources", "import,bogus", stdout=StringIO())


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_model_train_task_through_the_real_worker(real_celery, user):
    # given
    salary_demo_data_create(rows=TRAINING_ROWS, seed=6)

    # when
    result = model_train_task.delay(
        activate=True, actor_id=user.pk, params=FAST_TRAINING_PARAMS, evaluate=False
    )
    version_id = result.get(timeout=TASK_TIMEOUT_SECONDS)

    # then
    model_version = ModelVersion.objects.get(pk=version_id)
    assert model_version.status == ModelStatus.ACTIVE and model_version.is_demo
    assert model_version.events.filter(actor=user).exists()
