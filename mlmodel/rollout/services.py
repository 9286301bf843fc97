"""Rollout writes: who the champion is, experiments and their arms, recorded assignments.

Every action takes the rows it changes under ``select_for_update``, writes one audit event per
version it touches (``mlmodel.events``), and tells this process to re-read its routing when the
transaction commits; other processes see it within ``MLMODEL_RELOAD_CHECK_SECONDS``.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mlmodel import loading
from mlmodel.core.rollout import (
    SLOTS,
    initial_slot_map,
    moved_slots,
    rebalance_slot_map,
)
from mlmodel.events import model_event
from mlmodel.models import (
    ArmRole,
    Assignment,
    Experiment,
    ExperimentArm,
    ExperimentStatus,
    ModelAction,
    ModelStatus,
    ModelVersion,
)
from mlmodel.selectors import model_version_previous_champion
from portal.exceptions import Conflict, InvalidInput, NotFound
from portal.jobs.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)

FULL_WEIGHT = 100
SEED_BYTES = 8
NAME_MAX_LENGTH = Experiment._meta.get_field("name").max_length
REASON_MAX_LENGTH = 2_000
# Sent after a reweight; mlmodel.rollout.tasks registers it under this name.
REASSIGN_TASK = "mlmodel.rollout.experiment_reassign_task"
REASSIGN_CHUNK = 2_000
EDITABLE_STATUSES = (ExperimentStatus.DRAFT, ExperimentStatus.RUNNING)


def _reload_after_commit() -> None:
    """This process sees its own change at once; other processes at their next check."""
    transaction.on_commit(loading.invalidate)


def _clean_reason(reason: object) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise InvalidInput({"reason": ["Expected text."]})
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput({"reason": [f"At most {REASON_MAX_LENGTH} characters."]})
    return reason


def _required_reason(reason: object) -> str:
    cleaned = _clean_reason(reason)
    if not cleaned:
        raise InvalidInput({"reason": ["Say why: the audit log keeps the reason."]})
    return cleaned


# --------------------------------------------------------------------------------------------
# The champion
# --------------------------------------------------------------------------------------------
def _locked_version(version: int) -> ModelVersion:
    found = ModelVersion.objects.select_for_update().defer("artifact").filter(version=version)
    model_version = found.first()
    if model_version is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return model_version


def _locked_champion() -> ModelVersion | None:
    return (
        ModelVersion.objects.select_for_update()
        .defer("artifact")
        .filter(status=ModelStatus.ACTIVE)
        .first()
    )


def _locked_running() -> Experiment | None:
    return Experiment.objects.select_for_update().filter(status=ExperimentStatus.RUNNING).first()


def champion_replace(
    target: ModelVersion,
    *,
    actor,
    action: str,
    reason: str = "",
    automatic: bool = False,
    experiment: Experiment | None = None,
    **details: object,
) -> ModelVersion:
    """Make ``target`` the champion (the previous one is retired); callers hold the transaction.

    A running experiment other than ``experiment`` is stopped first: a new champion serves
    everyone.
    """
    running = _locked_running()
    if running is not None and running != experiment:
        _stop(
            running,
            actor=actor,
            reason=reason or f"v{target.version} became champion",
            automatic=automatic,
        )
    previous = _locked_champion()
    if previous is not None and previous.pk == target.pk:
        return target
    now = timezone.now()
    if previous is not None:
        previous.status = ModelStatus.RETIRED
        previous.retired_at = now
        previous.save(update_fields=["status", "retired_at"])
        model_event(
            model_version=previous,
            action=ModelAction.RETIRED,
            actor=actor,
            reason=reason,
            experiment=experiment,
            automatic=automatic,
            before={"status": ModelStatus.ACTIVE},
            after={"status": ModelStatus.RETIRED},
            replaced_by=target.version,
            rolled_back=action == ModelAction.ROLLED_BACK,
        )
    previous_status = target.status
    target.status = ModelStatus.ACTIVE
    target.activated_at = now
    target.save(update_fields=["status", "activated_at"])
    model_event(
        model_version=target,
        action=action,
        actor=actor,
        reason=reason,
        experiment=experiment,
        automatic=automatic,
        before={"status": previous_status, "champion": previous.version if previous else None},
        after={"status": ModelStatus.ACTIVE, "champion": target.version},
        **details,
    )
    _reload_after_commit()
    logger.info("model v%s is champion (%s)", target.version, action)
    return target


@transaction.atomic
def model_version_activate(*, version: int, actor=None, reason: str = "") -> ModelVersion:
    """Make ``version`` the champion now (any running experiment stops)."""
    target = _locked_version(version)
    return champion_replace(
        target, actor=actor, action=ModelAction.ACTIVATED, reason=_clean_reason(reason)
    )


@transaction.atomic
def model_version_retire(*, version: int, actor=None, reason: str = "") -> ModelVersion:
    """Retire a version that serves nobody: not the champion, not in a running experiment."""
    reason = _clean_reason(reason)
    target = _locked_version(version)
    if target.status == ModelStatus.RETIRED:
        raise InvalidInput({"version": [f"v{version} is already retired."]})
    if target.status == ModelStatus.ACTIVE:
        raise InvalidInput(
            {
                "version": [
                    f"v{version} is the champion; make another version champion or roll "
                    "back instead of retiring it."
                ]
            }
        )
    if ExperimentArm.objects.filter(
        model_version=target, experiment__status=ExperimentStatus.RUNNING
    ).exists():
        raise InvalidInput(
            {"version": [f"v{version} is in the running experiment; stop it first."]}
        )
    previous_status = target.status
    target.status = ModelStatus.RETIRED
    target.retired_at = timezone.now()
    target.save(update_fields=["status", "retired_at"])
    model_event(
        model_version=target,
        action=ModelAction.RETIRED,
        actor=actor,
        reason=reason,
        before={"status": previous_status},
        after={"status": ModelStatus.RETIRED},
    )
    _reload_after_commit()
    return target


@transaction.atomic
def model_version_rollback(
    *, actor=None, reason: str = "", automatic: bool = False
) -> ModelVersion:
    """The champion before the current one serves everyone again; a running experiment stops."""
    reason = _clean_reason(reason)
    target = model_version_previous_champion()
    if target is None:
        raise InvalidInput("Nothing to roll back to: no earlier champion exists.")
    target = _locked_version(target.version)
    current = _locked_champion()
    rolled_back = champion_replace(
        target,
        actor=actor,
        action=ModelAction.ROLLED_BACK,
        reason=reason,
        automatic=automatic,
        rolled_back_from=current.version if current else None,
    )
    logger.warning(
        "model rolled back from v%s to v%s", current.version if current else None, target.version
    )
    return rolled_back


# --------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArmSpec:
    """One requested arm: a version number, its weight in percent and its role."""

    model_version: int
    weight: int
    role: str


def _arm_specs(arms: object, *, champion: ModelVersion) -> list[ArmSpec]:
    """Validate requested arms (all errors at once); the champion's arm is always included.

    Shadow arms weigh 0 (a challenger at 0 is out of traffic); the champion gets what is left
    of 100 unless it is listed with a weight itself. Non-shadow weights add up to 100.
    """
    if not isinstance(arms, Sequence) or isinstance(arms, str | bytes) or not arms:
        raise InvalidInput({"arms": ["Give at least one arm: a challenger or a shadow version."]})
    errors: list[str] = []
    specs: list[ArmSpec] = []
    seen: set[int] = set()
    champion_weight: int | None = None
    for index, arm in enumerate(arms):
        label = f"Arm {index + 1}"
        if not isinstance(arm, Mapping):
            errors.append(f"{label}: expected an object with model_version and weight.")
            continue
        version = arm.get("model_version")
        weight = arm.get("weight", 0)
        role = arm.get("role") or ArmRole.CHALLENGER
        if isinstance(version, bool) or not isinstance(version, int):
            errors.append(f"{label}: model_version must be a version number.")
            continue
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            errors.append(f"{label}: weight must be a whole number from 0 to 100.")
            continue
        if version in seen:
            errors.append(f"{label}: v{version} is listed twice.")
            continue
        seen.add(version)
        if version == champion.version:
            if role not in (ArmRole.CHAMPION, ArmRole.CHALLENGER):
                errors.append(f"{label}: v{version} is the champion; it cannot be a {role} arm.")
            champion_weight = weight
            continue
        if role not in (ArmRole.CHALLENGER, ArmRole.SHADOW):
            errors.append(f"{label}: role must be 'challenger' or 'shadow'.")
            continue
        if role == ArmRole.SHADOW and weight:
            errors.append(f"{label}: a shadow arm is never shown, so its weight must be 0.")
            continue
        specs.append(ArmSpec(model_version=version, weight=weight, role=role))
    if errors:
        raise InvalidInput({"arms": errors})
    challengers = sum(spec.weight for spec in specs)
    if champion_weight is None:
        champion_weight = FULL_WEIGHT - challengers
    if champion_weight < 0 or champion_weight + challengers != FULL_WEIGHT:
        raise InvalidInput(
            {
                "arms": [
                    f"Weights of the champion and the challengers add up to "
                    f"{champion_weight + challengers}, not 100."
                ]
            }
        )
    if not specs:
        raise InvalidInput({"arms": ["Give at least one challenger or shadow version."]})
    return [ArmSpec(champion.version, champion_weight, ArmRole.CHAMPION), *specs]


def _versions_for(specs: Sequence[ArmSpec]) -> dict[int, ModelVersion]:
    numbers = [spec.model_version for spec in specs]
    found = {
        v.version: v for v in ModelVersion.objects.defer("artifact").filter(version__in=numbers)
    }
    missing = [n for n in numbers if n not in found]
    if missing:
        raise InvalidInput({"arms": [f"Model version {n} does not exist." for n in missing]})
    return found


def _weights(experiment: Experiment) -> dict[str, int]:
    return {
        f"v{arm.model_version.version}": arm.weight
        for arm in experiment.arms.select_related("model_version").order_by("id")
    }


def _arms_summary(experiment: Experiment) -> list[dict[str, object]]:
    return [
        {"model_version": arm.model_version.version, "role": arm.role, "weight": arm.weight}
        for arm in experiment.arms.select_related("model_version").order_by("id")
    ]


def _experiment_event(
    experiment: Experiment,
    action: str,
    *,
    actor,
    reason: str,
    before: Mapping | None = None,
    automatic: bool = False,
    **details: object,
) -> None:
    """One event per version in the experiment, so each version's history shows it."""
    after = {
        "status": experiment.status,
        "arms": _arms_summary(experiment),
        "phase": experiment.phase,
    }
    for arm in experiment.arms.select_related("model_version").order_by("id"):
        model_event(
            model_version=arm.model_version,
            action=action,
            actor=actor,
            reason=reason,
            experiment=experiment,
            before=before,
            after=after,
            automatic=automatic,
            role=arm.role,
            **details,
        )


