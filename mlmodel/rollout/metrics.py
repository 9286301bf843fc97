"""Live per-version and per-arm metrics: a daily rollup kept by Celery beat, and its readers.

Predictions, feedback and shadow answers are summed per (version, arm, day) into
``ArmDailyStats`` (:func:`arm_daily_stats_refresh`): the last ``ROLLUP_DAYS`` days and every
day whose feedback changed since the previous run are rebuilt, so late feedback lands on the
day of the prediction it judges. The dashboard (:func:`experiment_dashboard`) sums those rows,
counts recorded assignments and pairs shadow answers with feedback: none of it scans the
predictions table, which is what keeps it under a second over a million predictions.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Abs
from django.utils import timezone

from feedback.models import Feedback, Rating
from mlmodel.core.experiment_stats import (
    bootstrap_mean_interval,
    histogram_quantile,
    population_stability_index,
    sample_ratio_mismatch,
)
from mlmodel.models import (
    ArmDailyStats,
    ArmRole,
    Assignment,
    Experiment,
    ModelVersion,
    ReviewStatus,
    SalaryRecord,
    ServingError,
)
from predictions.models import Prediction, ShadowPrediction

logger = logging.getLogger(__name__)

# Upper edges (ms) of the latency histogram kept per day; p50/p95 are read from it.
LATENCY_BUCKETS_MS = (1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 250, 500, 1_000, 10_000)
# Features whose served mix is compared with the version's training data. The work year is
# left out on purpose: asking about next year is the point, not drift.
DRIFT_FEATURES = (
    "experience_level",
    "employment_type",
    "company_size",
    "remote_ratio",
    "company_location",
)
LAST_REFRESH_KEY = "mlmodel:rollup:last-refresh"
TRAINING_MIX_CACHE_SECONDS = 3_600
MAX_SHADOW_PAIRS = 5_000
SRM_FLAGS_KEY = "mlmodel:srm-flags"
SRM_FLAGS_SECONDS = 3_600


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    return start, start + datetime.timedelta(days=1)


def _bucket_counts(prefix: str = "") -> dict[str, Count]:
    lower: float = -1
    counts = {}
    for index, upper in enumerate(LATENCY_BUCKETS_MS):
        last = index == len(LATENCY_BUCKETS_MS) - 1
        condition = Q(**{f"{prefix}latency_ms__gt": lower})
        if not last:
            condition &= Q(**{f"{prefix}latency_ms__lte": upper})
        counts[f"bucket_{index}"] = Count("id", filter=condition)
        lower = upper
    return counts


def _new_row(key: tuple[int, int | None], day: datetime.date) -> ArmDailyStats:
    return ArmDailyStats(
        model_version_id=key[0],
        arm_id=key[1],
        day=day,
        latency_histogram=[0] * len(LATENCY_BUCKETS_MS),
        ratings={},
        feature_counts={},
    )


def _rebuild_day(day: datetime.date) -> int:
    """Recompute every (version, arm) row of one day from the source tables."""
    start, end = _day_bounds(day)
    rows: dict[tuple[int, int | None], ArmDailyStats] = {}

    def row(version_id: int, arm_id: int | None) -> ArmDailyStats:
        key = (version_id, arm_id)
        if key not in rows:
            rows[key] = _new_row(key, day)
        return rows[key]

    served = Prediction.objects.filter(created_at__gte=start, created_at__lt=end)
    for item in served.values("model_version_id", "arm_id").annotate(
        n=Count("id"), latency=Sum("latency_ms"), **_bucket_counts()
    ):
        stats = row(item["model_version_id"], item["arm_id"])
        stats.predictions = item["n"]
        stats.latency_sum_ms = item["latency"] or 0.0
        stats.latency_histogram = [item[f"bucket_{i}"] for i in range(len(LATENCY_BUCKETS_MS))]
    for feature in DRIFT_FEATURES:
        for item in served.values(
            "model_version_id", "arm_id", value=F(f"inputs__{feature}")
        ).annotate(n=Count("id")):
            counts = row(item["model_version_id"], item["arm_id"]).feature_counts
            counts.setdefault(feature, {})[str(item["value"])] = item["n"]

    judged = Feedback.objects.filter(
        prediction__created_at__gte=start, prediction__created_at__lt=end
    )
    actual = Q(actual_salary_usd__isnull=False)
    for item in judged.values(
        version_id=F("prediction__model_version_id"), arm_id=F("prediction__arm_id")
    ).annotate(
        n=Count("id"),
        actuals=Count("id", filter=actual),
        abs_error=Sum(Abs(F("prediction__estimate_usd") - F("actual_salary_usd")), filter=actual),
        error=Sum(F("prediction__estimate_usd") - F("actual_salary_usd"), filter=actual),
        covered=Count(
            "id",
            filter=actual
            & Q(actual_salary_usd__gte=F("prediction__interval_low_usd"))
            & Q(actual_salary_usd__lte=F("prediction__interval_high_usd")),
        ),
        **{f"rating_{value}": Count("id", filter=Q(rating=value)) for value in Rating.values},
    ):
        stats = row(item["version_id"], item["arm_id"])
        stats.feedback = item["n"]
        stats.actuals = item["actuals"]
        stats.abs_error_sum = float(item["abs_error"] or 0)
        stats.error_sum = float(item["error"] or 0)
        stats.covered = item["covered"]
        stats.ratings = {value: item[f"rating_{value}"] for value in Rating.values}

    shadows = ShadowPrediction.objects.filter(
        prediction__created_at__gte=start, prediction__created_at__lt=end
    )
    shadow_actual = Q(prediction__feedback__actual_salary_usd__isnull=False)
    truth = F("prediction__feedback__actual_salary_usd")
    for item in shadows.values("model_version_id", "arm_id").annotate(
        n=Count("id"),
        latency=Sum("latency_ms"),
        actuals=Count("id", filter=shadow_actual),
        abs_error=Sum(Abs(F("estimate_usd") - truth), filter=shadow_actual),
        error=Sum(F("estimate_usd") - truth, filter=shadow_actual),
        covered=Count(
            "id",
            filter=shadow_actual & Q(interval_low_usd__lte=truth) & Q(interval_high_usd__gte=truth),
        ),
        **_bucket_counts(),
    ):
        stats = row(item["model_version_id"], item["arm_id"])
        stats.shadow_predictions = item["n"]
        stats.latency_sum_ms = item["latency"] or 0.0
        stats.latency_histogram = [item[f"bucket_{i}"] for i in range(len(LATENCY_BUCKETS_MS))]
        stats.feedback = stats.actuals = item["actuals"]
        stats.abs_error_sum = float(item["abs_error"] or 0)
        stats.error_sum = float(item["error"] or 0)
        stats.covered = item["covered"]

    errors = ServingError.objects.filter(created_at__gte=start, created_at__lt=end)
    for item in errors.values("model_version_id", "arm_id").annotate(n=Count("id")):
        row(item["model_version_id"], item["arm_id"]).errors = item["n"]

    with transaction.atomic():
        ArmDailyStats.objects.filter(day=day).delete()
        ArmDailyStats.objects.bulk_create(rows.values())
    return len(rows)


def _days_with_new_feedback(since: datetime.datetime | None) -> set[datetime.date]:
    if since is None:
        return set()
    created = (
        Feedback.objects.filter(updated_at__gte=since)
        .values_list("prediction__created_at", flat=True)
        .distinct()
    )
    return {moment.astimezone(datetime.UTC).date() for moment in created}


def arm_daily_stats_refresh(
    *, days: int | None = None, every_day: bool = False
) -> list[datetime.date]:
    """Rebuild the rollup: recent days, days with changed feedback, or (``every_day``) all."""
    started = timezone.now()
    today = started.astimezone(datetime.UTC).date()
    if every_day:
        first = Prediction.objects.order_by("created_at").values_list("created_at", flat=True)
        oldest = first.first()
        span = (today - oldest.astimezone(datetime.UTC).date()).days + 1 if oldest else 1
        wanted = {today - datetime.timedelta(days=n) for n in range(span)}
    else:
        recent = settings.ROLLUP_DAYS if days is None else days
        wanted = {today - datetime.timedelta(days=n) for n in range(recent)}
        wanted |= _days_with_new_feedback(cache.get(LAST_REFRESH_KEY))
    for day in sorted(wanted):
        _rebuild_day(day)
    cache.set(LAST_REFRESH_KEY, started, None)
    _publish_srm_flags()
    _publish_shadow_comparisons()
    logger.info("rollup rebuilt for %s days", len(wanted))
    return sorted(wanted)


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ArmMetrics:
    """What the dashboard and the API show for one arm or one version."""

    predictions: int = 0
    shadow_predictions: int = 0
    units: int = 0
    errors: int = 0
    error_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    feedback: int = 0
    feedback_rate: float | None = None
    actuals: int = 0
    mae: float | None = None
    bias: float | None = None
    coverage: float | None = None
    ratings: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _summed(rows: Iterable[ArmDailyStats]) -> ArmMetrics:
    metrics = ArmMetrics()
    histogram = [0] * len(LATENCY_BUCKETS_MS)
    abs_error = error = 0.0
    covered = 0
    ratings: Counter[str] = Counter()
    for stats in rows:
        metrics.predictions += stats.predictions
        metrics.shadow_predictions += stats.shadow_predictions
        metrics.errors += stats.errors
        metrics.feedback += stats.feedback
        metrics.actuals += stats.actuals
        abs_error += stats.abs_error_sum
        error += stats.error_sum
        covered += stats.covered
        ratings.update(stats.ratings)
        for index, count in enumerate(stats.latency_histogram[: len(histogram)]):
            histogram[index] += count
    answered = metrics.predictions + metrics.shadow_predictions
    if answered + metrics.errors:
        metrics.error_rate = metrics.errors / (answered + metrics.errors)
    if metrics.predictions:
        metrics.feedback_rate = metrics.feedback / metrics.predictions
    metrics.latency_p50_ms = histogram_quantile(LATENCY_BUCKETS_MS, histogram, 0.5)
    metrics.latency_p95_ms = histogram_quantile(LATENCY_BUCKETS_MS, histogram, 0.95)
    if metrics.actuals:
        metrics.mae = abs_error / metrics.actuals
        metrics.bias = error / metrics.actuals
        metrics.coverage = covered / metrics.actuals
    metrics.ratings = {value: ratings.get(value, 0) for value in Rating.values}
    return metrics


def arm_metrics(*, experiment: Experiment) -> dict[int, ArmMetrics]:
    """Arm id -> its metrics over the whole experiment; units = assignments this phase."""
    by_arm: dict[int, list[ArmDailyStats]] = defaultdict(list)
    for stats in ArmDailyStats.objects.filter(arm__experiment=experiment):
        by_arm[stats.arm_id].append(stats)
    units = dict(
        Assignment.objects.filter(experiment=experiment, phase=experiment.phase)
        .values_list("arm_id")
        .annotate(n=Count("id"))
    )
    result = {}
    for arm_id in experiment.arms.values_list("id", flat=True):
        metrics = _summed(by_arm.get(arm_id, []))
        metrics.units = units.get(arm_id, 0)
        result[arm_id] = metrics
    return result


def version_metrics(*, version_ids: Iterable[int] | None = None) -> dict[int, ArmMetrics]:
    """Version id -> its metrics over everything it answered (in experiments or not)."""
    rows = ArmDailyStats.objects.all()
    if version_ids is not None:
        rows = rows.filter(model_version_id__in=list(version_ids))
    by_version: dict[int, list[ArmDailyStats]] = defaultdict(list)
    for stats in rows:
        by_version[stats.model_version_id].append(stats)
    return {version_id: _summed(items) for version_id, items in by_version.items()}


def experiment_sample_ratio(*, experiment: Experiment):
    """Chi-square of recorded units per arm (this phase) against the configured weights."""
    arms = list(experiment.arms.exclude(role=ArmRole.SHADOW).select_related("model_version"))
    observed = dict(
        Assignment.objects.filter(experiment=experiment, phase=experiment.phase)
        .values_list("arm_id")
        .annotate(n=Count("id"))
    )
    label = {arm.pk: f"v{arm.model_version.version}" for arm in arms}
    return sample_ratio_mismatch(
        {label[arm.pk]: observed.get(arm.pk, 0) for arm in arms},
        {label[arm.pk]: arm.weight for arm in arms},
        alpha=settings.SRM_ALPHA,
        min_units=settings.SRM_MIN_UNITS,
    )


def _publish_srm_flags() -> None:
    """Cache the running experiment's SRM flag for the ``/metrics`` exporter."""
    flags = {}
    for experiment in Experiment.objects.filter(status="running"):
        flags[str(experiment.pk)] = int(experiment_sample_ratio(experiment=experiment).flagged)
    cache.set(SRM_FLAGS_KEY, flags, SRM_FLAGS_SECONDS)


