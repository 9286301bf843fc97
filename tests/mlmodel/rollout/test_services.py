"""Experiments: arms and weights, sticky minimal-move assignment, promotion, rollback, audit."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.db.models import ProtectedError

from mlmodel import loading
from mlmodel.core.profile import EXAMPLE_PROFILE
from mlmodel.core.rollout import SLOTS, unit_slot
from mlmodel.models import (
    AppendOnlyError,
    ArmRole,
    Assignment,
    Experiment,
    ExperimentStatus,
    ModelAction,
    ModelEvent,
    ModelStatus,
    ModelVersion,
)
from mlmodel.rollout import services
from mlmodel.rollout.metrics import experiment_sample_ratio
from mlmodel.rollout.selectors import experiment_assignment_for
from mlmodel.services import predict
from portal.exceptions import Conflict, InvalidInput
from tests.conftest import _test_database_url, start_experiment_of
from tests.mlmodel.rollout.conftest import record_split
from tests.processes import REPO_ROOT

pytestmark = pytest.mark.django_db
UNITS = [f"user:{n}" for n in range(10_000)]
SUBPROCESS_TIMEOUT_SECONDS = 120


def _versions_of(experiment: Experiment, units=UNITS) -> dict[str, int]:
    """Each unit's version now, from the stored slot map (as every process computes it)."""
    experiment.refresh_from_db()
    version_of_arm = {arm.pk: arm.model_version.version for arm in experiment.arms.all()}
    slot_map, seed = experiment.slot_map, experiment.seed
    return {u: version_of_arm[slot_map[unit_slot(u, seed=seed)]] for u in units}


def _three_versions(register_version):
    register_version(activate=True)
    register_version()
    register_version()


def test_a_draft_holds_the_champion_and_the_given_arms(register_version, user):
    # given
    _three_versions(register_version)

    # when
    experiment = services.experiment_create(
        name="v2 vs v1",
        arms=[
            {"model_version": 2, "weight": 30},
            {"model_version": 3, "weight": 0, "role": "shadow"},
        ],
        actor=user,
        reason="first try",
    )

    # then
    arms = [(a.model_version.version, a.role, a.weight) for a in experiment.arms.order_by("id")]
    assert arms == [(1, "champion", 70), (2, "challenger", 30), (3, "shadow", 0)]
    assert experiment.status == ExperimentStatus.DRAFT and experiment.created_by == user
    events = ModelEvent.objects.filter(experiment=experiment, action=ModelAction.EXPERIMENT_CREATED)
    assert sorted(e.model_version.version for e in events) == [1, 2, 3]
    assert {e.reason for e in events} == {"first try"}


def test_bad_arms_get_every_error_at_once(register_version):
    # given
    _three_versions(register_version)

    # when
    with pytest.raises(InvalidInput) as raised:
        services.experiment_create(
            name="",
            arms=[
                {"model_version": 2, "weight": 120},
                {"model_version": 3, "weight": 10, "role": "shadow"},
                {"model_version": 2, "weight": 10},
            ],
        )

    # then: the name error comes first; the arm errors once the name is fixed
    assert raised.value.errors == {"name": ["Name the experiment."]}
    with pytest.raises(InvalidInput) as raised:
        services.experiment_create(
            name="x",
            arms=[
                {"model_version": 2, "weight": 120},
                {"model_version": 3, "weight": 10, "role": "shadow"},
                {"model_version": 99, "weight": "5"},
            ],
        )
    assert raised.value.errors["arms"] == [
        "Arm 1: weight must be a whole number from 0 to 100.",
        "Arm 2: a shadow arm is never shown, so its weight must be 0.",
        "Arm 3: weight must be a whole number from 0 to 100.",
    ]
    assert Experiment.objects.count() == 0


def test_weights_must_add_up_to_100_and_versions_must_exist(register_version):
    _three_versions(register_version)
    with pytest.raises(InvalidInput, match="add up to 110"):
        services.experiment_create(
            name="x", arms=[{"model_version": 1, "weight": 60}, {"model_version": 2, "weight": 50}]
        )
    with pytest.raises(InvalidInput, match="Model version 42 does not exist"):
        services.experiment_create(name="x", arms=[{"model_version": 42, "weight": 50}])


