"""Training: temporal protocols without leakage, calibration, metrics, and the real-data check."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmodel.core.predictor import Predictor
from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.core.train.baselines import NaiveMedian, OriginalRecipe, continent, job_category
from mlmodel.core.train.conformal import conformal_offset, cqr_scores
from mlmodel.core.train.data import data_fingerprint, load_csv, prepare_frame
from mlmodel.core.train.demo_data import make_demo_dataframe
from mlmodel.core.train.fitting import DEFAULT_SEED, fit_salary_model
from mlmodel.core.train.linear_fit import fit_linear_component
from mlmodel.core.train.production import train_production_model
from mlmodel.core.train.protocols import (
    evaluate_protocols,
    regression_metrics,
    run_production_protocol,
    run_seed_protocol,
)

DEFAULT_DATA = Path(__file__).resolve().parents[5] / "shared/data/salaries.csv"
ORIGINAL_TEST_MAE = 48_512
SANE_COVERAGE = (0.85, 0.95)
MAX_SANE_WIDTH = 200_000


def real_data_path() -> Path:
    return Path(os.environ.get("SALARIES_CSV", DEFAULT_DATA))


@pytest.fixture(scope="module")
def demo_frame():
    return make_demo_dataframe(2500, seed=3)


@pytest.fixture
def fit_spy(monkeypatch):
    """Record the work years of every frame any model (ours or baseline) is fitted on."""
    seen: list[set[int]] = []
    real_fit_model = fit_salary_model

    def spy_fit_model(train, **kwargs):
        seen.append(set(train["work_year"].unique().tolist()))
        return real_fit_model(train, **kwargs)

    def wrap(cls):
        original = cls.fit

        def spy(self, df):
            seen.append(set(df["work_year"].unique().tolist()))
            return original(self, df)

        monkeypatch.setattr(cls, "fit", spy)

    real_fit_linear = fit_linear_component

    def spy_fit_linear(train, log_target, alpha):
        seen.append(set(train["work_year"].unique().tolist()))
        return real_fit_linear(train, log_target, alpha)

    for module in (
        "mlmodel.core.train.fitting",
        "mlmodel.core.train.protocols",
        "mlmodel.core.train.calibration",
        "mlmodel.core.train.serving",
    ):
        monkeypatch.setattr(f"{module}.fit_salary_model", spy_fit_model)
    monkeypatch.setattr("mlmodel.core.train.fitting.fit_linear_component", spy_fit_linear)
    wrap(OriginalRecipe)
    wrap(NaiveMedian)
    return seen


def test_seed_protocol_never_fits_on_validation_or_test_years(demo_frame, fit_spy):
    report = run_seed_protocol(demo_frame, seed=1)
    assert fit_spy, "no fit was observed"
    for years in fit_spy:
        assert years <= {2020, 2021, 2022}
    assert report["years"] == {
        "train": [2020, 2022],
        "validation": [2023, 2023],
        "test": [2024, 2024],
    }
    assert set(report["models"]) == {"ours", "original", "naive"}


def test_production_protocol_never_fits_on_the_test_year(demo_frame, fit_spy):
    report = run_production_protocol(demo_frame, seed=1)
    assert len(fit_spy) > 3
    for years in fit_spy:
        assert 2024 not in years
    assert report["years"]["test"] == [2024, 2024]
    assert report["years"]["validation"] == [2023, 2023]
    assert "cross-fitted on 2023" in report["validation_method"]


def test_deduplicates_before_splitting(demo_frame):
    doubled = pd.concat([demo_frame, demo_frame.iloc[:500]], ignore_index=True)
    result = evaluate_protocols(doubled, seed=1)
    distinct = len(demo_frame.drop_duplicates())
    assert result["rows_raw"] == len(doubled)
    assert result["rows_deduplicated"] == distinct
    rows = result["production_protocol"]["rows"]
    assert rows["train"] + rows["test"] == distinct
    json.dumps(result)


def test_conformal_offset_uses_finite_sample_rank():
    scores = np.arange(1, 101, dtype=float)
    assert conformal_offset(scores, 0.9) == 91.0
    assert conformal_offset(np.array([0.5]), 0.9) == 0.5
    with pytest.raises(ValueError):
        conformal_offset(np.array([]), 0.9)


def test_cqr_scores_sign():
    quantiles = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0]])
    scores = cqr_scores(quantiles, np.array([1.5, 3.0, 0.0]))
    assert scores.tolist() == [-0.5, 1.0, 1.0]


def test_metrics_shape_and_json():
    frame = make_demo_dataframe(300, seed=4)
    estimate = frame["salary_in_usd"].to_numpy() * 1.1
    metrics = regression_metrics(frame, estimate, estimate * 0.5, estimate * 1.5)
    for key in ("mae", "median_ae", "r2", "mae_by_experience_level", "mae_by_region"):
        assert key in metrics
    assert 0.0 <= metrics["coverage"] <= 1.0
    assert metrics["mean_width"] > 0
    assert list(metrics["mae_by_experience_level"]) == ["EN", "MI", "SE", "EX"]
    json.dumps(metrics)


def test_fingerprint_ignores_row_order(demo_frame):
    shuffled = demo_frame.sample(frac=1.0, random_state=0)
    first = data_fingerprint(demo_frame)
    assert first == data_fingerprint(shuffled)
    assert first["rows"] == len(demo_frame)
    changed = demo_frame.copy()
    changed.loc[0, "salary_in_usd"] += 1
    assert data_fingerprint(changed)["sha256"] != first["sha256"]


def test_prepare_frame_rejects_missing_columns(demo_frame):
    with pytest.raises(ValueError, match="missing columns"):
        prepare_frame(demo_frame.drop(columns=["job_title"]))


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Machine Learning Engineer", "MACHINE_LEARNING"),
        ("Head of Machine Learning", "MANAGEMENT"),
        ("Lead Data Engineer", "MANAGEMENT"),
        ("Data Engineer", "DATA_ENGINEERING"),
        ("Research Engineer", "DATA_SCIENCE"),
        ("Data Analyst", "DATA_ANALYSIS"),
        ("Data Specialist", "SPECIALIZED"),
        ("Software Engineer", "DATA_ENGINEERING"),
        ("Computational Biologist", "SPECIALIZED"),
        ("Decision Scientist", "DATA_SCIENCE"),
        ("Quantitative Research Analyst", "DATA_SCIENCE"),
    ],
)
def test_original_job_category_buckets_in_the_original_order(title, category):
    assert job_category(title) == category


def test_original_continents():
    assert [continent(c) for c in ("US", "MX", "DE", "IN", "AU", "BR", "NG", "XK")] == [
        "NORTH_AMERICA",
        "NORTH_AMERICA",
        "EUROPE",
        "ASIA_PACIFIC",
        "ASIA_PACIFIC",
        "OTHER",
        "OTHER",
        "EUROPE",
    ]


def test_production_model_on_demo_data(demo_frame):
    trained = train_production_model(demo_frame, seed=5, evaluate=False)
    assert trained.fingerprint["years"] == [2020, 2021, 2022, 2023, 2024]
    assert trained.calibration["validation"].startswith("cross-fitted on 2024")
    assert trained.hyperparameters["seed"] == 5
    assert trained.conformal_offset == pytest.approx(trained.calibration["conformal_offset"])
    json.dumps(trained.hyperparameters)
    prediction = Predictor.from_bundle(trained).predict_many(demo_frame.head(50))
    assert (prediction.interval_low_usd <= prediction.estimate_usd).all()


def test_train_rejects_tiny_data():
    with pytest.raises(ValueError, match="distinct rows"):
        train_production_model(make_demo_dataframe(20, seed=0), seed=0)


# --------------------------------------------------------------------------------------------
# Real data (skipped when the file is absent)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_trained():
    path = real_data_path()
    if not path.exists():
        pytest.skip(f"real salaries file not found at {path} (set SALARIES_CSV)")
    frame = load_csv(path)
    assert list(frame.columns) == list(DATASET_COLUMNS)
    return train_production_model(frame, seed=DEFAULT_SEED)


@pytest.mark.real_data
def test_real_seed_protocol_beats_the_original(real_trained):
    report = real_trained.evaluation["seed_protocol"]
    assert report["rows"] == {"train": 1407, "validation": 4632, "test": 4054}
    ours = report["models"]["ours"]["test"]
    assert ours["mae"] < ORIGINAL_TEST_MAE
    assert ours["mae"] < report["models"]["original"]["test"]["mae"]
    assert ours["mae"] < report["models"]["naive"]["test"]["mae"]
    assert SANE_COVERAGE[0] <= ours["coverage"] <= SANE_COVERAGE[1]
    assert ours["mean_width"] < MAX_SANE_WIDTH


@pytest.mark.real_data
def test_real_production_protocol(real_trained):
    report = real_trained.evaluation["production_protocol"]
    assert report["years"]["train"] == [2020, 2023]
    ours = report["models"]["ours"]["test"]
    assert ours["mae"] < report["models"]["original"]["test"]["mae"]
    assert SANE_COVERAGE[0] <= ours["coverage"] <= SANE_COVERAGE[1]
    assert real_trained.fingerprint["rows"] == 10_093
    assert real_trained.fingerprint["years"] == [2020, 2021, 2022, 2023, 2024]