@transaction.atomic
def experiment_create(
    *, name: object, arms: object, actor=None, reason: str = "", automatic: bool = False
) -> Experiment:
    """A draft experiment: the champion plus the given challenger / shadow arms."""
    reason = _clean_reason(reason)
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Name the experiment."]
    elif len(name.strip()) > NAME_MAX_LENGTH:
        errors["name"] = [f"At most {NAME_MAX_LENGTH} characters."]
    champion = _locked_champion()
    if champion is None:
        errors["arms"] = ["No champion yet: activate a model version first."]
    if errors:
        raise InvalidInput(errors)
    specs = _arm_specs(arms, champion=champion)
    versions = _versions_for(specs)
    experiment = Experiment.objects.create(
        name=name.strip(), seed=secrets.token_hex(SEED_BYTES), created_by=_user(actor)
    )
    ExperimentArm.objects.bulk_create(
        ExperimentArm(
            experiment=experiment,
            model_version=versions[spec.model_version],
            role=spec.role,
            weight=spec.weight,
        )
        for spec in specs
    )
    _experiment_event(
        experiment,
        ModelAction.EXPERIMENT_CREATED,
        actor=actor,
        reason=reason,
        automatic=automatic,
    )
    return experiment


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _locked_experiment(experiment_id: int) -> Experiment:
    experiment = Experiment.objects.select_for_update().filter(pk=experiment_id).first()
    if experiment is None:
        raise NotFound({"experiment": [f"Experiment {experiment_id} does not exist."]})
    return experiment