def test_at_most_one_experiment_runs(register_version):
    # given
    _three_versions(register_version)
    start_experiment_of([{"model_version": 2, "weight": 50}])
    second = services.experiment_create(name="other", arms=[{"model_version": 3, "weight": 10}])

    # when / then
    with pytest.raises(Conflict, match="is running; stop it first"):
        services.experiment_start(experiment_id=second.pk)


def test_units_get_the_configured_split_and_keep_it(register_version, fresh_registry):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])

    # when
    served = {u: predict(EXAMPLE_PROFILE, unit=u) for u in UNITS[:400]}
    again = {u: predict(EXAMPLE_PROFILE, unit=u).model_version_number for u in UNITS[:400]}

    # then
    versions = [s.model_version_number for s in served.values()]
    assert again == {u: s.model_version_number for u, s in served.items()}
    assert versions.count(2) / len(versions) == pytest.approx(0.5, abs=0.08)
    first = served[UNITS[0]]
    assert first.experiment_id == experiment.pk and first.experiment_phase == 1
    assert 0 <= first.experiment_slot < SLOTS
    assert _versions_of(experiment, UNITS[:400]) == again
    looked_up = experiment_assignment_for(experiment=experiment, unit=UNITS[0])
    assert looked_up.model_version == again[UNITS[0]] and looked_up.recorded is False


def test_fifty_fifty_to_forty_sixty_moves_ten_percent_into_the_growing_arm(register_version, user):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    before = _versions_of(experiment)

    # when
    services.experiment_reweight(
        experiment_id=experiment.pk,
        arms=[{"model_version": 2, "weight": 60}],
        actor=user,
        reason="ramp",
    )
    after = _versions_of(experiment)

    # then
    moved = [u for u in UNITS if before[u] != after[u]]
    assert len(moved) / len(UNITS) == pytest.approx(0.10, abs=0.01)
    assert {(before[u], after[u]) for u in moved} == {(1, 2)}
    event = ModelEvent.objects.filter(action=ModelAction.EXPERIMENT_REWEIGHTED).first()
    assert event.details["moved_slots"] == 1_000 and event.reason == "ramp"
    assert event.before["arms"][1]["weight"] == 50 and event.after["arms"][1]["weight"] == 60


def test_adding_a_challenger_moves_nobody_between_the_others(register_version):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 40}])
    before = _versions_of(experiment)

    # when
    services.experiment_reweight(
        experiment_id=experiment.pk,
        arms=[{"model_version": 2, "weight": 30}, {"model_version": 3, "weight": 20}],
    )
    after = _versions_of(experiment)

    # then
    moves = {(before[u], after[u]) for u in UNITS if before[u] != after[u]}
    assert moves <= {(1, 3), (2, 3)}
    assert list(after.values()).count(3) / len(UNITS) == pytest.approx(0.2, abs=0.02)


def test_a_reweight_keeps_the_arms_it_does_not_name(register_version):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 40}])

    # when
    services.experiment_reweight(
        experiment_id=experiment.pk, arms=[{"model_version": 3, "weight": 10}]
    )

    # then
    weights = {a.model_version.version: a.weight for a in experiment.arms.all()}
    assert weights == {1: 50, 2: 40, 3: 10}


def test_reweighting_re_records_the_moved_assignments(
    register_version, django_capture_on_commit_callbacks
):
    # given recorded assignments for 2,000 units
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    from django.utils import timezone

    arms = {a.pk: a for a in experiment.arms.all()}
    for unit in UNITS[:2_000]:
        slot = unit_slot(unit, seed=experiment.seed)
        arm = arms[experiment.slot_map[slot]]
        services.assignment_record(
            experiment_id=experiment.pk,
            phase=1,
            unit=unit,
            slot=slot,
            arm_id=arm.pk,
            model_version_id=arm.model_version_id,
            exposed_at=timezone.now(),
        )

    # when (the task runs inline in these tests, once the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        services.experiment_reweight(
            experiment_id=experiment.pk, arms=[{"model_version": 2, "weight": 60}]
        )

    # then every recorded unit sits in the arm its slot now maps to
    experiment.refresh_from_db()
    rows = Assignment.objects.filter(experiment=experiment).values_list(
        "slot", "arm_id", "reassigned_at"
    )
    assert all(experiment.slot_map[slot] == arm_id for slot, arm_id, _ in rows)
    moved = sum(1 for *_, reassigned in rows if reassigned is not None)
    assert moved / 2_000 == pytest.approx(0.10, abs=0.02)


