"""The served model: trained on every row, calibrated by cross-fitting its last year."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb

from mlmodel.core.bundle import ModelBundle
from mlmodel.core.encoding import FEATURE_NAMES
from mlmodel.core.train.conformal import conformal_offset, cqr_scores
from mlmodel.core.train.data import data_fingerprint, deduplicate, log_target, prepare_frame
from mlmodel.core.train.fitting import (
    CROSSFIT_FOLDS,
    DEFAULT_INTERVAL_LEVEL,
    DEFAULT_SEED,
    MIN_ROWS_PER_FOLD,
    crossfit_last_year,
    fit_salary_model,
    resolve_params,
)
from mlmodel.core.train.protocols import evaluate_protocols

logger = logging.getLogger(__name__)


def library_versions() -> dict[str, str]:
    return {
        "xgboost": xgb.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def train_production_model(
    df: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    evaluate: bool = True,
) -> ModelBundle:
    """Train the model to serve on every row (all years), calibrated by cross-fitting its last
    year; optionally attach the evaluation of both protocols."""
    if not 0.0 < interval_level < 1.0:
        raise ValueError(f"interval_level must be in (0, 1), got {interval_level}")
    started = time.perf_counter()
    prepared = prepare_frame(df)
    data = deduplicate(prepared)
    if len(data) < CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD:
        raise ValueError(
            f"Need at least {CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD} distinct rows to train, "
            f"got {len(data)}."
        )
    resolved = resolve_params(params)
    crossfit = crossfit_last_year(
        data, seed=seed, params=resolved, interval_level=interval_level, with_point=False
    )
    offset = conformal_offset(
        cqr_scores(crossfit.log_quantiles, log_target(crossfit.held_out)), interval_level
    )
    model = fit_salary_model(data, seed=seed, params=resolved, interval_level=interval_level)
    model.conformal_offset = offset
    evaluation = (
        evaluate_protocols(prepared, seed=seed, params=resolved, interval_level=interval_level)
        if evaluate
        else None
    )
    elapsed = time.perf_counter() - started
    logger.info("Trained production model on %d rows in %.1f s", len(data), elapsed)
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
        calibration={
            "method": "CQR (symmetric score, log space)",
            "validation": crossfit.description,
            "rows": len(crossfit.held_out),
            "conformal_offset": offset,
        },
        fingerprint=data_fingerprint(data),
        library_versions=library_versions(),
        training_seconds=round(elapsed, 3),
        evaluation=evaluation,
    )