def _serving_weights(experiment: Experiment) -> dict[int, int]:
    """Arm id -> weight for the arms that get slots (champion first, then by id)."""
    arms = list(experiment.arms.exclude(role=ArmRole.SHADOW).order_by("id"))
    arms.sort(key=lambda arm: arm.role != ArmRole.CHAMPION)
    return {arm.pk: arm.weight for arm in arms}


@transaction.atomic
def experiment_start(
    *, experiment_id: int, actor=None, reason: str = "", automatic: bool = False
) -> Experiment:
    """Run a draft: lay out a fresh slot map; at most one experiment runs."""
    reason = _clean_reason(reason)
    experiment = _locked_experiment(experiment_id)
    if experiment.status != ExperimentStatus.DRAFT:
        raise Conflict({"status": [f"Only a draft can start; this one is {experiment.status}."]})
    running = _locked_running()
    if running is not None:
        raise Conflict(
            {"status": [f"Experiment {running.pk} ({running.name}) is running; stop it first."]}
        )
    champion = _locked_champion()
    champion_arm = (
        experiment.arms.filter(role=ArmRole.CHAMPION).select_related("model_version").first()
    )
    if champion is None or champion_arm is None or champion_arm.model_version_id != champion.pk:
        raise Conflict(
            {
                "status": [
                    "The champion changed since this experiment was drafted; create a new one."
                ]
            }
        )
    now = timezone.now()
    experiment.slot_map = initial_slot_map(_serving_weights(experiment))
    experiment.status = ExperimentStatus.RUNNING
    experiment.started_at = experiment.phase_started_at = experiment.weights_changed_at = now
    experiment.revision += 1
    try:
        with transaction.atomic():
            experiment.save()
    except IntegrityError as exc:  # another start won the race
        raise Conflict({"status": ["Another experiment started at the same time."]}) from exc
    _experiment_event(
        experiment,
        ModelAction.EXPERIMENT_STARTED,
        actor=actor,
        reason=reason,
        before={"status": ExperimentStatus.DRAFT},
        automatic=automatic,
    )
    _reload_after_commit()
    logger.info("experiment %s started: %s", experiment.pk, _weights(experiment))
    return experiment