def test_an_assignment_is_recorded_once_per_unit_and_counts_exposures(register_version):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    arm = experiment.arms.get(role=ArmRole.CHALLENGER)
    from django.utils import timezone

    # when
    for _ in range(3):
        services.assignment_record(
            experiment_id=experiment.pk,
            phase=1,
            unit="user:5",
            slot=7,
            arm_id=arm.pk,
            model_version_id=arm.model_version_id,
            exposed_at=timezone.now(),
        )

    # then
    assignment = Assignment.objects.get()
    assert (assignment.unit, assignment.exposures, assignment.arm_id) == ("user:5", 3, arm.pk)


@pytest.mark.django_db(transaction=True)
def test_two_workers_recording_the_same_units_in_opposite_orders_do_not_deadlock(
    register_version,
):
    # given returning units (their assignment rows exist), as two workers' batches list them
    from django.db import transaction
    from django.utils import timezone

    from tests.concurrency import run_at_once

    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    arm = experiment.arms.get(role=ArmRole.CHALLENGER)
    units = [f"user:{n}" for n in range(3_000)]

    def exposures(order):
        return [
            services.Exposure(experiment.pk, 1, unit, 0, arm.pk, arm.model_version_id, now)
            for unit in order
        ]

    now = timezone.now()
    services.assignments_record(exposures=exposures(units))
    orders = [units, units[::-1]]
    failures: list[Exception] = []

    def record() -> None:
        order = orders.pop()
        try:
            with transaction.atomic():
                services.assignments_record(exposures=exposures(order))
        except Exception as exc:  # a deadlock aborts one of them
            failures.append(exc)

    # when both upsert at the same instant
    run_at_once(record)

    # then both committed: every unit counted three times
    assert failures == []
    assert set(Assignment.objects.values_list("exposures", flat=True)) == {3}


def test_rerandomize_starts_a_new_phase_with_a_new_seed(register_version):
    # given
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    before = _versions_of(experiment, UNITS[:2_000])

    # when
    with pytest.raises(InvalidInput, match="Say why"):
        services.experiment_rerandomize(experiment_id=experiment.pk, reason=" ")
    services.experiment_rerandomize(experiment_id=experiment.pk, reason="SRM after a bug")
    after = _versions_of(experiment, UNITS[:2_000])

    # then about half the units changed arm (a fresh draw), and the phase moved on
    changed = sum(before[u] != after[u] for u in before) / len(before)
    assert changed == pytest.approx(0.5, abs=0.05)
    experiment.refresh_from_db()
    assert experiment.phase == 2


def test_srm_blocks_promotion_unless_overridden_with_a_reason(register_version, user):
    # given a 50/50 experiment whose recorded units are 600/400
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    record_split(experiment, champion_units=600, challenger_units=400)

    # when
    srm = experiment_sample_ratio(experiment=experiment)
    with pytest.raises(Conflict, match="Sample-ratio mismatch"):
        services.experiment_promote(experiment_id=experiment.pk, model_version=2, actor=user)
    services.experiment_promote(
        experiment_id=experiment.pk,
        model_version=2,
        actor=user,
        reason="ship it",
        srm_override_reason="the imbalance comes from a known bot, excluded downstream",
    )

    # then
    assert srm.flagged and srm.observed == {"v1": 600, "v2": 400}
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE
    assert ModelVersion.objects.get(version=1).status == ModelStatus.RETIRED
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.PROMOTED
    promoted = ModelEvent.objects.get(
        action=ModelAction.PROMOTED, model_version__version=2, details__srm_flagged=True
    )
    assert promoted.details["srm_override_reason"].startswith("the imbalance")


def test_rollback_stops_the_experiment_and_restores_the_previous_champion(register_version, user):
    # given v2 promoted out of an experiment
    _three_versions(register_version)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    services.experiment_promote(experiment_id=experiment.pk, model_version=2)
    second = start_experiment_of([{"model_version": 3, "weight": 10}], name="v3")

    # when
    services.model_version_rollback(actor=user, reason="v2 is worse on feedback")

    # then
    assert ModelVersion.objects.get(version=1).status == ModelStatus.ACTIVE
    second.refresh_from_db()
    assert second.status == ExperimentStatus.STOPPED
    assert predict(EXAMPLE_PROFILE, unit="user:1").model_version_number == 1


