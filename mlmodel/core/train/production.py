"""The served model: trained on every row, calibrated by cross-fitting its last year, with the
rolling-origin backtest of this very training code attached to its evaluation."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping

import pandas as pd

from mlmodel.core.bundle import ModelBundle
from mlmodel.core.train.backtest import run_backtest
from mlmodel.core.train.data import deduplicate, prepare_frame
from mlmodel.core.train.fitting import DEFAULT_INTERVAL_LEVEL, DEFAULT_SEED, resolve_params
from mlmodel.core.train.protocols import evaluate_protocols
from mlmodel.core.train.serving import fit_serving_bundle, library_versions

logger = logging.getLogger(__name__)

__all__ = ["library_versions", "train_production_model"]


def train_production_model(
    df: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    params: Mapping[str, Mapping[str, object]] | None = None,
    interval_level: float = DEFAULT_INTERVAL_LEVEL,
    evaluate: bool = True,
    backtest: bool = True,
) -> ModelBundle:
    """Train the model to serve on every row (all years); with ``evaluate``, attach both
    protocols and (with ``backtest``) the rolling-origin backtest (``evaluation["backtest"]``).
    """
    started = time.perf_counter()
    prepared = prepare_frame(df)
    data = deduplicate(prepared)
    resolved = resolve_params(params)
    bundle = fit_serving_bundle(data, seed=seed, params=resolved, interval_level=interval_level)
    evaluation = None
    if evaluate:
        # The backtest's last origin is the production protocol's model: trained once.
        bundles: dict[int, ModelBundle] = {}
        backtest_report = (
            run_backtest(
                data, seed=seed, params=resolved, interval_level=interval_level, bundles=bundles
            )
            if backtest
            else None
        )
        last_year = int(data["work_year"].max())
        evaluation = evaluate_protocols(
            prepared,
            seed=seed,
            params=resolved,
            interval_level=interval_level,
            serving_bundle=bundles.get(last_year),
        )
        if backtest_report is not None:
            evaluation["backtest"] = backtest_report
    elapsed = time.perf_counter() - started
    logger.info("Trained production model on %d rows in %.1f s", len(data), elapsed)
    return dataclasses.replace(bundle, training_seconds=round(elapsed, 3), evaluation=evaluation)