def _with_unmentioned_arms(
    arms: object, existing: Mapping[int, ExperimentArm], *, champion: int
) -> object:
    """A reweight names the arms it changes; the others keep their weight and role (the
    champion takes what is left of 100 unless it is named). Arms are never removed."""
    if not isinstance(arms, Sequence) or isinstance(arms, str | bytes):
        return arms
    named = {arm.get("model_version") for arm in arms if isinstance(arm, Mapping)}
    kept = [
        {"model_version": number, "weight": arm.weight, "role": arm.role}
        for number, arm in existing.items()
        if number not in named and number != champion
    ]
    return [*arms, *kept]


@transaction.atomic
def experiment_reweight(
    *, experiment_id: int, arms: object, actor=None, reason: str = "", automatic: bool = False
) -> Experiment:
    """New weights (and possibly new arms) with the fewest units moved.

    Arms not named keep their weight; arms are never removed (a challenger at weight 0 is out
    of traffic and keeps its history). The worker then re-records the moved units in bulk.
    """
    reason = _clean_reason(reason)
    experiment = _locked_experiment(experiment_id)
    if experiment.status not in EDITABLE_STATUSES:
        raise Conflict({"status": [f"A {experiment.status} experiment cannot be reweighted."]})
    champion_arm = experiment.arms.select_related("model_version").get(role=ArmRole.CHAMPION)
    existing = {
        arm.model_version.version: arm for arm in experiment.arms.select_related("model_version")
    }
    specs = _arm_specs(
        _with_unmentioned_arms(arms, existing, champion=champion_arm.model_version.version),
        champion=champion_arm.model_version,
    )
    versions = _versions_for(specs)
    before = {"arms": _arms_summary(experiment), "revision": experiment.revision}
    for spec in specs:
        arm = existing.get(spec.model_version)
        if arm is None:
            ExperimentArm.objects.create(
                experiment=experiment,
                model_version=versions[spec.model_version],
                role=spec.role,
                weight=spec.weight,
            )
        elif (arm.role == ArmRole.SHADOW and spec.role != ArmRole.SHADOW) or (
            arm.role == ArmRole.CHALLENGER and spec.role == ArmRole.SHADOW
        ):
            raise InvalidInput(
                {"arms": [f"v{spec.model_version} is a {arm.role} arm; its role cannot change."]}
            )
        elif arm.weight != spec.weight:
            arm.weight = spec.weight
            arm.save(update_fields=["weight"])
    moved = 0
    if experiment.status == ExperimentStatus.RUNNING:
        new_map = rebalance_slot_map(experiment.slot_map, _serving_weights(experiment))
        moved = len(moved_slots(experiment.slot_map, new_map))
        experiment.slot_map = new_map
        experiment.revision += 1
        experiment.weights_changed_at = timezone.now()
        experiment.save(update_fields=["slot_map", "revision", "weights_changed_at"])
        enqueue_on_commit(
            REASSIGN_TASK,
            kwargs={"experiment_id": experiment.pk},
            on_refused=lambda: logger.error(
                "could not queue the reassignment of experiment %s; the reconciliation sweep "
                "will catch up",
                experiment.pk,
            ),
        )
        _reload_after_commit()
    _experiment_event(
        experiment,
        ModelAction.EXPERIMENT_REWEIGHTED,
        actor=actor,
        reason=reason,
        before=before,
        automatic=automatic,
        moved_slots=moved,
        moved_fraction=moved / SLOTS,
    )
    logger.info("experiment %s reweighted (%s slots moved)", experiment.pk, moved)
    return experiment