def srm_flags() -> dict[str, int]:
    """Experiment id -> 1 when its split is mismatched (as of the last rollup)."""
    return cache.get(SRM_FLAGS_KEY) or {}


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    """Paired |shadow error| − |served error| on the same feedback (negative: shadow better)."""

    model_version: int
    pairs: int
    mean_difference: float | None
    low: float | None
    high: float | None


def _shadow_comparisons_now(experiment: Experiment) -> list[ShadowComparison]:
    comparisons = []
    for arm in experiment.arms.filter(role=ArmRole.SHADOW).select_related("model_version"):
        # From the (few) feedback salaries to their shadow answers, newest first.
        pairs = list(
            Feedback.objects.filter(actual_salary_usd__isnull=False, prediction__shadows__arm=arm)
            .order_by("-id")
            .values_list(
                "prediction__shadows__estimate_usd", "prediction__estimate_usd", "actual_salary_usd"
            )[:MAX_SHADOW_PAIRS]
        )
        differences = [abs(shadow - truth) - abs(served - truth) for shadow, served, truth in pairs]
        interval = bootstrap_mean_interval(differences)
        comparisons.append(
            ShadowComparison(
                model_version=arm.model_version.version,
                pairs=len(differences),
                mean_difference=interval.mean if interval else None,
                low=interval.low if interval else None,
                high=interval.high if interval else None,
            )
        )
    return comparisons


