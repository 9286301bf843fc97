"""The one training path of a served model: fit on the given rows, calibrate, bundle.

``train_production_model`` runs it on every row; the rolling-origin backtest runs it on the
years before each test year, so the figures it reports are those of this very code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb

from mlmodel.core.bundle import ModelBundle
from mlmodel.core.encoding import FEATURE_NAMES
from mlmodel.core.train.calibration import calibrate_groups
from mlmodel.core.train.data import data_fingerprint
from mlmodel.core.train.fitting import (
    CROSSFIT_FOLDS,
    DEFAULT_INTERVAL_LEVEL,
    DEFAULT_SEED,
    MIN_ROWS_PER_FOLD,
    fit_salary_model,
    resolve_params,
)


def library_versions() -> dict[str, str]:
    return {
        "xgboost": xgb.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def fit_serving_bundle(
    data: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
) -> ModelBundle:
    """Model + calibrated interval trained on ``data`` (prepared, deduplicated rows)."""
    if not 0.0 < interval_level < 1.0:
        raise ValueError(f"interval_level must be in (0, 1), got {interval_level}")
    if len(data) < CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD:
        raise ValueError(
            f"Need at least {CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD} distinct rows to train, "
            f"got {len(data)}."
        )
    started = time.perf_counter()
    resolved = resolve_params(params)
    calibration = calibrate_groups(data, seed=seed, params=resolved, interval_level=interval_level)
    model = fit_salary_model(data, seed=seed, params=resolved, interval_level=interval_level)
    offset = calibration["conformal_offset"]
    return ModelBundle(
        preprocessing_spec=model.features.to_spec(),
        point_model_ubj=bytes(model.pipeline.named_steps["model"].get_booster().save_raw("ubj")),
        quantile_model_ubj=bytes(model.quantile_model.get_booster().save_raw("ubj")),
        linear_spec=model.linear.to_spec(),
        linear_weight=model.linear_weight,
        conformal_offset=offset,
        interval_level=interval_level,
        feature_names=FEATURE_NAMES,
        hyperparameters={**resolved, "seed": seed},
        calibration=calibration,
        fingerprint=data_fingerprint(data),
        library_versions=library_versions(),
        training_seconds=round(time.perf_counter() - started, 3),
    )