@transaction.atomic
def experiment_rerandomize(*, experiment_id: int, actor=None, reason: str = "") -> Experiment:
    """A new phase with a new seed: every unit is drawn again (use after a bug or an SRM)."""
    reason = _required_reason(reason)
    experiment = _locked_experiment(experiment_id)
    if experiment.status != ExperimentStatus.RUNNING:
        raise Conflict({"status": ["Only a running experiment can be re-randomized."]})
    before = {"phase": experiment.phase, "seed": experiment.seed}
    experiment.phase += 1
    experiment.seed = secrets.token_hex(SEED_BYTES)
    experiment.slot_map = initial_slot_map(_serving_weights(experiment))
    experiment.revision += 1
    experiment.phase_started_at = experiment.weights_changed_at = timezone.now()
    experiment.save()
    _experiment_event(
        experiment, ModelAction.EXPERIMENT_RERANDOMIZED, actor=actor, reason=reason, before=before
    )
    _reload_after_commit()
    return experiment


def _stop(
    experiment: Experiment,
    *,
    actor,
    reason: str,
    automatic: bool = False,
    status: str = ExperimentStatus.STOPPED,
) -> None:
    before = {"status": experiment.status}
    experiment.status = status
    experiment.stopped_at = timezone.now()
    experiment.revision += 1
    experiment.save(update_fields=["status", "stopped_at", "revision"])
    _experiment_event(
        experiment,
        ModelAction.EXPERIMENT_STOPPED
        if status == ExperimentStatus.STOPPED
        else ModelAction.PROMOTED,
        actor=actor,
        reason=reason,
        before=before,
        automatic=automatic,
    )
    _reload_after_commit()


