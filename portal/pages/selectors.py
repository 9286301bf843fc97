"""Reads for the site pages: which model serves, whether it is a demo, and its metrics.

The model registry's Django side (``mlmodel.selectors``) is optional here: until it exists, or
while its table is empty or unreachable, the pages say "no model yet" instead of failing.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from numbers import Number

from django.core.cache import cache

logger = logging.getLogger(__name__)

DEMO_FLAG_CACHE_KEY = "pages:serving-model-is-demo"
DEMO_FLAG_CACHE_SECONDS = 30
LARGE_NUMBER_THRESHOLD = 1000

METRIC_LABELS = {
    "mae": "Mean absolute error (USD)",
    "mae_usd": "Mean absolute error (USD)",
    "median_ae": "Median absolute error (USD)",
    "median_ae_usd": "Median absolute error (USD)",
    "rmse": "Root mean squared error (USD)",
    "rmse_usd": "Root mean squared error (USD)",
    "mape": "Mean absolute percentage error",
    "r2": "R² (share of variance explained)",
    "r2_log": "R² on log salary",
    "coverage": "90% interval coverage on held-out data",
    "interval_coverage": "90% interval coverage on held-out data",
    "coverage_90": "90% interval coverage on held-out data",
    "mean_interval_width": "Mean interval width (USD)",
    "mean_interval_width_usd": "Mean interval width (USD)",
    "n_train": "Training rows",
    "n_test": "Test rows",
    "n_calibration": "Calibration rows",
}


@dataclass(frozen=True)
class ServingModel:
    version: int
    traffic_share: int
    is_demo: bool
    trained_at: datetime | None
    activated_at: datetime | None
    metrics: list[tuple[str, str]] = field(default_factory=list)
    training_rows: int | None = None


def _format_metric(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Number):
        return str(value) if isinstance(value, str) and value else None
    if isinstance(value, int):
        return f"{value:,}"
    number = float(value)
    if abs(number) >= LARGE_NUMBER_THRESHOLD:
        return f"{number:,.0f}"
    return f"{number:.3f}"


def _humanize_key(key: str) -> str:
    """``per_level`` → ``Per level``; codes such as ``SE`` keep their case."""
    label = str(key).replace("_", " ")
    return label[:1].upper() + label[1:]


def _metric_rows(metrics: object) -> list[tuple[str, str]]:
    """Flat, human-labelled rows from a metrics dict; nested sections get a prefixed label."""
    if not isinstance(metrics, dict):
        return []
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows.extend(
                (f"{_humanize_key(key)}: {label}", text) for label, text in _metric_rows(value)
            )
            continue
        text = _format_metric(value)
        if text is not None:
            rows.append((METRIC_LABELS.get(key) or _humanize_key(key), text))
    return rows


def _serving_versions() -> list:
    """The serving ModelVersion rows, or [] when the registry is absent or not migrated."""
    try:
        from mlmodel.selectors import model_versions_serving
    except ImportError:
        return []
    return list(model_versions_serving())


def serving_models() -> list[ServingModel]:
    """What the about page shows; an empty list means no model serves yet."""
    try:
        versions = _serving_versions()
    except Exception:  # the page explains "no model" rather than failing
        logger.exception("could not read the serving model versions")
        return []
    overview = []
    for version in versions:
        training = getattr(version, "training_data", None)
        rows = training.get("row_count") if isinstance(training, dict) else None
        overview.append(
            ServingModel(
                version=version.version,
                traffic_share=version.traffic_share,
                is_demo=version.is_demo,
                trained_at=version.trained_at,
                activated_at=version.activated_at,
                metrics=_metric_rows(version.metrics),
                training_rows=rows if isinstance(rows, int) else None,
            )
        )
    return overview


def serving_model_is_demo() -> bool:
    """True when any serving version was trained on synthetic data (cached briefly)."""
    try:
        cached = cache.get(DEMO_FLAG_CACHE_KEY)
    except Exception:  # a cache outage must not take pages down
        cached = None
    if cached is not None:
        return bool(cached)
    try:
        is_demo = any(version.is_demo for version in _serving_versions())
    except Exception:  # no banner is better than no page
        logger.warning("could not tell whether the serving model is a demo", exc_info=True)
        return False
    try:
        cache.set(DEMO_FLAG_CACHE_KEY, is_demo, timeout=DEMO_FLAG_CACHE_SECONDS)
    except Exception:  # a cache outage must not take pages down
        logger.warning("could not cache the demo-model flag", exc_info=True)
    return is_demo
