"""Rolling-origin backtest: for each test year, the served model's training on every year before.

For a test year t the model is trained by :func:`~mlmodel.core.train.serving.fit_serving_bundle`
(the served model's code path, calibration included) on the years before t and served by the
serving :class:`~mlmodel.core.predictor.Predictor` built from that bundle; the original recipe
and the naive median are trained on the same rows. Rows of year t are split by whether their
title occurred in the training rows (``seen_title``) or not (``unseen_title``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import median_absolute_error, r2_score

from mlmodel.core.bundle import ModelBundle
from mlmodel.core.predictor import GROUP_SEEN_TITLE, GROUP_UNSEEN_TITLE, Predictor
from mlmodel.core.profile import PROFILE_FIELDS
from mlmodel.core.train.baselines import NaiveMedian, OriginalRecipe
from mlmodel.core.train.data import TARGET_COLUMN, deduplicate, prepare_frame
from mlmodel.core.train.fitting import DEFAULT_INTERVAL_LEVEL, DEFAULT_SEED
from mlmodel.core.train.serving import fit_serving_bundle

logger = logging.getLogger(__name__)

BACKTEST_YEARS: tuple[int, ...] = (2022, 2023, 2024)
MONEY_DECIMALS = 2
RATIO_DECIMALS = 4


def interval_metrics(
    actual: np.ndarray, estimate: np.ndarray, low: np.ndarray | None, high: np.ndarray | None
) -> dict[str, object]:
    """MAE, median absolute error, R², coverage and mean width (None without an interval)."""
    actual = np.asarray(actual, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    errors = np.abs(actual - estimate)
    metrics: dict[str, object] = {
        "mae": round(float(errors.mean()), MONEY_DECIMALS) if len(actual) else None,
        "median_ae": round(float(median_absolute_error(actual, estimate)), MONEY_DECIMALS)
        if len(actual)
        else None,
        "r2": round(float(r2_score(actual, estimate)), RATIO_DECIMALS) if len(actual) > 1 else None,
        "coverage": None,
        "mean_width": None,
    }
    if low is not None and high is not None and len(actual):
        low = np.asarray(low, dtype=np.float64)
        high = np.asarray(high, dtype=np.float64)
        metrics["coverage"] = round(float(((actual >= low) & (actual <= high)).mean()), 4)
        metrics["mean_width"] = round(float((high - low).mean()), MONEY_DECIMALS)
    return metrics


def _group_metrics(
    actual: np.ndarray, estimate: np.ndarray, low: np.ndarray, high: np.ndarray, rows: np.ndarray
) -> dict[str, object]:
    full = interval_metrics(actual[rows], estimate[rows], low[rows], high[rows])
    return {
        "rows": int(rows.sum()),
        "mae": full["mae"],
        "coverage": full["coverage"],
        "mean_width": full["mean_width"],
    }


def backtest_year(
    data: pd.DataFrame,
    test_year: int,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    bundles: dict[int, ModelBundle] | None = None,
) -> dict[str, object] | None:
    """One origin: train on every year before ``test_year``, test on it (None if impossible).
    The trained bundle is left in ``bundles[test_year]`` when a dict is given."""
    train = data[data["work_year"] < test_year].reset_index(drop=True)
    test = data[data["work_year"] == test_year].reset_index(drop=True)
    if train.empty or test.empty:
        return None
    started = time.perf_counter()
    bundle = fit_serving_bundle(train, seed=seed, params=params, interval_level=interval_level)
    if bundles is not None:
        bundles[int(test_year)] = bundle
    predictor = Predictor.from_bundle(bundle)
    batch = predictor.predict_many(test[list(PROFILE_FIELDS)])
    actual = test[TARGET_COLUMN].to_numpy(dtype=np.float64)
    seen = np.array([predictor.encoder.title_seen(t) for t in test["job_title"]], dtype=bool)
    estimate, low, high = batch.estimate_usd, batch.interval_low_usd, batch.interval_high_usd
    models: dict[str, dict] = {"ours": interval_metrics(actual, estimate, low, high)}
    models["original"] = interval_metrics(
        actual, OriginalRecipe(seed).fit(train).predict(test), None, None
    )
    models["naive_median"] = interval_metrics(
        actual, NaiveMedian().fit(train).predict(test), None, None
    )
    logger.info("Backtest %d in %.1f s", test_year, time.perf_counter() - started)
    return {
        "test_year": int(test_year),
        "train_years": sorted(int(y) for y in train["work_year"].unique()),
        "rows": len(test),
        "train_rows": len(train),
        "models": models,
        "groups": {
            GROUP_SEEN_TITLE: _group_metrics(actual, estimate, low, high, seen),
            GROUP_UNSEEN_TITLE: _group_metrics(actual, estimate, low, high, ~seen),
        },
        "calibration": {
            "group_offsets": bundle.calibration["group_offsets"],
            "group_rows": bundle.calibration["group_rows"],
        },
    }


def run_backtest(
    df: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    years: tuple[int, ...] = BACKTEST_YEARS,
    bundles: dict[int, ModelBundle] | None = None,
) -> dict[str, object]:
    """``{"years": [one report per test year], "skipped": [years it could not test, why]}``."""
    data = deduplicate(prepare_frame(df))
    reports, skipped = [], []
    for year in years:
        try:
            report = backtest_year(
                data,
                year,
                seed=seed,
                params=params,
                interval_level=interval_level,
                bundles=bundles,
            )
        except ValueError as exc:  # too few training rows for that origin
            logger.info("Backtest %d skipped: %s", year, exc)
            skipped.append({"test_year": int(year), "reason": str(exc)})
            continue
        if report is None:
            skipped.append({"test_year": int(year), "reason": "no rows before or in that year"})
        else:
            reports.append(report)
    return {
        "method": "rolling origin, served model's training path",
        "years": reports,
        "skipped": skipped,
    }
