"""The daily rollup and what the dashboard reads from it: per-arm counts, feedback MAE, bias,
coverage, ratings, latency quantiles, shadow pairs and drift."""

import datetime

import pytest
from django.utils import timezone

from feedback.models import Feedback, Rating
from mlmodel.models import ArmDailyStats, ArmRole, ServingError
from mlmodel.rollout.metrics import (
    arm_daily_stats_refresh,
    arm_metrics,
    experiment_dashboard,
    version_metrics,
)
from mlmodel.training_services import salary_demo_data_create
from predictions.models import Channel, Prediction, ShadowPrediction
from predictions.services import prediction_create
from tests.conftest import start_experiment_of
from tests.mlmodel.rollout.conftest import record_split
from tests.predictions.conftest import PROFILE

pytestmark = pytest.mark.django_db
USERS = 30


@pytest.fixture
def experiment(register_version, django_user_model, django_capture_on_commit_callbacks):
    register_version(activate=True)
    register_version()
    register_version()
    experiment = start_experiment_of(
        [{"model_version": 2, "weight": 50}, {"model_version": 3, "weight": 0, "role": "shadow"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(USERS):
            user = django_user_model.objects.create_user(username=f"m{n}", password="pw-12345678")
            prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    return experiment


def _feedback(prediction: Prediction, *, actual: int | None, rating: str) -> Feedback:
    return Feedback.objects.create(
        prediction=prediction, user=prediction.user, actual_salary_usd=actual, rating=rating
    )


def test_the_rollup_sums_predictions_and_feedback_per_arm(experiment):
    # given feedback on every prediction: a real salary $10,000 above the estimate on half
    predictions = list(Prediction.objects.order_by("id"))
    expected: dict[int, list[float]] = {}
    for index, prediction in enumerate(predictions):
        if index % 2:
            _feedback(prediction, actual=None, rating=Rating.ABOUT_RIGHT)
            continue
        actual = prediction.estimate_usd + 10_000
        _feedback(prediction, actual=actual, rating=Rating.TOO_LOW)
        expected.setdefault(prediction.arm_id, []).append(actual)

    # when
    arm_daily_stats_refresh()
    metrics = arm_metrics(experiment=experiment)

    # then
    arms = {arm.role: arm for arm in experiment.arms.all()}
    served = [arms[ArmRole.CHAMPION].pk, arms[ArmRole.CHALLENGER].pk]
    assert sum(metrics[arm_id].predictions for arm_id in served) == USERS
    assert sum(metrics[arm_id].units for arm_id in served) == USERS
    for arm_id in served:
        m = metrics[arm_id]
        if not m.predictions:
            continue
        assert (
            m.feedback == Prediction.objects.filter(arm_id=arm_id, feedback__isnull=False).count()
        )
        assert m.actuals == len(expected.get(arm_id, []))
        if m.actuals:
            assert m.mae == pytest.approx(10_000) and m.bias == pytest.approx(-10_000)
        assert m.ratings[Rating.TOO_LOW] == m.actuals
        assert m.latency_p50_ms is not None and m.latency_p50_ms <= m.latency_p95_ms
        assert m.feedback_rate == pytest.approx(m.feedback / m.predictions)
    shadow = metrics[arms[ArmRole.SHADOW].pk]
    assert shadow.shadow_predictions == USERS and shadow.predictions == 0
    assert shadow.actuals == USERS // 2
    assert shadow.coverage is not None


def test_coverage_counts_the_actuals_inside_the_interval(experiment):
    # given two real salaries: one inside the interval, one far above it
    first, second = Prediction.objects.order_by("id")[:2]
    _feedback(first, actual=first.estimate_usd, rating=Rating.ABOUT_RIGHT)
    _feedback(second, actual=second.interval_high_usd + 50_000, rating=Rating.TOO_LOW)

    # when
    arm_daily_stats_refresh()

    # then
    by_version = version_metrics()
    covered = sum(
        m.coverage * m.actuals
        for m in by_version.values()
        if m.coverage is not None and m.predictions
    )
    assert covered == pytest.approx(1)


def test_late_feedback_lands_on_the_day_of_its_prediction(experiment):
    # given a prediction made three days ago and already rolled up
    old = Prediction.objects.order_by("id").first()
    three_days_ago = timezone.now() - datetime.timedelta(days=3)
    Prediction.objects.filter(pk=old.pk).update(created_at=three_days_ago)
    arm_daily_stats_refresh(days=1)
    before = ArmDailyStats.objects.filter(day=three_days_ago.date()).count()

    # when feedback arrives today
    _feedback(old, actual=old.estimate_usd + 1_000, rating=Rating.TOO_LOW)
    days = arm_daily_stats_refresh(days=1)

    # then the old day was rebuilt too
    assert before == 0
    assert three_days_ago.date() in days
    row = ArmDailyStats.objects.get(day=three_days_ago.date(), arm_id=old.arm_id)
    assert (row.predictions, row.actuals, row.abs_error_sum) == (1, 1, 1_000)


def test_errors_count_towards_the_error_rate(experiment):
    # given
    arm = experiment.arms.get(role=ArmRole.CHALLENGER)
    for _ in range(3):
        ServingError.objects.create(model_version=arm.model_version, arm=arm, kind="RuntimeError")

    # when
    arm_daily_stats_refresh()

    # then
    metrics = arm_metrics(experiment=experiment)[arm.pk]
    assert metrics.errors == 3
    assert metrics.error_rate == pytest.approx(3 / (metrics.predictions + 3))


def test_the_dashboard_shows_shadow_pairs_and_drift(experiment):
    # given training rows and feedback with real salaries on every prediction
    salary_demo_data_create(rows=400, seed=3)
    for prediction in Prediction.objects.all():
        _feedback(prediction, actual=prediction.estimate_usd + 5_000, rating=Rating.TOO_LOW)

    # when
    arm_daily_stats_refresh()
    dashboard = experiment_dashboard(experiment=experiment)

    # then
    shadow = dashboard["shadow_comparisons"][0]
    assert shadow["model_version"] == 3 and shadow["pairs"] == USERS
    # the shadow runs the same artifact: its errors equal the served ones, pair by pair
    assert shadow["mean_difference"] == pytest.approx(0) and shadow["low"] <= 0 <= shadow["high"]
    assert ShadowPrediction.objects.count() == USERS
    champion = next(a for a in dashboard["arms"] if a["role"] == "champion")
    # every prediction asked about a senior full-time US data scientist: the mix drifted
    assert champion["drift"]["experience_level"] > 0.2
    assert "experience_level" in champion["drift_flagged"]
    assert dashboard["srm"]["enough_units"] is False


def test_the_srm_flag_is_exported_for_the_alert(register_version, staff_client):
    # given a 50/50 experiment whose recorded units are 600/400
    register_version(activate=True)
    register_version()
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    record_split(experiment, champion_units=600, challenger_units=400)

    # when the rollup runs and Prometheus scrapes
    arm_daily_stats_refresh()
    scraped = staff_client.get("/metrics").content.decode()

    # then
    assert f'mlpaygrade_experiment_srm_flag{{experiment="{experiment.pk}"}} 1.0' in scraped
