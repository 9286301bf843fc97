"""Training runs end to end in this process (eager Celery): rows → candidate, gates, lineage.

Real PostgreSQL when ``DATABASE_URL`` is set (the run lock then lives in Redis too); the real
worker, the lock under concurrency and a killed worker are in ``test_training_worker.py``.
"""

import os

import pytest

from mlmodel.models import (
    ModelEvent,
    ModelStatus,
    ModelVersion,
    ReviewStatus,
    SalaryRecord,
    SalarySource,
    TrainingRun,
    TrainingTrigger,
)
from mlmodel.tasks import training_run_scheduled_task
from mlmodel.training_runs import (
    TRAINING_LOCK_KEY,
    TrainingRunBusy,
    salary_feedback_review,
    training_lock_holder,
    training_run_request,
)
from mlmodel.training_services import (
    GATE_FAILED_NOTE,
    STAGE_START_PERCENT,
    salary_demo_data_create,
    training_run_execute,
)
from portal.exceptions import Unavailable
from portal.jobs.models import JobStatus
from tests.concurrency import run_at_once
from tests.conftest import FAST_TRAINING_PARAMS
from tests.predictions.conftest import unreachable_broker  # noqa: F401
from tests.processes import run_django_script

RUN_ROWS = 600
# Below RUN_ROWS: the size gate's default (1,000) is for real data, not these tests.
TEST_MIN_ROWS = 300
RUN_SEED = 11
FEEDBACK_SALARY = 123_456
OPEN_RANGE = (0.0, 1.0)


@pytest.fixture
def training_rows(db, settings):
    """Synthetic rows stored as imported ones (approved), enough to pass TRAINING_MIN_ROWS;
    gates wide open. Imported, because real rows are what feedback rows join."""
    settings.TRAINING_GATE_COVERAGE_RANGE = OPEN_RANGE
    settings.TRAINING_GATE_MAX_MAE_REGRESSION = 10.0
    settings.TRAINING_MIN_ROWS = TEST_MIN_ROWS
    salary_demo_data_create(rows=RUN_ROWS, seed=RUN_SEED)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)
    return SalaryRecord.objects.filter(source=SalarySource.IMPORT)


def _feedback_row(*, work_year: int, review_status: str, salary: int = FEEDBACK_SALARY):
    return SalaryRecord.objects.create(
        work_year=work_year,
        experience_level="SE",
        employment_type="FT",
        job_title="Data Scientist",
        salary=salary,
        salary_currency="USD",
        salary_in_usd=salary,
        employee_residence="US",
        remote_ratio=0,
        company_location="US",
        company_size="M",
        source=SalarySource.FEEDBACK,
        review_status=review_status,
    )


@pytest.fixture
def run_training(django_capture_on_commit_callbacks):
    """``run_training(actor=…)``: request a run and let its task run here, as it commits."""

    def run(*, actor=None, trigger=TrainingTrigger.COMMAND) -> TrainingRun:
        with django_capture_on_commit_callbacks(execute=True):
            requested = training_run_request(
                trigger=trigger, actor=actor, params=FAST_TRAINING_PARAMS
            )
        requested.refresh_from_db()
        return requested

    return run


def _latest_year_rows(rows) -> int:
    latest = max(rows.values_list("work_year", flat=True))
    distinct = rows.filter(work_year=latest).values_list(
        "work_year",
        "experience_level",
        "employment_type",
        "job_title",
        "salary",
        "salary_currency",
        "salary_in_usd",
        "employee_residence",
        "remote_ratio",
        "company_location",
        "company_size",
    )
    return len(set(distinct))


