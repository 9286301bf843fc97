"""Fixtures for the Django side of mlmodel: CSV files to import."""

import csv
from pathlib import Path

import pytest

from mlmodel.core.profile import DATASET_COLUMNS

VALID_ROWS = [
    ["2024", "MI", "FT", "Data Scientist", "120000", "USD", "120000", "US", "0", "US", "M"],
    [
        "2023",
        "SE",
        "FT",
        "Machine Learning Engineer",
        "90000",
        "EUR",
        "97000",
        "DE",
        "100",
        "DE",
        "L",
    ],
    ["2022", "EN", "PT", "Data Analyst", "40000", "GBP", "49000", "GB", "50", "GB", "S"],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(DATASET_COLUMNS) if header is None else header)
        writer.writerows(rows)
    return path


@pytest.fixture
def csv_file(tmp_path):
    """``csv_file(rows, name=..., header=...)`` writes a CSV and returns its path."""

    def make(rows: list[list[str]], *, name: str = "salaries.csv", header=None) -> Path:
        return write_csv(tmp_path / name, rows, header)

    return make


@pytest.fixture
def fast_training(monkeypatch):
    """Small, single-threaded training and baseline defaults: a test trains in seconds."""
    from mlmodel.core.train import baselines, fitting
    from tests.conftest import FAST_TRAINING_PARAMS

    for group, defaults in (
        ("point", fitting.DEFAULT_POINT_PARAMS),
        ("quantile", fitting.DEFAULT_QUANTILE_PARAMS),
    ):
        for name, value in FAST_TRAINING_PARAMS[group].items():
            monkeypatch.setitem(defaults, name, value)
    for name, value in FAST_TRAINING_PARAMS["point"].items():
        monkeypatch.setitem(baselines.ORIGINAL_XGB_PARAMS, name, value)


@pytest.fixture
def register_version(trained_demo_artifact):
    """``register_version(activate=..., actor=...)`` registers the session's test artifact."""
    from mlmodel.services import model_version_register

    artifact, metadata = trained_demo_artifact

    def register(*, activate: bool = False, actor=None):
        return model_version_register(
            artifact=artifact, metadata=metadata, activate=activate, actor=actor
        )

    return register


@pytest.fixture
def fresh_registry(settings):
    """An empty per-process model registry that re-reads the active set on every request."""
    from mlmodel.loading import reset_registry

    settings.MLMODEL_RELOAD_CHECK_SECONDS = 0
    reset_registry()
    yield
    reset_registry()