def _shadow_key(experiment: Experiment) -> str:
    return f"mlmodel:shadow-comparisons:{experiment.pk}"


def shadow_comparisons(*, experiment: Experiment) -> list[ShadowComparison]:
    """Per shadow arm: the paired difference and its bootstrap interval, as of the last rollup
    (computed now when the rollup has not run since the experiment started)."""
    cached = cache.get(_shadow_key(experiment))
    if cached is not None:
        return cached
    return _shadow_comparisons_now(experiment)


def _publish_shadow_comparisons() -> None:
    for experiment in Experiment.objects.filter(status="running"):
        cache.set(_shadow_key(experiment), _shadow_comparisons_now(experiment), SRM_FLAGS_SECONDS)


def _training_mix(model_version: ModelVersion) -> dict[str, dict[str, int]]:
    """Counts per category of each drift feature in the version's training years (cached)."""
    key = f"mlmodel:training-mix:{model_version.pk}"
    mix = cache.get(key)
    if mix is not None:
        return mix
    years = (model_version.training_data or {}).get("years") or []
    rows = SalaryRecord.objects.filter(review_status=ReviewStatus.APPROVED)
    if years:
        rows = rows.filter(work_year__in=years)
    mix = {
        feature: {
            str(value): count
            for value, count in rows.values_list(feature).annotate(n=Count("id")).order_by()
        }
        for feature in DRIFT_FEATURES
    }
    cache.set(key, mix, TRAINING_MIX_CACHE_SECONDS)
    return mix