@transaction.atomic
def experiment_stop(
    *, experiment_id: int, actor=None, reason: str = "", automatic: bool = False
) -> Experiment:
    """Stop: the champion serves everyone again; assignments and metrics are kept."""
    reason = _clean_reason(reason)
    experiment = _locked_experiment(experiment_id)
    if experiment.status not in EDITABLE_STATUSES:
        raise Conflict({"status": [f"The experiment is already {experiment.status}."]})
    _stop(experiment, actor=actor, reason=reason, automatic=automatic)
    return experiment


@transaction.atomic
def experiment_promote(
    *,
    experiment_id: int,
    model_version: object,
    actor=None,
    reason: str = "",
    srm_override_reason: str = "",
    automatic: bool = False,
) -> Experiment:
    """The chosen challenger becomes champion for everyone; the experiment ends as promoted.

    A sample-ratio mismatch blocks this (the split is broken, so the comparison is not to be
    trusted) unless ``srm_override_reason`` says why to go ahead anyway.
    """
    from mlmodel.rollout.metrics import experiment_sample_ratio

    reason = _clean_reason(reason)
    override = _clean_reason(srm_override_reason)
    experiment = _locked_experiment(experiment_id)
    if experiment.status not in EDITABLE_STATUSES:
        raise Conflict({"status": [f"A {experiment.status} experiment cannot be promoted."]})
    if isinstance(model_version, bool) or not isinstance(model_version, int):
        raise InvalidInput({"model_version": ["Give the version number to promote."]})
    arm = (
        experiment.arms.select_related("model_version")
        .filter(model_version__version=model_version)
        .exclude(role=ArmRole.CHAMPION)
        .first()
    )
    if arm is None:
        raise InvalidInput(
            {
                "model_version": [
                    f"v{model_version} is not a challenger or shadow of this experiment."
                ]
            }
        )
    srm = experiment_sample_ratio(experiment=experiment)
    if srm.flagged and not override:
        raise Conflict(
            {
                "srm_override_reason": [
                    f"Sample-ratio mismatch (p = {srm.p_value:.2g}): the observed split "
                    f"{srm.observed} does not match the weights. Fix the cause, or promote anyway "
                    "with srm_override_reason."
                ]
            }
        )
    _stop(
        experiment,
        actor=actor,
        reason=reason,
        automatic=automatic,
        status=ExperimentStatus.PROMOTED,
    )
    champion_replace(
        _locked_version(model_version),
        actor=actor,
        action=ModelAction.PROMOTED,
        reason=reason,
        automatic=automatic,
        experiment=experiment,
        srm_p_value=srm.p_value,
        srm_flagged=srm.flagged,
        srm_override_reason=override,
    )
    return experiment


def experiment_start_for_candidate(
    *, candidate_version: int, weight: int, actor=None, reason: str, automatic: bool = True
) -> Experiment:
    """Create and start "champion vs candidate at ``weight`` %" (the retraining policy's door)."""
    with transaction.atomic():
        experiment = experiment_create(
            name=f"v{candidate_version} vs champion ({weight}%)",
            arms=[{"model_version": candidate_version, "weight": weight}],
            actor=actor,
            reason=reason,
            automatic=automatic,
        )
        return experiment_start(
            experiment_id=experiment.pk, actor=actor, reason=reason, automatic=automatic
        )


# --------------------------------------------------------------------------------------------
# Assignments (recorded by the worker, never by the request)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exposure:
    """One answered prediction inside an experiment, as the worker records it."""

    experiment_id: int
    phase: int
    unit: str
    slot: int
    arm_id: int
    model_version_id: int
    at: datetime.datetime


