"""Experiment exposures: recorded by the worker after the answer, once per unit, shadow arms
scored beside the served answer and never shown, and nothing lost while the broker is down."""

import time

import pytest
from django.db import connection, transaction
from django.urls import reverse

from mlmodel import loading
from mlmodel.models import ArmRole, Assignment
from portal.accounts.services import api_token_create
from predictions import services
from predictions.models import Channel, PendingExposure, Prediction, ShadowPrediction
from tests.concurrency import wait_until
from tests.conftest import start_experiment_of
from tests.predictions.conftest import PROFILE, PROFILE_DATA

PREDICTIONS_URL = "/api/v1/predictions/"
WORKER_WAIT_SECONDS = 30
USERS = 6


@pytest.fixture
def three_versions(trained_demo_artifact):
    """v1 the champion, v2 and v3 candidates (the same artifact: what matters is the routing)."""
    from mlmodel.services import model_version_register

    artifact, metadata = trained_demo_artifact
    loading.reset_registry()
    versions = [
        model_version_register(artifact=artifact, metadata=metadata, activate=(n == 0))
        for n in range(3)
    ]
    yield versions
    loading.reset_registry()


def _experiment_with_shadow():
    return start_experiment_of(
        [{"model_version": 2, "weight": 50}, {"model_version": 3, "weight": 0, "role": "shadow"}]
    )


def _wait_for(condition, seconds: float = WORKER_WAIT_SECONDS) -> bool:
    return wait_until(condition, seconds=seconds, poll=0.2)


def _api_client(user, name: str):
    from rest_framework.test import APIClient

    _token, key = api_token_create(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_one_user_sees_one_version_everywhere_and_the_worker_records_one_assignment(
    real_celery, django_user_model, client, three_versions
):
    # given a running 50/50 experiment with a shadow arm, and users with two tokens each
    experiment = _experiment_with_shadow()
    users = [
        django_user_model.objects.create_user(username=f"u{n}", password="pw-123456789")
        for n in range(USERS)
    ]

    # when each user asks through the web form and two API tokens
    answered = {}
    for user in users:
        client.force_login(user)
        client.post(reverse("predictions:create"), PROFILE_DATA)
        for name in ("laptop", "ci"):
            response = _api_client(user, name).post(PREDICTIONS_URL, PROFILE_DATA, format="json")
            assert response.status_code == 201
            body = response.json()
            assert "shadow" not in response.content.decode()
            answered.setdefault(user.pk, set()).add(body["model_version"])

    # then one version per user, across channels
    stored = Prediction.objects.filter(user__in=users)
    assert stored.count() == USERS * 3
    for user in users:
        versions = set(stored.filter(user=user).values_list("model_version__version", flat=True))
        assert len(versions) == 1 and versions == answered[user.pk]
    # and the worker recorded exactly one assignment per user, three exposures each
    assert _wait_for(
        lambda: (
            sum(
                Assignment.objects.filter(experiment=experiment).values_list("exposures", flat=True)
            )
            == USERS * 3
        )
    )
    assignments = Assignment.objects.filter(experiment=experiment)
    assert sorted(assignments.values_list("unit", flat=True)) == sorted(
        f"user:{u.pk}" for u in users
    )
    for assignment in assignments:
        served = set(
            stored.filter(user_id=int(assignment.unit.split(":")[1])).values_list(
                "model_version_id", flat=True
            )
        )
        assert served == {assignment.model_version_id}
    # and the shadow arm answered every prediction, stored beside it
    assert _wait_for(lambda: ShadowPrediction.objects.count() == USERS * 3)
    shadow_arm = experiment.arms.get(role=ArmRole.SHADOW)
    assert set(ShadowPrediction.objects.values_list("arm_id", flat=True)) == {shadow_arm.pk}
    assert not PendingExposure.objects.exists()


@pytest.mark.django_db
def test_a_shadow_answer_never_reaches_the_user(
    api_client, user, three_versions, django_capture_on_commit_callbacks
):
    # given
    _experiment_with_shadow()

    # when (tasks run inline here, once the answer is committed)
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json").json()
    listed = api_client.get(PREDICTIONS_URL).json()
    detail = api_client.get(f"{PREDICTIONS_URL}{created['id']}/")

    # then
    prediction = Prediction.objects.get(pk=created["id"])
    shadow = ShadowPrediction.objects.get(prediction=prediction)
    assert shadow.model_version.version == 3
    assert created["model_version"] in (1, 2)
    for body in (created, listed["results"][0], detail.json()):
        assert set(body) & {"shadow", "shadows", "shadow_predictions"} == set()
        assert body["model_version"] != 3


@pytest.mark.django_db
def test_recording_an_exposure_twice_counts_it_once(
    user, three_versions, django_capture_on_commit_callbacks
):
    # given
    _experiment_with_shadow()
    with django_capture_on_commit_callbacks(execute=True):
        prediction = services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)

    # when (inline: recorded once already; a redelivered message and the sweep try again)
    again = services.prediction_record_exposure(prediction_id=prediction.pk)
    swept = services.prediction_exposures_reconcile(older_than_seconds=0, limit=100)

    # then
    assert (again, swept) == (False, 0)
    assignment = Assignment.objects.get()
    assert assignment.exposures == 1
    assert ShadowPrediction.objects.filter(prediction=prediction).count() == 1


