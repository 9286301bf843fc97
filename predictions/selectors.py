"""Reads for predictions and batch jobs: always scoped to one user, plus the market histogram
and the exposure backlog (for /metrics)."""

from __future__ import annotations

import datetime
import logging
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from mlmodel.core.profile import EXPERIENCE_LEVELS
from mlmodel.core.taxonomy import job_family
from mlmodel.models import ReviewStatus, SalaryRecord
from mlmodel.selectors import salary_data_generation, salary_training_sources
from predictions import batch
from predictions.charts import Histogram, nice_step
from predictions.models import BatchJob, PendingExposure, Prediction

logger = logging.getLogger(__name__)

# Fewer salaries than this for level + job family and the picture falls back to the level.
MARKET_MIN_SAMPLE = 30
MARKET_TARGET_BINS = 24
# Bars stop at this quantile so a handful of extreme salaries do not squash the rest.
MARKET_UPPER_QUANTILE = 0.99
MARKET_CACHE_SECONDS = 15 * 60
MARKET_CACHE_VERSION = 1


def prediction_list_for_user(
    *,
    user,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[Prediction]:
    """The user's own predictions, newest first, optionally within a date range (inclusive)."""
    predictions = Prediction.objects.filter(user=user).select_related("model_version")
    predictions = predictions.defer("model_version__artifact")
    if date_from is not None:
        predictions = predictions.filter(created_at__gte=_start_of_day(date_from))
    if date_to is not None:
        next_day = date_to + datetime.timedelta(days=1)
        predictions = predictions.filter(created_at__lt=_start_of_day(next_day))
    return predictions.order_by("-created_at", "-id")


def prediction_get_for_user(*, user, prediction_id: int) -> Prediction | None:
    """One prediction if it is the user's own; ``None`` for anyone else's (callers answer 404)."""
    return prediction_list_for_user(user=user).filter(pk=prediction_id).first()


def batch_job_list_for_user(*, user) -> QuerySet[BatchJob]:
    """The user's batch jobs without their file blobs (a list never needs them)."""
    return (
        BatchJob.objects.filter(user=user)
        .defer("input_csv", "result_csv")
        .select_related("model_version")
        .defer("model_version__artifact")
        .order_by("-created_at", "-id")
    )


def batch_job_get_for_user(*, user, job_id: int) -> BatchJob | None:
    return batch_job_list_for_user(user=user).filter(pk=job_id).first()


def batch_job_result_csv(*, job: BatchJob) -> bytes | None:
    """The stored results file, read only when someone downloads it."""
    data = BatchJob.objects.filter(pk=job.pk).values_list("result_csv", flat=True).first()
    return bytes(data) if data is not None else None


def batch_job_result_rows(*, job: BatchJob) -> list[dict[str, object]]:
    """The predicted rows of a finished job as JSON-ready dicts (errors are in ``row_errors``)."""
    data = batch_job_result_csv(job=job)
    if data is None:
        return []
    rows = []
    for row in batch.read_result_rows(data):
        if row.get("error"):
            continue
        rows.append(
            {
                "line": int(row[batch.LINE_COLUMN]),
                "inputs": {
                    column: value
                    for column, value in row.items()
                    if column not in batch.OUTPUT_OWN_COLUMNS
                },
                "estimate_usd": int(row["estimate_usd"]),
                "interval_low_usd": int(row["interval_low_usd"]),
                "interval_high_usd": int(row["interval_high_usd"]),
                "interval_level": float(row["interval_level"]),
                "model_version": int(row["model_version"]),
            }
        )
    return rows


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _quantile(sorted_values: list[int], q: float) -> int:
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _histogram(salaries: list[int], description: str) -> Histogram:
    values = sorted(salaries)
    lowest, upper = values[0], _quantile(values, MARKET_UPPER_QUANTILE)
    step = int(nice_step(max(upper - lowest, 1), MARKET_TARGET_BINS)) or 1
    start = (lowest // step) * step
    bins = max(1, math.ceil((upper - start + 1) / step))
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, (value - start) // step)] += 1
    edges = [start + step * index for index in range(bins + 1)]
    return Histogram(bin_edges=edges, counts=counts, description=description)


def _approved_salaries() -> QuerySet[SalaryRecord]:
    """The rows the model would train on: real data when there is any, else the demo rows."""
    return SalaryRecord.objects.filter(
        review_status=ReviewStatus.APPROVED, source__in=salary_training_sources()
    )


def _market_histogram_uncached(experience_level: str, family: str) -> Histogram | None:
    level_rows = _approved_salaries().filter(experience_level=experience_level)
    level_label = EXPERIENCE_LEVELS.get(experience_level, experience_level)
    titles = set(level_rows.values_list("job_title", flat=True).distinct())
    family_titles = [title for title in titles if job_family(title) == family]
    if family_titles:
        salaries = list(
            level_rows.filter(job_title__in=family_titles).values_list("salary_in_usd", flat=True)
        )
        if len(salaries) >= MARKET_MIN_SAMPLE:
            return _histogram(salaries, f"{level_label} · {family}")
    salaries = list(level_rows.values_list("salary_in_usd", flat=True))
    if len(salaries) >= MARKET_MIN_SAMPLE:
        return _histogram(salaries, f"All {level_label} jobs")
    return None


def market_histogram(*, experience_level: str, family: str) -> Histogram | None:
    """Salaries of similar jobs (same level and job family, else same level); cached.

    ``None`` when there are too few approved salaries to draw anything meaningful.
    """
    key = ":".join(
        (
            "predictions:market",
            str(MARKET_CACHE_VERSION),
            str(salary_data_generation()),
            slugify(experience_level),
            slugify(family),
        )
    )
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    histogram = _market_histogram_uncached(experience_level, family)
    # An empty tuple caches "no data" too, so a fresh install does not query on every page.
    cache.set(key, histogram if histogram is not None else (), MARKET_CACHE_SECONDS)
    return histogram


# A backlog is counted up to this many rows, so a scrape stays cheap after a long outage.
EXPOSURE_BACKLOG_COUNT_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class ExposureBacklog:
    pending: int  # queued exposures, at most EXPOSURE_BACKLOG_COUNT_CAP
    oldest_age_seconds: float  # 0 when nothing waits


def exposure_backlog() -> ExposureBacklog:
    """What the worker has not recorded yet: the queue is drained every few seconds, so a
    growing age means no worker (or no broker) is recording exposures."""
    queue = PendingExposure.objects.order_by("prediction_id")
    oldest = queue.values_list("created_at", flat=True).first()
    if oldest is None:
        return ExposureBacklog(pending=0, oldest_age_seconds=0.0)
    return ExposureBacklog(
        pending=queue[:EXPOSURE_BACKLOG_COUNT_CAP].count(),
        oldest_age_seconds=max(0.0, (timezone.now() - oldest).total_seconds()),
    )
