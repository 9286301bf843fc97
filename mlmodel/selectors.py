"""Reads of training data and of the model registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

from mlmodel.core.artifacts import short_sha256
from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.model_card import SOURCE_LABELS
from mlmodel.models import (
    ArmRole,
    Experiment,
    ExperimentArm,
    ExperimentStatus,
    ModelAction,
    ModelEvent,
    ModelStatus,
    ModelVersion,
    ReviewStatus,
    SalaryRecord,
    SalarySource,
)
from portal.exceptions import NotFound

REAL_SOURCES: tuple[str, ...] = (SalarySource.IMPORT, SalarySource.FEEDBACK)
TRAINING_EXTRA_COLUMNS: tuple[str, ...] = ("source",)
TRAINING_READ_CHUNK_SIZE = 5_000
# The heavy blob is read only when a process actually loads a version.
_ARTIFACT_FIELDS = ("artifact",)


@dataclass(frozen=True, slots=True)
class ServingEntry:
    """What a process needs to load a version and to tell whether its copy is current."""

    version_id: int
    version_number: int
    artifact_sha256: str
    is_demo: bool


_ENTRY_FIELDS = ("id", "version", "artifact_sha256", "is_demo")


@dataclass(frozen=True, slots=True)
class ArmEntry:
    """One arm of the running experiment, as the router needs it."""

    arm_id: int
    role: str
    weight: int
    entry: ServingEntry


@dataclass(frozen=True, slots=True)
class ExperimentRouting:
    """The running experiment's routing: arms, the phase's seed and the slot map."""

    experiment_id: int
    revision: int
    phase: int
    seed: str
    arms: tuple[ArmEntry, ...]
    slot_map: tuple[int, ...]

    def arm(self, arm_id: int) -> ArmEntry | None:
        return next((arm for arm in self.arms if arm.arm_id == arm_id), None)

    @property
    def shadows(self) -> tuple[ArmEntry, ...]:
        return tuple(arm for arm in self.arms if arm.role == ArmRole.SHADOW)


@dataclass(frozen=True, slots=True)
class RoutingHead:
    """The two small facts the loader polls: the champion and the running experiment's revision."""

    champion: ServingEntry | None
    experiment: tuple[int, int] | None  # (id, revision)


def model_version_champion() -> ModelVersion | None:
    """The version that serves everyone outside an experiment (status active), no artifact."""
    return ModelVersion.objects.filter(status=ModelStatus.ACTIVE).defer(*_ARTIFACT_FIELDS).first()


def model_versions_serving() -> list[ModelVersion]:
    """The champion and every version in the running experiment, oldest first, no artifacts."""
    running = Experiment.objects.filter(status=ExperimentStatus.RUNNING)
    return list(
        ModelVersion.objects.filter(
            Q(status=ModelStatus.ACTIVE) | Q(experiment_arms__experiment__in=running)
        )
        .distinct()
        .defer(*_ARTIFACT_FIELDS)
        .order_by("version")
    )


def routing_head() -> RoutingHead:
    """Two indexed one-row reads: polled every ``MLMODEL_RELOAD_CHECK_SECONDS`` per process."""
    champion = (
        ModelVersion.objects.filter(status=ModelStatus.ACTIVE).values_list(*_ENTRY_FIELDS).first()
    )
    experiment = (
        Experiment.objects.filter(status=ExperimentStatus.RUNNING)
        .values_list("id", "revision")
        .first()
    )
    return RoutingHead(
        champion=ServingEntry(*champion) if champion else None,
        experiment=tuple(experiment) if experiment else None,
    )