@pytest.mark.django_db
def test_without_an_experiment_nothing_is_recorded(user, three_versions):
    prediction = services.prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)
    assert (prediction.experiment_id, prediction.arm_id) == (None, None)
    assert prediction.model_version.version == 1
    assert Assignment.objects.count() == 0
    assert not PendingExposure.objects.exists()


@pytest.mark.django_db
def test_the_database_queues_an_experiment_prediction_only_with_its_commit(user, three_versions):
    # given a running experiment
    _experiment_with_shadow()

    # when one prediction is stored and another one's transaction rolls back
    kept = services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
        raise RuntimeError("rolled back")

    # then the trigger queued the stored one, with its time, and nothing of the other
    assert list(PendingExposure.objects.values_list("prediction_id", "created_at")) == [
        (kept.pk, kept.created_at)
    ]


def _row_position(prediction_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ctid::text FROM predictions_prediction WHERE id = %s", [prediction_id]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_recording_an_exposure_leaves_the_prediction_row_as_it_was(user, three_versions):
    if connection.vendor != "postgresql":
        pytest.skip("ctid (where a row version sits) is PostgreSQL's")
    # given a prediction waiting in the exposure queue
    _experiment_with_shadow()
    prediction = services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    position = _row_position(prediction.pk)

    # when the worker records it
    recorded = services.prediction_exposures_drain()

    # then it is recorded without a new version of the prediction row (any UPDATE moves it)
    assert recorded == 1
    assert _row_position(prediction.pk) == position
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.get().exposures == 1


@pytest.mark.django_db
def test_a_queued_exposure_of_a_deleted_prediction_is_dropped(user, three_versions):
    _experiment_with_shadow()
    prediction = services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    Prediction.objects.filter(pk=prediction.pk).delete()

    assert services.prediction_exposures_drain() == 0
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.count() == 0


def _tamper_artifact(version) -> None:
    """Flip one byte of a stored artifact: its sha256 no longer matches, the loader refuses it."""
    from mlmodel.models import ModelVersion

    tampered = bytearray(bytes(version.artifact))
    tampered[len(tampered) // 2] ^= 0xFF
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(tampered))
    loading.reset_registry()


@pytest.mark.django_db
def test_a_shadow_version_that_cannot_load_does_not_hold_up_the_queue(user, three_versions):
    # given queued experiment predictions, and a shadow version whose artifact is now refused
    _experiment_with_shadow()
    for _ in range(3):
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    _tamper_artifact(three_versions[2])

    # when the worker records them, then the exposures are recorded and dequeued all the same
    assert services.prediction_exposures_drain() == 3
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.get().exposures == 3
    # and the shadow arm's failure is counted against it instead of its answers stored
    from mlmodel.models import ServingError

    assert not ShadowPrediction.objects.exists()
    assert ServingError.objects.filter(model_version=three_versions[2]).count() == 1


@pytest.mark.django_db
def test_stored_inputs_todays_rules_reject_lose_only_their_shadow_answer(user, three_versions):
    _experiment_with_shadow()
    made = [
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
        for _ in range(3)
    ]
    # a row stored under older rules: its inputs no longer parse
    Prediction.objects.filter(pk=made[0].pk).update(inputs={**PROFILE.as_dict(), "remote_ratio": 7})

    assert services.prediction_exposures_drain() == 3
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.get().exposures == 3
    assert sorted(ShadowPrediction.objects.values_list("prediction_id", flat=True)) == sorted(
        p.pk for p in made[1:]
    )


@pytest.mark.django_db
def test_a_deleted_prediction_in_a_batch_does_not_end_the_drain(user, three_versions, monkeypatch):
    # given five queued predictions, the first of them deleted, and batches of two
    _experiment_with_shadow()
    made = [
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
        for _ in range(5)
    ]
    Prediction.objects.filter(pk=made[0].pk).delete()
    monkeypatch.setattr(services, "EXPOSURE_BATCH", 2)

    # when one message drains the queue, then it records the four that exist and empties it
    assert services.prediction_exposures_drain() == 4
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.get().exposures == 4


@pytest.mark.django_db
def test_with_the_broker_down_predictions_answer_and_the_sweep_catches_up(
    api_client, user, three_versions, settings
):
    # given a running experiment, and a broker that refuses connections
    experiment = _experiment_with_shadow()
    settings.EXPOSURE_BROKER_BACKOFF_SECONDS = 60
    from portal.celery import app
    from tests.predictions.conftest import _drop_broker_connections

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    _drop_broker_connections(app)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.task_always_eager = False
    try:
        # when
        started = time.monotonic()
        statuses = [
            api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json").status_code
            for _ in range(5)
        ]
        elapsed = time.monotonic() - started
    finally:
        _drop_broker_connections(app)
        app.conf.broker_url, app.conf.task_always_eager = saved
        services._sender.open_until = services._sender.next_send = 0.0

    # then every prediction was answered and stored, quickly (the breaker stops retries)
    assert statuses == [201] * 5
    assert elapsed < 5
    assert PendingExposure.objects.count() == 5
    assert Assignment.objects.count() == 0
    # and once the broker is back the reconciliation sweep records them all
    recorded = services.prediction_exposures_reconcile(older_than_seconds=0, limit=100)
    assert recorded == 5
    assignment = Assignment.objects.get(experiment=experiment)
    assert (assignment.unit, assignment.exposures) == (f"user:{user.pk}", 5)
    assert ShadowPrediction.objects.count() == 5


def test_one_message_records_a_burst_larger_than_one_batch(user, three_versions, monkeypatch):
    # given a running experiment and more pending exposures than one batch holds
    _experiment_with_shadow()
    monkeypatch.setattr(services, "EXPOSURE_BATCH", 2)
    for _ in range(5):
        services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    assert PendingExposure.objects.count() == 5

    # when the worker runs one message
    from predictions.tasks import prediction_exposures_record_task

    recorded = prediction_exposures_record_task()

    # then all of them are recorded (three batches), each once, with its shadow answer
    assert recorded == 5
    assert not PendingExposure.objects.exists()
    assert Assignment.objects.get().exposures == 5
    assert ShadowPrediction.objects.count() == 5


def _scraped_value(scraped: str, name: str) -> float:
    [line] = [line for line in scraped.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


@pytest.mark.django_db
def test_the_exposure_backlog_is_exported_for_the_alert(user, three_versions, staff_client):
    # given two exposures no worker has recorded, the oldest for two minutes
    import datetime

    from django.utils import timezone

    _experiment_with_shadow()
    first = services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    services.prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    PendingExposure.objects.filter(prediction_id=first.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=2)
    )

    # when Prometheus scrapes, before and after the worker catches up
    before = staff_client.get("/metrics").content.decode()
    services.prediction_exposures_drain()
    after = staff_client.get("/metrics").content.decode()

    # then the backlog and its age are there, and both fall to zero
    assert _scraped_value(before, "mlpaygrade_experiment_exposures_pending") == 2
    age = _scraped_value(before, "mlpaygrade_experiment_exposures_oldest_pending_seconds")
    assert 120 <= age < 180
    assert _scraped_value(after, "mlpaygrade_experiment_exposures_pending") == 0
    assert _scraped_value(after, "mlpaygrade_experiment_exposures_oldest_pending_seconds") == 0