def arm_drift(*, experiment: Experiment) -> dict[int, dict[str, float | None]]:
    """Arm id -> PSI per feature of what it served against its version's training data."""
    served: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for arm_id, counts in ArmDailyStats.objects.filter(arm__experiment=experiment).values_list(
        "arm_id", "feature_counts"
    ):
        for feature, values in counts.items():
            served[arm_id][feature].update(values)
    drift = {}
    for arm in experiment.arms.select_related("model_version"):
        training = _training_mix(arm.model_version)
        source_arm = arm.pk
        if arm.role == ArmRole.SHADOW:  # a shadow scores what the experiment served
            source_arm = None
        drift[arm.pk] = {
            feature: population_stability_index(
                training.get(feature, {}),
                _served_mix(served, feature, source_arm),
            )
            for feature in DRIFT_FEATURES
        }
    return drift


def _served_mix(
    served: Mapping[int, Mapping[str, Counter[str]]], feature: str, arm_id: int | None
) -> Counter[str]:
    if arm_id is not None:
        return Counter(served.get(arm_id, {}).get(feature, {}))
    total: Counter[str] = Counter()
    for counts in served.values():
        total.update(counts.get(feature, {}))
    return total


def experiment_daily_trend(*, experiment: Experiment) -> list[dict[str, object]]:
    """Per day and arm: predictions, feedback MAE (the dashboard's trend chart)."""
    trend = []
    rows = (
        ArmDailyStats.objects.filter(arm__experiment=experiment)
        .order_by("day", "arm_id")
        .values_list(
            "day",
            "arm_id",
            "model_version__version",
            "predictions",
            "shadow_predictions",
            "abs_error_sum",
            "actuals",
        )
    )
    for day, arm_id, version, predictions, shadows, abs_error, actuals in rows:
        trend.append(
            {
                "day": day.isoformat(),
                "arm_id": arm_id,
                "model_version": version,
                "predictions": predictions + shadows,
                "mae": abs_error / actuals if actuals else None,
            }
        )
    return trend


