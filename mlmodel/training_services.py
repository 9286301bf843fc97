"""Services that run the training stack: train and register a version, bootstrap a model.

Only the worker and management commands import this module (an import-linter contract keeps
web processes free of scikit-learn, SciPy and pandas); registering, activating and serving
live in ``mlmodel.services``.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.utils import timezone

from mlmodel import selectors
from mlmodel.core.artifacts import ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, artifact_bytes
from mlmodel.core.bundle import ModelBundle
from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.core.train.demo_data import make_demo_dataframe
from mlmodel.core.train.production import train_production_model
from mlmodel.importing import (
    ImportResult,
    ProgressCallback,
    demo_data_sha256,
    salary_import_csv,
    salary_rows_create,
)
from mlmodel.models import ModelVersion, SalarySource
from mlmodel.services import git_revision, model_version_register
from portal.exceptions import InvalidInput

DEFAULT_TRAINING_SEED = 42
# train_production_model needs 5 folds x 20 distinct rows; say so before training.
MIN_TRAINING_ROWS = 100
DEMO_MODEL_ROWS = 5_000
DEMO_MODEL_SEED = 42
DEMO_FILE_NAME_TEMPLATE = "demo data ({rows} rows, seed {seed})"


def salary_demo_data_create(
    *, rows: int, seed: int, progress: ProgressCallback | None = None
) -> ImportResult:
    """Insert synthetic demo rows (source=demo) once per ``(rows, seed)``."""
    if rows <= 0:
        raise InvalidInput({"rows": ["The number of demo rows must be positive."]})
    frame = make_demo_dataframe(n_rows=rows, seed=seed)
    return salary_rows_create(
        rows=frame[list(DATASET_COLUMNS)].to_dict(orient="records"),
        total=len(frame),
        file_name=DEMO_FILE_NAME_TEMPLATE.format(rows=rows, seed=seed),
        file_sha256=demo_data_sha256(rows=rows, seed=seed),
        source=SalarySource.DEMO,
        progress=progress,
    )


def salary_training_frame(*, include_sources: Iterable[str] | None = None) -> pd.DataFrame:
    """Approved salary rows (:func:`selectors.salary_training_rows`) as a DataFrame."""
    columns, rows = selectors.salary_training_rows(include_sources=include_sources)
    return pd.DataFrame.from_records(rows, columns=list(columns))


def trained_model_metadata(
    trained: ModelBundle,
    *,
    is_demo: bool,
    notes: str = "",
    training_data: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The ModelVersion fields for a freshly trained model (pure: no database)."""
    evaluation = dict(trained.evaluation or {})
    metrics: dict[str, object] = {
        **evaluation,
        "interval_level": trained.interval_level,
        "calibration": trained.calibration,
        "training_seconds": trained.training_seconds,
    }
    metrics["summary"] = selectors.metrics_summary(metrics)
    return {
        "artifact_format": f"{ARTIFACT_FORMAT}/{ARTIFACT_FORMAT_VERSION}",
        "trained_at": timezone.now().isoformat(),
        "metrics": metrics,
        "training_data": {**trained.fingerprint, **dict(training_data or {})},
        "hyperparameters": trained.hyperparameters,
        "library_versions": {**trained.library_versions, "python": platform.python_version()},
        "git_revision": git_revision(),
        "is_demo": is_demo,
        "notes": notes,
    }


def model_version_train(
    *,
    activate: bool = False,
    seed: int = DEFAULT_TRAINING_SEED,
    actor=None,
    notes: str = "",
    include_sources: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, object]] | None = None,
    evaluate: bool = True,
) -> ModelVersion:
    """Train on the approved rows in the database and register the result as a new version.

    Training runs outside any transaction (it takes a while); only the insert is atomic.
    """
    frame = salary_training_frame(include_sources=include_sources)
    if len(frame) < MIN_TRAINING_ROWS:
        raise InvalidInput(
            f"Too few training rows: {len(frame)} approved row(s), at least "
            f"{MIN_TRAINING_ROWS} needed. Import data first (import_salaries or make_demo_data)."
        )
    sources = frame["source"].value_counts().to_dict()
    is_demo = set(sources) == {SalarySource.DEMO}
    try:
        trained = train_production_model(
            frame.drop(columns=["source"]), seed=seed, params=params, evaluate=evaluate
        )
    except ValueError as exc:
        raise InvalidInput(f"Cannot train on this data: {exc}") from exc
    metadata = trained_model_metadata(
        trained,
        is_demo=is_demo,
        notes=notes,
        training_data={
            "rows_raw": len(frame),
            "sources": {str(name): int(count) for name, count in sorted(sources.items())},
        },
    )
    return model_version_register(
        artifact=artifact_bytes(trained), metadata=metadata, activate=activate, actor=actor
    )


# --------------------------------------------------------------------------------------------
# Bootstrapping (make run)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EnsureActiveResult:
    already_active: tuple[ModelVersion, ...] = ()
    trained: ModelVersion | None = None
    data: ImportResult | None = None
    used_demo_data: bool = False


def model_version_ensure_active(
    *,
    csv_path: str | Path | None,
    demo_rows: int = DEMO_MODEL_ROWS,
    demo_seed: int = DEMO_MODEL_SEED,
    seed: int = DEFAULT_TRAINING_SEED,
    actor=None,
) -> EnsureActiveResult:
    """Make sure a model serves: keep the active one, else train on the real CSV (imported
    once), else on synthetic demo data — a DEMO model that the UI labels as such."""
    serving = selectors.model_versions_serving()
    if serving:
        return EnsureActiveResult(already_active=tuple(serving))
    path = Path(csv_path) if csv_path else None
    if path is not None and path.is_file():
        data = salary_import_csv(path=path, source=SalarySource.IMPORT)
        include_sources: tuple[str, ...] | None = None
        used_demo = False
    else:
        data = salary_demo_data_create(rows=demo_rows, seed=demo_seed)
        include_sources = (SalarySource.DEMO,)
        used_demo = True
    trained = model_version_train(
        activate=True,
        seed=seed,
        actor=actor,
        include_sources=include_sources,
        notes="Trained by ensure_active_model" + (" on synthetic DEMO data." if used_demo else "."),
    )
    return EnsureActiveResult(trained=trained, data=data, used_demo_data=used_demo)
