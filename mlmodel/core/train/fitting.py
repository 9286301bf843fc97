"""Fitting our model: features + point booster + quantile booster + ridge, and cross-fitting.

Model ("ours"): a scikit-learn ``Pipeline(SalaryFeatureTransformer, XGBRegressor)`` on log
salary (squared error, so it estimates the conditional median of a log-normal-ish salary),
blended in log space with a ridge regression on one-hot categories (a different inductive
bias that lowered validation MAE), plus a two-output quantile booster (``reg:quantileerror``,
α/2 and 1 − α/2) on the same features whose interval is conformalised (CQR, in log space).

Hyper-parameters below were chosen on the seed protocol's validation year (2023) only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from mlmodel.core.linear import LinearComponent
from mlmodel.core.predictor import blend_log, bound_predictions
from mlmodel.core.profile import PROFILE_FIELDS
from mlmodel.core.train.data import log_target
from mlmodel.core.train.linear_fit import fit_linear_component
from mlmodel.core.train.transformer import SalaryFeatureTransformer

DEFAULT_SEED = 42
DEFAULT_INTERVAL_LEVEL = 0.9
CROSSFIT_FOLDS = 5
MIN_ROWS_PER_FOLD = 20
TRAINING_THREADS = 1

# Chosen on the seed protocol's validation year (2023); see docs/benchmarks.md. 300/200 trees at
# learning rate 0.06 validated as well as 600/400 at 0.03 and predict twice as fast.
DEFAULT_POINT_PARAMS: dict[str, object] = {
    "objective": "reg:squarederror",
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.06,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "tree_method": "hist",
}
DEFAULT_QUANTILE_PARAMS: dict[str, object] = {
    "objective": "reg:quantileerror",
    "n_estimators": 300,
    "max_depth": 2,
    "learning_rate": 0.06,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 5,
    "tree_method": "hist",
}
DEFAULT_FEATURE_PARAMS: dict[str, object] = {"smoothing": 10.0, "cv_folds": 5}
# The point estimate blends the booster with a ridge on one-hot categories in log space:
# log estimate = (1 − w) · booster + w · ridge. w and alpha were chosen on both validation
# sets (seed protocol 2023 hold-out and the production protocol's cross-fitted 2023).
DEFAULT_BLEND_PARAMS: dict[str, object] = {"linear_weight": 0.35, "ridge_alpha": 3.0}
PARAM_GROUPS = ("point", "quantile", "features", "blend")


def resolve_params(params: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, dict]:
    """Defaults overridden per group: ``{"point": {...}, "quantile": {...}, ...}``."""
    params = params or {}
    unknown = set(params) - set(PARAM_GROUPS)
    if unknown:
        raise ValueError(f"Unknown parameter groups: {sorted(unknown)}")
    resolved = {
        "point": {**DEFAULT_POINT_PARAMS, **params.get("point", {})},
        "quantile": {**DEFAULT_QUANTILE_PARAMS, **params.get("quantile", {})},
        "features": {**DEFAULT_FEATURE_PARAMS, **params.get("features", {})},
        "blend": {**DEFAULT_BLEND_PARAMS, **params.get("blend", {})},
    }
    if not 0.0 <= float(resolved["blend"]["linear_weight"]) <= 1.0:
        raise ValueError("blend.linear_weight must be within [0, 1].")
    return resolved


@dataclass
class FittedSalaryModel:
    """Our model fitted on some rows; ``conformal_offset`` is set once it is calibrated."""

    pipeline: Pipeline
    quantile_model: xgb.XGBRegressor
    interval_level: float
    linear: LinearComponent | None = None
    linear_weight: float = 0.0
    conformal_offset: float | None = None

    @property
    def features(self) -> SalaryFeatureTransformer:
        return self.pipeline.named_steps["features"]

    def predict_point(self, df: pd.DataFrame) -> np.ndarray:
        """Log point estimate (booster blended with the ridge) for profile rows."""
        encoded = self.features.transform(df[list(PROFILE_FIELDS)])
        point = self.pipeline.named_steps["model"].predict(encoded)
        if self.linear is not None:
            linear = self.linear.predict_terms(self.linear.terms_many(df))
            point = blend_log(point, linear, self.linear_weight)
        return point

    def predict_log(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(log point estimate, (n, 2) log quantiles) for profile rows."""
        return self.predict_point(df), self.predict_quantiles(df)

    def predict_quantiles(self, df: pd.DataFrame) -> np.ndarray:
        """(n, 2) log quantiles (uncalibrated) for profile rows."""
        encoded = self.features.transform(df[list(PROFILE_FIELDS)])
        return self.quantile_model.predict(encoded).reshape(len(df), 2)

    def predict(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dollar (estimate, low, high), with exactly the serving code's rounding/clamping."""
        if self.conformal_offset is None:
            raise RuntimeError("Model is not calibrated: set conformal_offset first.")
        log_point, log_quantiles = self.predict_log(df)
        return bound_predictions(log_point, log_quantiles, self.conformal_offset)


def _n_jobs() -> int:
    """One thread: on ~10K rows XGBoost gains little from threads, and on a shared 2-core
    machine OpenMP threads that wait on each other made fits ~10x slower (measured)."""
    return TRAINING_THREADS


def fit_salary_model(
    train: pd.DataFrame,
    *,
    seed: int,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    with_point: bool = True,
    with_quantile: bool = True,
) -> FittedSalaryModel:
    """Fit features + point booster + quantile booster on ``train`` only (uncalibrated);
    ``with_point`` / ``with_quantile`` off skip the half a caller does not need."""
    resolved = resolve_params(params)
    alpha = 1.0 - interval_level
    features = SalaryFeatureTransformer(**resolved["features"], random_state=seed)
    log_y = log_target(train)
    encoded = features.fit_transform(train[list(PROFILE_FIELDS)], log_y)
    point = xgb.XGBRegressor(**resolved["point"], random_state=seed, n_jobs=_n_jobs())
    if with_point:
        point.fit(encoded, log_y)
    quantile = xgb.XGBRegressor(
        **resolved["quantile"],
        quantile_alpha=np.array([alpha / 2.0, 1.0 - alpha / 2.0]),
        random_state=seed,
        n_jobs=_n_jobs(),
    )
    if with_quantile:
        quantile.fit(encoded, log_y)
    pipeline = Pipeline([("features", features), ("model", point)])
    linear = None
    if with_point:
        linear = fit_linear_component(train, log_y, float(resolved["blend"]["ridge_alpha"]))
    return FittedSalaryModel(
        pipeline,
        quantile,
        interval_level,
        linear=linear,
        linear_weight=float(resolved["blend"]["linear_weight"]),
    )


def crossfit_folds(
    train: pd.DataFrame, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(fit rows, held-out rows) index pairs: folds of the last training year when it is big
    enough, otherwise folds of all rows (tiny/demo data)."""
    last_year = int(train["work_year"].max())
    last_rows = np.flatnonzero(train["work_year"].to_numpy() == last_year)
    earlier_rows = np.flatnonzero(train["work_year"].to_numpy() != last_year)
    folds = KFold(CROSSFIT_FOLDS, shuffle=True, random_state=seed)
    if len(last_rows) >= CROSSFIT_FOLDS * MIN_ROWS_PER_FOLD:
        pairs = [
            (np.concatenate([earlier_rows, last_rows[fit]]), last_rows[held])
            for fit, held in folds.split(last_rows)
        ]
        return pairs, f"cross-fitted on {last_year} ({CROSSFIT_FOLDS} folds)"
    all_rows = np.arange(len(train))
    return (
        [(fit, held) for fit, held in folds.split(all_rows)],
        f"cross-fitted on all training rows ({CROSSFIT_FOLDS} folds; last year too small)",
    )


@dataclass
class CrossFitResult:
    held_out: pd.DataFrame
    log_point: np.ndarray | None
    log_quantiles: np.ndarray | None
    description: str


def crossfit_last_year(
    train: pd.DataFrame,
    *,
    seed: int,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    with_point: bool = True,
    with_quantile: bool = True,
) -> CrossFitResult:
    """Out-of-fold predictions on the last training year, for calibration and validation
    (``log_quantiles`` is None without ``with_quantile``)."""
    pairs, description = crossfit_folds(train, seed)
    held_parts, points, quantiles = [], [], []
    for fit_rows, held_rows in pairs:
        fold_model = fit_salary_model(
            train.iloc[fit_rows],
            seed=seed,
            params=params,
            interval_level=interval_level,
            with_point=with_point,
            with_quantile=with_quantile,
        )
        held = train.iloc[held_rows]
        if with_point:
            points.append(fold_model.predict_point(held))
        if with_quantile:
            quantiles.append(fold_model.predict_quantiles(held))
        held_parts.append(held)
    return CrossFitResult(
        held_out=pd.concat(held_parts),
        log_point=np.concatenate(points) if with_point else None,
        log_quantiles=np.concatenate(quantiles) if with_quantile else None,
        description=description,
    )
