"""The guardrail policy: off by default; ramps up, stops on a regression or SRM, promotes."""

import pytest

from feedback.models import Feedback, Rating
from mlmodel.models import (
    ArmRole,
    ExperimentStatus,
    ModelAction,
    ModelEvent,
    ModelStatus,
    ModelVersion,
)
from mlmodel.rollout.guardrails import guardrails_run
from mlmodel.rollout.metrics import arm_daily_stats_refresh
from predictions.models import Channel, Prediction
from predictions.services import prediction_create
from tests.conftest import start_experiment_of
from tests.mlmodel.rollout.conftest import record_split
from tests.predictions.conftest import PROFILE

pytestmark = pytest.mark.django_db
USERS = 60


@pytest.fixture
def ramp(register_version, settings):
    settings.GUARDRAILS_ENABLED = True
    settings.GUARDRAILS_STEP_MIN_SECONDS = 0
    settings.GUARDRAILS_STEP_MIN_ACTUALS = 5
    settings.GUARDRAILS_RAMP_STEPS = [5, 25, 50, 100]
    register_version(activate=True)
    register_version()
    return start_experiment_of([{"model_version": 2, "weight": 50}])


def _traffic_with_feedback(django_user_model, *, champion_error: int, challenger_error: int):
    for n in range(USERS):
        user = django_user_model.objects.create_user(username=f"g{n}", password="pw-12345678")
        prediction = prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)
        role = prediction.arm.role if prediction.arm_id else ArmRole.CHAMPION
        error = challenger_error if role == ArmRole.CHALLENGER else champion_error
        Feedback.objects.create(
            prediction=prediction,
            user=user,
            rating=Rating.TOO_LOW,
            actual_salary_usd=prediction.estimate_usd + error,
        )
    arm_daily_stats_refresh()


def _automatic_events(action: str):
    return ModelEvent.objects.filter(action=action, automatic=True)


def test_off_by_default_it_does_nothing(register_version, settings):
    # given
    settings.GUARDRAILS_ENABLED = False
    register_version(activate=True)
    register_version()
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])

    # when
    decision = guardrails_run()

    # then
    assert decision.action == "off"
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_a_healthy_challenger_steps_up_the_ramp(ramp, django_user_model):
    # given equal errors on both sides
    _traffic_with_feedback(django_user_model, champion_error=8_000, challenger_error=8_000)

    # when
    decision = guardrails_run()

    # then 50 % -> the next step, 100 %
    assert (decision.action, decision.weight) == ("step", 100)
    challenger = ramp.arms.get(role=ArmRole.CHALLENGER)
    assert challenger.weight == 100
    event = _automatic_events(ModelAction.EXPERIMENT_REWEIGHTED).first()
    assert event.reason.startswith("guardrail: ramp step 50 % -> 100 %")

    # and at 100 % the next run promotes it
    assert guardrails_run().action == "promote"
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE
    assert _automatic_events(ModelAction.PROMOTED).exists()


def test_a_worse_challenger_is_stopped(ramp, django_user_model):
    # given the challenger is $20K off where the champion is $5K off
    _traffic_with_feedback(django_user_model, champion_error=5_000, challenger_error=20_000)

    # when
    decision = guardrails_run()

    # then
    assert decision.action == "stop" and "worse than the champion's" in decision.reason
    ramp.refresh_from_db()
    assert ramp.status == ExperimentStatus.STOPPED
    assert ModelVersion.objects.get(version=1).status == ModelStatus.ACTIVE
    assert _automatic_events(ModelAction.EXPERIMENT_STOPPED).count() == 2  # one per arm's version


def test_too_little_feedback_holds(ramp, django_user_model, settings):
    settings.GUARDRAILS_STEP_MIN_ACTUALS = 10_000
    _traffic_with_feedback(django_user_model, champion_error=1, challenger_error=1)
    assert guardrails_run().action == "hold"
    assert not ModelEvent.objects.filter(automatic=True).exists()


def test_sample_ratio_mismatch_stops_the_ramp(ramp, settings):
    # given 600/400 recorded units on a 50/50 split
    record_split(ramp, champion_units=600, challenger_units=400)

    # when
    decision = guardrails_run()

    # then
    assert decision.action == "stop" and "sample-ratio mismatch" in decision.reason
    assert Prediction.objects.count() == 0
