"""Reads of training data and of the model registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.models import ModelStatus, ModelVersion, ReviewStatus, SalaryRecord, SalarySource
from portal.exceptions import NotFound

REAL_SOURCES: tuple[str, ...] = (SalarySource.IMPORT, SalarySource.FEEDBACK)
TRAINING_EXTRA_COLUMNS: tuple[str, ...] = ("source",)
TRAINING_READ_CHUNK_SIZE = 5_000
# The heavy blob is read only when a process actually loads a version.
_ARTIFACT_FIELDS = ("artifact",)


@dataclass(frozen=True, slots=True)
class ServingEntry:
    """What a process needs to decide whether its loaded models are still the active set."""

    version_id: int
    version_number: int
    artifact_sha256: str
    traffic_share: int
    is_demo: bool


def model_versions_serving() -> list[ModelVersion]:
    """The active versions, oldest first, without their artifacts."""
    return list(
        ModelVersion.objects.filter(status=ModelStatus.ACTIVE)
        .defer(*_ARTIFACT_FIELDS)
        .order_by("version")
    )


def model_serving_entries() -> tuple[ServingEntry, ...]:
    """The active set as one small query (the loader polls this)."""
    rows = (
        ModelVersion.objects.filter(status=ModelStatus.ACTIVE)
        .order_by("version")
        .values_list("id", "version", "artifact_sha256", "traffic_share", "is_demo")
    )
    return tuple(ServingEntry(*row) for row in rows)


def model_version_get(*, version: int) -> ModelVersion:
    """One version by its number (without the artifact); NotFound when missing."""
    found = ModelVersion.objects.defer(*_ARTIFACT_FIELDS).filter(version=version).first()
    if found is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return found


def model_version_entry(*, version: int) -> ServingEntry:
    """The loader's view of one version, whatever its status."""
    row = (
        ModelVersion.objects.filter(version=version)
        .values_list("id", "version", "artifact_sha256", "traffic_share", "is_demo")
        .first()
    )
    if row is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return ServingEntry(*row)


def model_version_artifact(*, version_id: int) -> bytes:
    """The stored artifact bytes of one version."""
    data = ModelVersion.objects.filter(pk=version_id).values_list("artifact", flat=True).first()
    if data is None:
        raise NotFound({"version": [f"Model version id {version_id} does not exist."]})
    return bytes(data)


def metrics_summary(metrics: Mapping[str, object]) -> dict[str, object]:
    """Headline numbers: the production protocol's test year (else the seed protocol's)."""
    for protocol in ("production_protocol", "seed_protocol"):
        report = metrics.get(protocol) or {}
        ours = (report.get("models") or {}).get("ours") if isinstance(report, dict) else None
        if ours:
            test = ours.get("test") or {}
            return {
                "protocol": protocol.removesuffix("_protocol"),
                "test_years": test.get("years"),
                "mae_usd": test.get("mae"),
                "r2": test.get("r2"),
                "interval_coverage": test.get("coverage"),
                "interval_mean_width_usd": test.get("mean_width"),
                "interval_level": metrics.get("interval_level"),
            }
    return {"interval_level": metrics.get("interval_level")}


def model_version_metrics_summary(*, model_version: ModelVersion) -> dict[str, object]:
    metrics = model_version.metrics or {}
    return metrics.get("summary") or metrics_summary(metrics)


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.defer(*_ARTIFACT_FIELDS).order_by("-version")


def model_version_previous_for_rollback() -> ModelVersion | None:
    """The most recently retired version that once served and was not itself rolled back."""
    from mlmodel.models import ModelAction

    candidates = (
        ModelVersion.objects.filter(status=ModelStatus.RETIRED, activated_at__isnull=False)
        .defer(*_ARTIFACT_FIELDS)
        .order_by("-retired_at", "-version")
    )
    for candidate in candidates:
        last_retirement = (
            candidate.events.filter(action=ModelAction.RETIRED)
            .order_by("-created_at", "-id")
            .first()
        )
        if last_retirement is None or not last_retirement.details.get("rolled_back"):
            return candidate
    return None


SALARY_DATA_GENERATION_KEY = "mlmodel:salary-data-generation"


def salary_data_generation() -> int:
    """A number that changes whenever the salary rows change: caches of them key on it."""
    return int(cache.get(SALARY_DATA_GENERATION_KEY, 0))


def salary_training_sources() -> tuple[str, ...]:
    """Real rows when there are any; the synthetic demo rows only on a machine without them."""
    approved = SalaryRecord.objects.filter(review_status=ReviewStatus.APPROVED)
    if approved.filter(source__in=REAL_SOURCES).exists():
        return REAL_SOURCES
    return (SalarySource.DEMO,)


def salary_training_rows(
    *, include_sources: Iterable[str] | None = None
) -> tuple[tuple[str, ...], list[tuple]]:
    """Approved salary rows: ``(columns, rows)`` with the 11 dataset columns plus ``source``.

    ``include_sources=None`` picks :func:`salary_training_sources`, so demo rows never dilute
    real data. Feedback rows count only once approved, like every other row.
    """
    sources = tuple(include_sources) if include_sources is not None else salary_training_sources()
    columns = (*DATASET_COLUMNS, *TRAINING_EXTRA_COLUMNS)
    rows = (
        SalaryRecord.objects.filter(review_status=ReviewStatus.APPROVED, source__in=sources)
        .order_by("id")
        .values_list(*columns)
        .iterator(chunk_size=TRAINING_READ_CHUNK_SIZE)
    )
    return columns, list(rows)