@pytest.mark.django_db
def test_a_run_stores_a_candidate_with_metrics_comparison_and_lineage(
    training_rows, active_model_version, user, run_training
):
    # given approved rows and a champion
    champion = active_model_version

    # when a run is requested (eager: it runs in this process before the call returns)
    run = run_training(actor=user)

    # then the run succeeded with every stage timed and a candidate that does not serve
    assert run.status == JobStatus.SUCCEEDED, run.message
    assert run.progress_percent == 100 and run.attempts == 1
    assert set(run.stage_seconds) == set(STAGE_START_PERCENT)
    assert all(seconds >= 0 for seconds in run.stage_seconds.values())
    version = run.model_version
    assert version.status == ModelStatus.CANDIDATE
    champion.refresh_from_db()
    assert champion.status == ModelStatus.ACTIVE
    # and the comparison scored both on the same held-out rows of the latest year
    comparison = version.metrics["comparison"]
    assert comparison["active_version"] == champion.version
    assert comparison["rows"] == _latest_year_rows(training_rows)
    for side in ("candidate", "active"):
        assert comparison[side]["mae"] > 0
        assert 0 <= comparison[side]["coverage"] <= 1
    assert comparison["candidate"] != comparison["active"]
    evaluation = version.metrics["evaluation"]
    assert evaluation["test"]["rows"] == comparison["rows"]
    assert comparison["held_out_year"] not in evaluation["train_years"]
    assert version.metrics["summary"]["mae_usd"] == evaluation["test"]["mae"]
    assert version.metrics["gate"]["passed"] is True and run.gate_passed is True
    # and the lineage says which rows, which run, who, what code and libraries
    lineage = version.training_data
    assert lineage["rows_raw"] == RUN_ROWS
    assert lineage["sources"] == {SalarySource.IMPORT: RUN_ROWS}
    assert lineage["feedback_record_ids"] == []
    assert len(lineage["sha256"]) == 64
    assert lineage["training_run"] == {
        "id": run.pk,
        "trigger": TrainingTrigger.COMMAND,
        "actor_id": user.pk,
        "actor": user.username,
    }
    assert {"xgboost", "scikit-learn", "python"} <= set(version.library_versions)
    assert version.hyperparameters["seed"] == run.seed
    event = ModelEvent.objects.get(model_version=version)
    assert event.details["training_run"] == run.pk and event.actor == user
    # and the lock was released
    assert training_lock_holder() is None


@pytest.mark.django_db
def test_feedback_rows_train_only_once_approved_and_are_never_held_out(training_rows, run_training):
    # given feedback rows in the held-out (latest) year: approved, pending, rejected
    latest = max(training_rows.values_list("work_year", flat=True))
    approved = _feedback_row(work_year=latest, review_status=ReviewStatus.APPROVED)
    pending = _feedback_row(work_year=latest, review_status=ReviewStatus.PENDING, salary=99_999)
    rejected = _feedback_row(work_year=latest, review_status=ReviewStatus.REJECTED, salary=88_888)

    # when a run trains
    run = run_training()

    # then only the approved feedback row trained it, and none is in the held-out rows
    assert run.status == JobStatus.SUCCEEDED, run.message
    lineage = run.model_version.training_data
    assert lineage["feedback_record_ids"] == [approved.pk]
    assert pending.pk not in lineage["feedback_record_ids"]
    assert rejected.pk not in lineage["feedback_record_ids"]
    assert lineage["sources"] == {SalarySource.IMPORT: RUN_ROWS, SalarySource.FEEDBACK: 1}
    comparison = run.model_version.metrics["comparison"]
    assert comparison["rows"] == _latest_year_rows(training_rows)
    assert lineage["held_out"] == {"year": latest, "rows": comparison["rows"]}


@pytest.mark.django_db
def test_the_review_queue_decides_which_feedback_rows_train(training_rows, user, run_training):
    # given two pending feedback rows
    first = _feedback_row(work_year=2023, review_status=ReviewStatus.PENDING)
    second = _feedback_row(work_year=2023, review_status=ReviewStatus.PENDING, salary=77_777)

    # when staff approve one and reject the other, then approve the first again
    approved = salary_feedback_review(record_ids=[first.pk], approve=True, actor=user)
    rejected = salary_feedback_review(record_ids=[second.pk], approve=False, actor=user)
    again = salary_feedback_review(record_ids=[first.pk], approve=True, actor=user)

    # then each changed once, and the next run trains on the approved one only
    assert (approved, rejected, again) == (1, 1, 0)
    run = run_training()
    assert run.model_version.training_data["feedback_record_ids"] == [first.pk]


@pytest.mark.django_db
def test_a_review_never_touches_imported_rows(training_rows):
    # given an imported (demo) row
    row = training_rows.first()

    # when it is "rejected" through the feedback review
    changed = salary_feedback_review(record_ids=[row.pk], approve=False)

    # then nothing changed
    row.refresh_from_db()
    assert changed == 0 and row.review_status == ReviewStatus.APPROVED


