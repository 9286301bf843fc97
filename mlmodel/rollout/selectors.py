"""Rollout reads: experiments, the arm a unit gets now, what served whom when, the audit log."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from mlmodel.core.rollout import SLOTS, unit_slot
from mlmodel.models import (
    ArmRole,
    Assignment,
    Experiment,
    ExperimentArm,
    ExperimentStatus,
    ModelEvent,
    ModelStatus,
    ModelVersion,
)
from portal.exceptions import InvalidInput, NotFound

UNIT_PREFIX = "user:"


def experiment_list() -> QuerySet[Experiment]:
    return Experiment.objects.prefetch_related("arms__model_version").order_by("-created_at", "-id")


def experiment_get(*, experiment_id: int) -> Experiment:
    experiment = experiment_list().filter(pk=experiment_id).first()
    if experiment is None:
        raise NotFound({"experiment": [f"Experiment {experiment_id} does not exist."]})
    return experiment


def experiment_running() -> Experiment | None:
    return experiment_list().filter(status=ExperimentStatus.RUNNING).first()


def parse_unit(unit: object) -> int:
    """``user:<pk>`` -> pk; anything else is a field error."""
    if not isinstance(unit, str) or not unit.startswith(UNIT_PREFIX):
        raise InvalidInput({"unit": ["A unit looks like user:<id>, e.g. user:12."]})
    number = unit.removeprefix(UNIT_PREFIX)
    if not number.isascii() or not number.isdigit() or len(number) > 18:
        raise InvalidInput({"unit": ["A unit looks like user:<id>, e.g. user:12."]})
    return int(number)


@dataclass(frozen=True, slots=True)
class UnitAssignment:
    """Which version a unit gets now, and why (computed: nothing is recorded)."""

    unit: str
    model_version: int
    experiment_id: int | None
    arm_id: int | None
    role: str
    phase: int | None
    slot: int | None
    recorded: bool


def experiment_assignment_for(*, experiment: Experiment, unit: object) -> UnitAssignment:
    """The arm ``unit`` gets in ``experiment`` now: the hash and the slot map, read only."""
    parse_unit(unit)
    arms = {arm.pk: arm for arm in experiment.arms.all()}
    if experiment.status != ExperimentStatus.RUNNING or len(experiment.slot_map) != SLOTS:
        champion = ModelVersion.objects.filter(status=ModelStatus.ACTIVE).first()
        if champion is None:
            raise NotFound({"model_version": ["No champion: nothing serves."]})
        return UnitAssignment(
            unit, champion.version, None, None, ArmRole.CHAMPION, None, None, False
        )
    slot = unit_slot(unit, seed=experiment.seed)
    arm = arms[experiment.slot_map[slot]]
    recorded = Assignment.objects.filter(
        experiment=experiment, phase=experiment.phase, unit=unit
    ).exists()
    return UnitAssignment(
        unit=unit,
        model_version=arm.model_version.version,
        experiment_id=experiment.pk,
        arm_id=arm.pk,
        role=arm.role,
        phase=experiment.phase,
        slot=slot,
        recorded=recorded,
    )


def served_when(*, user_id: int, day: datetime.date) -> list[dict[str, object]]:
    """Which version, experiment and arm answered this user on this day (from the predictions).

    Predictions store what answered them, so this is exact even after weights changed.
    """
    from predictions.models import Prediction

    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    rows = (
        Prediction.objects.filter(
            user_id=user_id, created_at__gte=start, created_at__lt=start + datetime.timedelta(1)
        )
        .order_by("created_at")
        .values(
            "id",
            "created_at",
            "channel",
            "model_version__version",
            "experiment_id",
            "experiment__name",
            "arm__role",
            "experiment_phase",
        )
    )
    return [
        {
            "prediction": row["id"],
            "at": row["created_at"],
            "channel": row["channel"],
            "model_version": row["model_version__version"],
            "experiment": row["experiment_id"],
            "experiment_name": row["experiment__name"] or "",
            "role": row["arm__role"] or ArmRole.CHAMPION,
            "phase": row["experiment_phase"],
        }
        for row in rows
    ]


def model_event_list() -> QuerySet[ModelEvent]:
    return ModelEvent.objects.select_related("model_version", "actor", "experiment").order_by(
        "-created_at", "-id"
    )


def arm_list(*, experiment: Experiment) -> list[ExperimentArm]:
    return list(experiment.arms.select_related("model_version").order_by("id"))