def test_events_are_append_only(register_version):
    # given
    register_version(activate=True)
    event = ModelEvent.objects.first()

    # when / then
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ModelEvent.objects.update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        ModelEvent.objects.all().delete()
    with pytest.raises(ProtectedError):
        ModelVersion.objects.all().delete()
    assert ModelEvent.objects.get(pk=event.pk).reason == ""


@pytest.mark.postgres
def test_the_database_refuses_to_change_an_event_too(register_version, django_user_model):
    # given
    actor = django_user_model.objects.create_user(username="leaver", password="x-12345678")
    register_version(activate=True, actor=actor)
    event = ModelEvent.objects.first()

    # when / then: SQL behind the model's back is refused by the trigger
    from django.db import DatabaseError, transaction

    for statement in (
        "UPDATE mlmodel_modelevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM mlmodel_modelevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    # a deleted user's events keep everything but the actor
    actor.delete()
    assert ModelEvent.objects.get(pk=event.pk).actor is None


def test_the_candidate_policy_door_starts_an_audited_experiment(register_version):
    # given
    register_version(activate=True)
    register_version()

    # when
    experiment = services.experiment_start_for_candidate(
        candidate_version=2, weight=10, reason="policy: MAE improved by 2 %"
    )

    # then
    assert experiment.status == ExperimentStatus.RUNNING
    assert [(a.model_version.version, a.weight) for a in experiment.arms.order_by("id")] == [
        (1, 90),
        (2, 10),
    ]
    started = ModelEvent.objects.filter(action=ModelAction.EXPERIMENT_STARTED)
    assert started.count() == 2 and started.first().reason == "policy: MAE improved by 2 %"


WATCHER_SCRIPT = """
import sys, time
import django
django.setup()
from mlmodel.core.profile import EXAMPLE_PROFILE
from mlmodel.services import predict

units = [f"user:{n}" for n in range(200)]
def served():
    versions = {predict(EXAMPLE_PROFILE, unit=u).model_version_number for u in units}
    return ",".join(str(v) for v in sorted(versions))

first = served()
print(first, flush=True)
for line in sys.stdin:
    deadline = time.monotonic() + 10
    previous, current = None, served()
    # a refresh may land half-way through one pass: wait for two equal passes
    while (current == first or current != previous) and time.monotonic() < deadline:
        time.sleep(0.05)
        previous, current = current, served()
    print(current, flush=True)
    first = current
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_start_promote_and_rollback_reach_another_process_within_seconds(
    register_version, tmp_path
):
    # given
    register_version(activate=True)
    register_version()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
    }
    log_path = tmp_path / "watcher.log"
    with log_path.open("w") as log:
        watcher = subprocess.Popen(
            [sys.executable, "-c", WATCHER_SCRIPT],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert watcher.stdout.readline().strip() == "1", log_path.read_text()

            def step() -> str:
                watcher.stdin.write("go\n")
                watcher.stdin.flush()
                return watcher.stdout.readline().strip()

            # when / then
            experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
            assert step() == "1,2", log_path.read_text()
            services.experiment_promote(experiment_id=experiment.pk, model_version=2)
            assert step() == "2", log_path.read_text()
            services.model_version_rollback(reason="test")
            assert step() == "1", log_path.read_text()
        finally:
            watcher.kill()
            watcher.wait(timeout=SUBPROCESS_TIMEOUT_SECONDS)


def test_no_query_per_prediction_inside_a_running_experiment(
    register_version, settings, django_assert_num_queries
):
    # given
    settings.MLMODEL_RELOAD_CHECK_SECONDS = 3600
    _three_versions(register_version)
    start_experiment_of(
        [{"model_version": 2, "weight": 50}, {"model_version": 3, "weight": 0, "role": "shadow"}]
    )
    loading.reset_registry()
    predict(EXAMPLE_PROFILE, unit="user:0")

    # when / then: routing is a hash and a tuple lookup
    with django_assert_num_queries(0):
        for n in range(50):
            predict(EXAMPLE_PROFILE, unit=f"user:{n}")
