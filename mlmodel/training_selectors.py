"""Reads for retraining: the champion, training runs, the rows a run trains on, the review queue.

Web-safe (no training stack): the admin, the staff API and the command read through these.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.models import (
    FeedbackSalaryReview,
    ReviewStatus,
    SalaryRecord,
    SalarySource,
    TrainingRun,
)
from mlmodel.selectors import TRAINING_READ_CHUNK_SIZE, salary_training_sources
from portal.exceptions import NotFound
from portal.jobs.models import UNFINISHED_STATUSES

# What the admin and the retrain command show of a comparison: (label, key, how to show it).
COMPARED_METRICS: tuple[tuple[str, str, str], ...] = (
    ("MAE", "mae", "usd"),
    ("Median absolute error", "median_ae", "usd"),
    ("R²", "r2", "ratio"),
    ("Interval coverage", "coverage", "percent"),
    ("Mean interval width", "mean_width", "usd"),
)


def _shown(value: object, kind: str) -> str:
    if not isinstance(value, int | float):
        return "–"
    if kind == "usd":
        return f"${value:,.0f}"
    if kind == "percent":
        return f"{value:.1%}"
    return f"{value:.3f}"


# The columns a run reads: the row id and source (lineage, held-out split) around the dataset's.
RUN_ROW_COLUMNS: tuple[str, ...] = ("id", *DATASET_COLUMNS, "source")


def training_run_get(*, run_id: int) -> TrainingRun:
    """One run with its requester and result version (no artifact); NotFound when missing."""
    run = (
        TrainingRun.objects.select_related("requested_by", "model_version")
        .defer("model_version__artifact")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise NotFound({"detail": [f"Training run {run_id} does not exist."]})
    return run


def training_run_unfinished(*, exclude_pk: int | None = None) -> TrainingRun | None:
    """The oldest pending or running run (there is at most one), or None."""
    runs = TrainingRun.objects.filter(status__in=UNFINISHED_STATUSES).order_by("created_at", "id")
    if exclude_pk is not None:
        runs = runs.exclude(pk=exclude_pk)
    return runs.first()


def training_run_is_unfinished(*, run_id: int) -> bool:
    return TrainingRun.objects.filter(pk=run_id, status__in=UNFINISHED_STATUSES).exists()


def salary_rows_for_training_run(
    *, include_sources: Iterable[str] | None = None
) -> tuple[tuple[str, ...], list[tuple]]:
    """Approved rows as ``(columns, rows)``: the id, the 11 dataset columns and the source.

    Like ``selectors.salary_training_rows`` (real rows when there are any, else demo rows;
    feedback only once approved), with the row ids a version's lineage records.
    """
    sources = tuple(include_sources) if include_sources is not None else salary_training_sources()
    rows = (
        SalaryRecord.objects.filter(review_status=ReviewStatus.APPROVED, source__in=sources)
        .order_by("id")
        .values_list(*RUN_ROW_COLUMNS)
        .iterator(chunk_size=TRAINING_READ_CHUNK_SIZE)
    )
    return RUN_ROW_COLUMNS, list(rows)


def feedback_review_queue() -> QuerySet[FeedbackSalaryReview]:
    """Feedback salary rows with the feedback and prediction they came from, newest first."""
    return (
        FeedbackSalaryReview.objects.filter(source=SalarySource.FEEDBACK)
        .select_related("feedback", "feedback__prediction", "feedback__user")
        .order_by("-created_at", "-id")
    )


def comparison_rows(run: TrainingRun) -> list[list[str]]:
    """[metric, candidate, champion] rows on the same held-out rows, for the page and JSON."""
    version = run.model_version
    comparison = (version.metrics or {}).get("comparison") if version is not None else None
    if not comparison:
        return []
    candidate = comparison.get("candidate") or {}
    active = comparison.get("active") or {}
    return [
        [label, _shown(candidate.get(key), kind), _shown(active.get(key), kind)]
        for label, key, kind in COMPARED_METRICS
    ]