def assignments_record(*, exposures: Sequence[Exposure]) -> None:
    """Upsert one assignment per (experiment, phase, unit) and add the exposures counted.

    One ``INSERT … ON CONFLICT`` for the batch, so concurrent workers never make two rows; a
    unit's arm is the one of its latest exposure.
    """
    grouped: dict[tuple[int, int, str], list[Exposure]] = {}
    for exposure in exposures:
        grouped.setdefault((exposure.experiment_id, exposure.phase, exposure.unit), []).append(
            exposure
        )
    if not grouped:
        return
    values, params = [], []
    # In key order: two workers upserting overlapping units lock their rows in the same order,
    # so they wait for each other instead of deadlocking.
    for (experiment_id, phase, unit), items in sorted(grouped.items()):
        latest = max(items, key=lambda item: item.at)
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            experiment_id,
            phase,
            unit,
            latest.slot,
            latest.arm_id,
            latest.model_version_id,
            len(items),
            min(item.at for item in items),
            latest.at,
        ]
    table = connection.ops.quote_name(Assignment._meta.db_table)
    newer = f"EXCLUDED.last_exposed_at >= {table}.last_exposed_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (experiment_id, phase, unit, slot, arm_id, model_version_id,
                                 exposures, first_exposed_at, last_exposed_at)
            VALUES {", ".join(values)}
            ON CONFLICT (experiment_id, phase, unit) DO UPDATE SET
                exposures = {table}.exposures + EXCLUDED.exposures,
                arm_id = CASE WHEN {newer} THEN EXCLUDED.arm_id ELSE {table}.arm_id END,
                model_version_id = CASE WHEN {newer}
                    THEN EXCLUDED.model_version_id ELSE {table}.model_version_id END,
                slot = CASE WHEN {newer} THEN EXCLUDED.slot ELSE {table}.slot END,
                first_exposed_at = CASE WHEN EXCLUDED.first_exposed_at < {table}.first_exposed_at
                    THEN EXCLUDED.first_exposed_at ELSE {table}.first_exposed_at END,
                last_exposed_at = CASE WHEN {newer}
                    THEN EXCLUDED.last_exposed_at ELSE {table}.last_exposed_at END
            """,  # noqa: S608 - the table name is ours, every value is a parameter
            params,
        )


def assignment_record(
    *,
    experiment_id: int,
    phase: int,
    unit: str,
    slot: int,
    arm_id: int,
    model_version_id: int,
    exposed_at,
) -> None:
    """Record one exposure (see :func:`assignments_record`)."""
    assignments_record(
        exposures=[Exposure(experiment_id, phase, unit, slot, arm_id, model_version_id, exposed_at)]
    )


def experiment_reassign(*, experiment_id: int) -> int:
    """After a reweight: move recorded assignments whose slot changed arm; returns how many."""
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None or len(experiment.slot_map) != SLOTS:
        return 0
    slot_map = experiment.slot_map
    versions = dict(experiment.arms.values_list("id", "model_version_id"))
    now = timezone.now()
    moved = 0
    pending: list[Assignment] = []
    rows = (
        Assignment.objects.filter(experiment_id=experiment_id, phase=experiment.phase)
        .only("id", "slot", "arm_id")
        .iterator(chunk_size=REASSIGN_CHUNK)
    )
    for assignment in rows:
        arm_id = slot_map[assignment.slot]
        if assignment.arm_id != arm_id:
            assignment.arm_id = arm_id
            assignment.model_version_id = versions[arm_id]
            assignment.reassigned_at = now
            pending.append(assignment)
        if len(pending) >= REASSIGN_CHUNK:
            moved += _save_reassigned(pending)
    moved += _save_reassigned(pending)
    logger.info("experiment %s: %s recorded units moved arm", experiment_id, moved)
    return moved


def _save_reassigned(pending: list[Assignment]) -> int:
    count = len(pending)
    if count:
        Assignment.objects.bulk_update(pending, ["arm_id", "model_version_id", "reassigned_at"])
        pending.clear()
    return count