def experiment_dashboard(*, experiment: Experiment) -> dict[str, object]:
    """Everything the rollout panel and ``GET /api/v1/experiments/{id}/`` show."""
    metrics = arm_metrics(experiment=experiment)
    drift = arm_drift(experiment=experiment)
    threshold = settings.DRIFT_PSI_THRESHOLD
    arms = []
    for arm in experiment.arms.select_related("model_version").order_by("id"):
        arm_drift_values = drift.get(arm.pk, {})
        arms.append(
            {
                "id": arm.pk,
                "model_version": arm.model_version.version,
                "role": arm.role,
                "weight": arm.weight,
                **metrics[arm.pk].as_dict(),
                "drift": arm_drift_values,
                "drift_flagged": sorted(
                    f for f, psi in arm_drift_values.items() if psi is not None and psi > threshold
                ),
            }
        )
    srm = experiment_sample_ratio(experiment=experiment)
    return {
        "arms": arms,
        "srm": {
            "observed": srm.observed,
            "expected": {k: round(v, 1) for k, v in srm.expected.items()},
            "statistic": srm.statistic,
            "p_value": srm.p_value,
            "units": srm.total,
            "flagged": srm.flagged,
            "enough_units": srm.enough_units,
            "alpha": settings.SRM_ALPHA,
            "min_units": settings.SRM_MIN_UNITS,
        },
        "shadow_comparisons": [asdict(c) for c in shadow_comparisons(experiment=experiment)],
        "trend": experiment_daily_trend(experiment=experiment),
        "rollup_refreshed_at": cache.get(LAST_REFRESH_KEY),
    }