def experiment_routing(*, experiment_id: int) -> ExperimentRouting | None:
    """The full routing of one experiment (read only when its revision changed)."""
    row = (
        Experiment.objects.filter(pk=experiment_id)
        .values_list("revision", "phase", "seed", "slot_map")
        .first()
    )
    if row is None:
        return None
    revision, phase, seed, slot_map = row
    rows = (
        ExperimentArm.objects.filter(experiment_id=experiment_id)
        .order_by("id")
        .values_list(
            "id",
            "role",
            "weight",
            "model_version_id",
            "model_version__version",
            "model_version__artifact_sha256",
            "model_version__is_demo",
        )
    )
    arms = tuple(
        ArmEntry(arm_id=arm_id, role=role, weight=weight, entry=ServingEntry(*entry))
        for arm_id, role, weight, *entry in rows
    )
    return ExperimentRouting(
        experiment_id=experiment_id,
        revision=revision,
        phase=phase,
        seed=seed,
        arms=arms,
        slot_map=tuple(slot_map),
    )


def model_version_get(*, version: int) -> ModelVersion:
    """One version by its number (without the artifact); NotFound when missing."""
    found = ModelVersion.objects.defer(*_ARTIFACT_FIELDS).filter(version=version).first()
    if found is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return found


def model_version_entry(*, version: int) -> ServingEntry:
    """The loader's view of one version, whatever its status."""
    row = ModelVersion.objects.filter(version=version).values_list(*_ENTRY_FIELDS).first()
    if row is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return ServingEntry(*row)


def model_version_number(*, version_id: int) -> int:
    """The version number of a primary key; NotFound when missing."""
    number = ModelVersion.objects.filter(pk=version_id).values_list("version", flat=True).first()
    if number is None:
        raise NotFound({"version": [f"Model version id {version_id} does not exist."]})
    return number


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


def model_version_previous_champion() -> ModelVersion | None:
    """The champion before the current one: the latest retired version that served everyone and
    was not itself replaced by a rollback (so rolling back twice goes further back)."""
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


# --------------------------------------------------------------------------------------------
# Lineage: where a version came from (the admin shows it beside the model card)
# --------------------------------------------------------------------------------------------
REGISTERING_ACTIONS: tuple[str, ...] = (ModelAction.REGISTERED, ModelAction.IMPORTED)
# Events that changed a version's status: its latest one says since when and by whom.
STATUS_ACTIONS: tuple[str, ...] = (
    *REGISTERING_ACTIONS,
    ModelAction.ACTIVATED,
    ModelAction.PROMOTED,
    ModelAction.ROLLED_BACK,
    ModelAction.RETIRED,
)
# How the status line says what the latest of those did to the version.
STATUS_PHRASES: dict[str, str] = {
    ModelAction.REGISTERED: "registered",
    ModelAction.IMPORTED: "imported",
    ModelAction.ACTIVATED: "made champion",
    ModelAction.PROMOTED: "promoted to champion from an experiment",
    ModelAction.ROLLED_BACK: "made champion again by a rollback",
    ModelAction.RETIRED: "retired",
}


@dataclass(frozen=True, slots=True)
class LineageEvent:
    """Who did something to a version and when (``actor`` None: a command, task or fixture)."""

    action: str
    action_label: str
    phrase: str
    actor: str | None
    automatic: bool
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class LineageRun:
    """The training run that trained a version."""

    id: int
    trigger_label: str
    requested_by: str | None
    param_groups: tuple[str, ...]
    gate_passed: bool | None


@dataclass(frozen=True, slots=True)
class VersionLink:
    """Another version named by this one's lineage; ``id`` is None when it is not registered."""

    version: int
    id: int | None


