"""Training half of the features: learn target statistics and the cross-fitted transformer.

:class:`SalaryFeatureTransformer` is the scikit-learn step inside the training ``Pipeline``. It
learns smoothed target statistics (mean log salary per job title, job family, company country,
residence country) from the training rows only, using out-of-fold estimates for the rows it is
fitted on so the booster never sees a row's own salary through a feature. Its fitted state is
plain JSON, read back by the serving :class:`~mlmodel.core.encoding.FeatureEncoder`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import KFold

from mlmodel.core.encoding import (
    FEATURE_NAMES,
    FeatureEncoder,
    TargetStatistics,
    profile_columns,
)
from mlmodel.core.profile import PROFILE_FIELDS
from mlmodel.core.taxonomy import job_family, region, title_key

DEFAULT_SMOOTHING = 10.0
DEFAULT_CV_FOLDS = 5


def _smoothed_means(
    keys: np.ndarray, target: np.ndarray, prior: np.ndarray, smoothing: float
) -> tuple[dict[str, float], dict[str, int]]:
    """Per-key mean of target shrunk towards a per-key prior: rare keys stay near the prior."""
    frame = pd.DataFrame({"key": keys, "target": target, "prior": prior})
    grouped = frame.groupby("key", sort=True).agg(
        total=("target", "sum"), count=("target", "size"), prior=("prior", "mean")
    )
    values = (grouped["total"] + smoothing * grouped["prior"]) / (grouped["count"] + smoothing)
    return (
        {str(k): float(v) for k, v in values.items()},
        {str(k): int(v) for k, v in grouped["count"].items()},
    )


def _lookup(table: Mapping[str, float], keys: Sequence[str], fallback: np.ndarray) -> np.ndarray:
    values = np.array([table.get(key, math.nan) for key in keys], dtype=np.float64)
    missing = np.isnan(values)
    values[missing] = fallback[missing]
    return values


def fit_target_statistics(
    columns: Mapping[str, Sequence], log_target: np.ndarray, smoothing: float = DEFAULT_SMOOTHING
) -> TargetStatistics:
    """Hierarchical shrinkage: title -> its job family -> global; country -> region -> global."""
    stats = TargetStatistics(smoothing)
    target = np.asarray(log_target, dtype=np.float64)
    stats.global_mean = float(target.mean())
    glob = np.full(len(target), stats.global_mean)
    titles = np.array([title_key(t) for t in columns["job_title"]], dtype=object)
    families = np.array([job_family(t) for t in columns["job_title"]], dtype=object)
    stats.family, _ = _smoothed_means(families, target, glob, smoothing)
    family_prior = _lookup(stats.family, families, glob)
    stats.title, stats.title_counts = _smoothed_means(titles, target, family_prior, smoothing)
    for prefix, field in (("company", "company_location"), ("residence", "employee_residence")):
        countries = np.array(columns[field], dtype=object)
        regions = np.array([region(c) for c in countries], dtype=object)
        region_table, _ = _smoothed_means(regions, target, glob, smoothing)
        region_prior = _lookup(region_table, regions, glob)
        country_table, _ = _smoothed_means(countries, target, region_prior, smoothing)
        setattr(stats, f"{prefix}_region", region_table)
        setattr(stats, f"{prefix}_country", country_table)
    return stats


class SalaryFeatureTransformer(TransformerMixin, BaseEstimator):
    """Pipeline step: learns target statistics on the rows it is fitted on, and nothing else.

    ``y`` is the natural log of salary in USD (the model's target). ``fit_transform`` returns
    out-of-fold encodings for its own rows (cross-fitting) so the downstream booster does not
    learn to trust a title statistic that already contains the row's own salary.
    """

    def __init__(
        self,
        smoothing: float = DEFAULT_SMOOTHING,
        cv_folds: int = DEFAULT_CV_FOLDS,
        random_state: int = 0,
    ):
        self.smoothing = smoothing
        self.cv_folds = cv_folds
        self.random_state = random_state

    def fit(self, X, y):
        columns = profile_columns(X)
        log_target = np.asarray(y, dtype=np.float64)
        self.encoder_ = FeatureEncoder(fit_target_statistics(columns, log_target, self.smoothing))
        self.n_features_in_ = len(PROFILE_FIELDS)
        self.feature_names_out_ = np.array(FEATURE_NAMES, dtype=object)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        if y is None:
            raise ValueError("SalaryFeatureTransformer needs the salary target to fit.")
        self.fit(X, y)
        columns = profile_columns(X)
        n_rows = len(columns["job_title"])
        if self.cv_folds < 2 or n_rows < 2 * self.cv_folds:
            return self.encoder_.encode_columns(columns)
        log_target = np.asarray(y, dtype=np.float64)
        out = np.empty((n_rows, len(FEATURE_NAMES)), dtype=np.float32)
        folds = KFold(self.cv_folds, shuffle=True, random_state=self.random_state)
        for fit_idx, held_idx in folds.split(np.arange(n_rows)):
            fit_cols = {k: [v[i] for i in fit_idx] for k, v in columns.items()}
            held_cols = {k: [v[i] for i in held_idx] for k, v in columns.items()}
            stats = fit_target_statistics(fit_cols, log_target[fit_idx], self.smoothing)
            out[held_idx] = FeatureEncoder(stats).encode_columns(held_cols)
        return out

    def transform(self, X):
        return self.encoder_.encode_many(X)

    def get_feature_names_out(self, input_features=None):
        return np.array(FEATURE_NAMES, dtype=object)

    def to_spec(self) -> dict:
        """Fitted state as plain JSON-serialisable data."""
        return self.encoder_.to_spec()

    @classmethod
    def from_spec(cls, spec: Mapping) -> SalaryFeatureTransformer:
        encoder = FeatureEncoder.from_spec(spec)
        transformer = cls(smoothing=encoder.stats.smoothing)
        transformer.encoder_ = encoder
        transformer.n_features_in_ = len(PROFILE_FIELDS)
        transformer.feature_names_out_ = np.array(FEATURE_NAMES, dtype=object)
        return transformer