@pytest.mark.django_db
def test_too_few_rows_fail_the_run_with_the_reason_and_no_version(db, settings, run_training):
    # given fewer approved rows than TRAINING_MIN_ROWS
    settings.TRAINING_MIN_ROWS = 500
    salary_demo_data_create(rows=200, seed=RUN_SEED)

    # when a run is requested
    run = run_training()

    # then it failed, saying why, and stored nothing
    assert run.status == JobStatus.FAILED
    assert "Too few training rows: 200 approved row(s), at least 500 needed" in run.message
    assert run.model_version is None and not ModelVersion.objects.exists()
    assert training_lock_holder() is None


@pytest.mark.django_db
def test_a_candidate_worse_than_the_champion_beyond_the_margin_did_not_pass(
    training_rows, active_model_version, settings, run_training
):
    # given a margin no candidate can meet (it must be 99 % better than the champion)
    settings.TRAINING_GATE_MAX_MAE_REGRESSION = -0.99

    # when a run trains
    run = run_training()

    # then the candidate is stored but marked "did not pass", never activated
    assert run.status == JobStatus.SUCCEEDED, run.message
    assert run.gate_passed is False
    version = run.model_version
    gate = version.metrics["gate"]
    assert gate["passed"] is False
    assert "worse than the champion" in gate["reasons"][0]
    assert version.notes.startswith(GATE_FAILED_NOTE)
    assert version.status == ModelStatus.CANDIDATE


@pytest.mark.django_db
def test_coverage_outside_the_gate_range_did_not_pass(training_rows, settings, run_training):
    # given a coverage range no interval can be in
    settings.TRAINING_GATE_COVERAGE_RANGE = (1.0, 1.0)

    # when a run trains (no champion at all)
    run = run_training()

    # then it did not pass, for its coverage, and says there was nothing to compare with
    assert run.gate_passed is False
    assert "coverage" in run.model_version.metrics["gate"]["reasons"][0]
    assert run.model_version.metrics["comparison"]["active"] is None


@pytest.mark.django_db
def test_policy_off_activates_nothing(training_rows, active_model_version, run_training):
    # given the default policy (off) and a candidate that passes its gates
    # when a run trains
    run = run_training()

    # then the champion still serves alone and the candidate was only registered
    assert run.gate_passed is True
    assert run.activation == {"policy": "off", "started": False}
    assert list(ModelVersion.objects.filter(status=ModelStatus.ACTIVE)) == [active_model_version]
    assert list(
        ModelEvent.objects.filter(model_version=run.model_version).values_list("action", flat=True)
    ) == ["registered"]


@pytest.mark.django_db
def test_policy_on_and_gate_met_starts_an_experiment_with_an_audit_event(
    training_rows, active_model_version, settings, user, run_training
):
    from mlmodel.models import Experiment, ExperimentStatus

    # given the policy on, and salaries the champion underestimates by a third
    settings.TRAINING_POLICY_EXPERIMENT_WEIGHT = 10
    settings.TRAINING_POLICY_MIN_MAE_IMPROVEMENT = 0.01
    settings.TRAINING_POLICY_COVERAGE_RANGE = OPEN_RANGE
    for row in training_rows:
        row.salary_in_usd = row.salary_in_usd * 3 // 2
        row.save(update_fields=["salary_in_usd"])

    # when a run trains a candidate that beats the champion by far
    run = run_training(actor=user)

    # then an experiment champion vs candidate at 10 % runs, and the audit log says so
    assert run.activation["started"] is True, run.activation
    assert run.activation["mae_improvement"] >= 0.01
    experiment = Experiment.objects.get(pk=run.activation["experiment_id"])
    assert experiment.status == ExperimentStatus.RUNNING
    arms = {arm.model_version_id: arm.weight for arm in experiment.arms.all()}
    assert arms[run.model_version.pk] == 10
    events = ModelEvent.objects.filter(experiment=experiment)
    assert events.exists()
    # made by the policy, not by a person: marked automatic
    assert all(event.automatic for event in events)