@dataclass(frozen=True, slots=True)
class ModelVersionLineage:
    """What a version was trained on, by which run and seed, what it was compared against,
    its artifact and who moved it through the registry: the facts an audit asks for first,
    read from the version's stored metadata, its training run and its audit events."""

    version_id: int
    version: int
    status_label: str
    status_event: LineageEvent | None
    registered: LineageEvent | None
    events: int
    rows: int | None
    rows_read: int | None
    years: tuple[int, ...]
    sources: tuple[tuple[str, int], ...]
    data_sha256: str
    held_out_year: int | None
    held_out_rows: int | None
    run: LineageRun | None
    seed: int | None
    compared: bool
    compared_with: VersionLink | None
    compared_on_rows: int | None
    previous: VersionLink | None
    artifact_format: str
    artifact_sha256: str
    artifact_size: int
    git_revision: str
    libraries: tuple[tuple[str, str], ...]

    @property
    def years_text(self) -> str:
        """``2020–2024`` for consecutive years, else the years listed."""
        years = sorted(self.years)
        if not years:
            return ""
        if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
            return f"{years[0]}–{years[-1]}"
        return ", ".join(str(year) for year in years)

    @property
    def artifact_sha256_short(self) -> str:
        return short_sha256(self.artifact_sha256)

    @property
    def data_sha256_short(self) -> str:
        return short_sha256(self.data_sha256)

    @property
    def git_revision_short(self) -> str:
        return short_sha256(self.git_revision)


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _lineage_event(event: ModelEvent | None) -> LineageEvent | None:
    if event is None:
        return None
    return LineageEvent(
        action=event.action,
        action_label=event.get_action_display(),
        phrase=STATUS_PHRASES.get(event.action, event.get_action_display().lower()),
        actor=event.actor.get_username() if event.actor is not None else None,
        automatic=event.automatic,
        at=event.created_at,
        reason=event.reason,
    )


def _version_link(number: object) -> VersionLink | None:
    number = _int_or_none(number)
    if number is None:
        return None
    pk = ModelVersion.objects.filter(version=number).values_list("pk", flat=True).first()
    return VersionLink(version=number, id=pk)


def model_version_lineage(*, model_version: ModelVersion) -> ModelVersionLineage:
    """The lineage of one version (a handful of small reads; never the artifact)."""
    training = _mapping(model_version.training_data)
    comparison = _mapping(_mapping(model_version.metrics).get("comparison"))
    held_out = _mapping(training.get("held_out"))
    sources = _mapping(training.get("sources"))
    try:
        training_run = model_version.training_run
    except ObjectDoesNotExist:
        training_run = None
    run = None
    if training_run is not None:
        requester = training_run.requested_by
        run = LineageRun(
            id=training_run.pk,
            trigger_label=training_run.get_trigger_display(),
            requested_by=requester.get_username() if requester is not None else None,
            param_groups=tuple(sorted(_mapping(training_run.params))),
            gate_passed=training_run.gate_passed,
        )
    seed = (
        training_run.seed
        if training_run is not None
        else _mapping(model_version.hyperparameters).get("seed")
    )
    events = ModelEvent.objects.filter(model_version=model_version).select_related("actor")
    registered = events.filter(action__in=REGISTERING_ACTIONS).order_by("created_at", "id").first()
    latest = events.filter(action__in=STATUS_ACTIONS).order_by("-created_at", "-id").first()
    previous = (
        ModelVersion.objects.filter(version__lt=model_version.version)
        .order_by("-version")
        .values_list("version", "pk")
        .first()
    )
    return ModelVersionLineage(
        version_id=model_version.pk,
        version=model_version.version,
        status_label=model_version.get_status_display(),
        status_event=_lineage_event(latest),
        registered=_lineage_event(registered),
        events=events.count(),
        rows=_int_or_none(training.get("rows")),
        rows_read=_int_or_none(training.get("rows_raw")),
        years=tuple(
            int(year) for year in training.get("years") or () if _int_or_none(year) is not None
        ),
        sources=tuple(
            (SOURCE_LABELS.get(name, str(name)), int(rows))
            for name, rows in sorted(sources.items())
            if _int_or_none(rows) is not None
        ),
        data_sha256=str(training.get("sha256") or ""),
        held_out_year=_int_or_none(held_out.get("year")),
        held_out_rows=_int_or_none(held_out.get("rows")),
        run=run,
        seed=_int_or_none(seed),
        compared=bool(comparison),
        compared_with=_version_link(comparison.get("active_version")),
        compared_on_rows=_int_or_none(comparison.get("rows")),
        previous=VersionLink(version=previous[0], id=previous[1]) if previous else None,
        artifact_format=model_version.artifact_format,
        artifact_sha256=model_version.artifact_sha256,
        artifact_size=model_version.artifact_size,
        git_revision=model_version.git_revision,
        libraries=tuple(
            (str(name), str(version))
            for name, version in sorted(_mapping(model_version.library_versions).items())
        ),
    )