@pytest.mark.django_db
def test_a_second_request_is_refused_naming_the_running_run(training_rows):
    # given a run that is pending (its task not run yet: a broker that has not delivered it)
    first = TrainingRun.objects.create(trigger=TrainingTrigger.API, status=JobStatus.RUNNING)

    # when another run is requested
    with pytest.raises(TrainingRunBusy) as refused:
        training_run_request(trigger=TrainingTrigger.ADMIN)

    # then it is refused with a message naming the first, and nothing was stored
    assert f"Training run #{first.pk} is already running" in str(refused.value)
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_a_held_lock_refuses_requests_and_runs(training_rows):
    # given a run holding the lock
    from django.core.cache import cache

    holder = TrainingRun.objects.create(trigger=TrainingTrigger.API, status=JobStatus.RUNNING)
    cache.set(TRAINING_LOCK_KEY, holder.pk, timeout=60)
    other = TrainingRun.objects.create(
        trigger=TrainingTrigger.API, params=FAST_TRAINING_PARAMS, celery_task_id="t-1"
    )

    # when the other run reaches a worker
    training_run_execute(run_id=other.pk, task_id="t-1")

    # then it fails naming the holder, and the holder's lock is untouched
    other.refresh_from_db()
    assert other.status == JobStatus.FAILED
    assert f"Training run #{holder.pk} holds the training lock" in other.message
    assert other.model_version is None
    assert training_lock_holder() == holder.pk


@pytest.mark.django_db
def test_a_finished_run_is_not_run_again_by_a_redelivered_message(training_rows, run_training):
    # given a finished run
    run = run_training()
    versions = ModelVersion.objects.count()

    # when its message is delivered again
    training_run_execute(run_id=run.pk, task_id=run.celery_task_id)

    # then nothing changes
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED and run.attempts == 1
    assert ModelVersion.objects.count() == versions == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_message_running_at_once_store_exactly_one_version(
    training_rows, settings
):
    # given a pending run and two workers that got the same message (duplicate delivery)
    run = TrainingRun.objects.create(
        trigger=TrainingTrigger.API, params=FAST_TRAINING_PARAMS, celery_task_id="dup-1"
    )

    def deliver() -> None:
        training_run_execute(run_id=run.pk, task_id="dup-1")

    # when both run it at the same time
    run_at_once(deliver)

    # then the run succeeded once, with exactly one version
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.message
    assert ModelVersion.objects.count() == 1
    assert run.model_version == ModelVersion.objects.get()


@pytest.mark.django_db(transaction=True)
def test_a_refusing_broker_fails_the_run_with_a_message_and_raises_unavailable(
    training_rows,
    unreachable_broker,  # noqa: F811
):
    # when a run is requested while the broker is down
    with pytest.raises(Unavailable):
        training_run_request(trigger=TrainingTrigger.API)

    # then the run is failed with a message its requester can read, not left pending
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.FAILED
    assert run.message == TrainingRun.queue_refused_message


@pytest.mark.django_db
def test_the_scheduled_task_requests_a_run_or_skips_while_one_is_active(training_rows):
    # when beat fires twice (inside the test transaction the first run's task is not sent)
    first = training_run_scheduled_task()
    second = training_run_scheduled_task()

    # then one run was requested by the schedule, the second firing skipped
    run = TrainingRun.objects.get()
    assert (first, second) == (run.pk, None)
    assert run.trigger == TrainingTrigger.SCHEDULE and run.requested_by is None


SCHEDULE_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
entry = settings.CELERY_BEAT_SCHEDULE.get("scheduled-training-run")
print(json.dumps(entry))
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"task": "mlmodel.training_run_scheduled_task", "schedule": 604800.0}),
        ("3600", {"task": "mlmodel.training_run_scheduled_task", "schedule": 3600.0}),
        ("0", None),
    ],
)
def test_the_schedule_is_weekly_by_default_from_the_environment_and_off_with_zero(value, expected):
    # given the settings read in a fresh process with TRAINING_SCHEDULE_SECONDS set or not
    env = {k: v for k, v in os.environ.items() if k != "TRAINING_SCHEDULE_SECONDS"}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    if value is not None:
        env["TRAINING_SCHEDULE_SECONDS"] = value

    # when / then
    assert run_django_script(SCHEDULE_SCRIPT, env=env) == expected
