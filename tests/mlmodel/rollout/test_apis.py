"""The staff rollout API: experiments, assignment lookup, promotion, rollback, versions, log."""

import pytest
from rest_framework.test import APIClient

from mlmodel.models import Assignment, ExperimentStatus, ModelEvent, ModelStatus, ModelVersion
from mlmodel.rollout.metrics import arm_daily_stats_refresh
from portal.accounts.services import api_token_create
from predictions.models import Channel
from predictions.services import prediction_create
from tests.predictions.conftest import PROFILE

pytestmark = pytest.mark.django_db
EXPERIMENTS = "/api/v1/experiments/"
STAFF_ENDPOINTS = [
    ("get", "/api/v1/experiments/"),
    ("post", "/api/v1/experiments/"),
    ("get", "/api/v1/experiments/1/"),
    ("patch", "/api/v1/experiments/1/"),
    ("post", "/api/v1/experiments/1/start/"),
    ("post", "/api/v1/experiments/1/stop/"),
    ("post", "/api/v1/experiments/1/promote/"),
    ("post", "/api/v1/experiments/1/rerandomize/"),
    ("get", "/api/v1/experiments/1/assignment/?unit=user:1"),
    ("post", "/api/v1/models/rollback/"),
    ("get", "/api/v1/models/"),
    ("get", "/api/v1/models/active/"),
    ("get", "/api/v1/models/events/"),
]


@pytest.fixture
def versions(register_version):
    return [register_version(activate=True), register_version(), register_version()]


@pytest.fixture
def staff_token_client(staff_user):
    _token, key = api_token_create(user=staff_user, name="deploy pipeline")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize(("method", "url"), STAFF_ENDPOINTS)
def test_non_staff_get_403_and_anonymous_401(method, url, api_client, versions):
    # when
    signed_in = getattr(api_client, method)(url, {}, format="json")
    anonymous = getattr(APIClient(), method)(url, {}, format="json")

    # then
    assert signed_in.status_code == 403
    assert anonymous.status_code == 401


def test_the_deploy_pipeline_journey(staff_token_client, staff_user, versions, user):
    client = staff_token_client

    # create: a draft with the champion added
    created = client.post(
        EXPERIMENTS,
        {
            "name": "v2 vs v1",
            "arms": [
                {"model_version": 2, "weight": 50},
                {"model_version": 3, "weight": 0, "role": "shadow"},
            ],
            "reason": "nightly candidate",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    experiment_id = body["id"]
    assert body["status"] == "draft"
    assert [(a["model_version"], a["role"], a["weight"]) for a in body["arms"]] == [
        (1, "champion", 50),
        (2, "challenger", 50),
        (3, "shadow", 0),
    ]

    # start, then predictions by a user
    started = client.post(f"{EXPERIMENTS}{experiment_id}/start/", {}, format="json")
    assert started.status_code == 200 and started.json()["status"] == "running"
    for _ in range(3):
        prediction_create(user=user, profile=PROFILE, channel=Channel.API)

    # the lookup says which version the user gets, and records nothing
    lookup = client.get(f"{EXPERIMENTS}{experiment_id}/assignment/", {"unit": f"user:{user.pk}"})
    assert lookup.status_code == 200
    assert lookup.json()["model_version"] in (1, 2)
    assert Assignment.objects.filter(unit=f"user:{user.pk}").count() == 0  # non-transactional
    bad_unit = client.get(f"{EXPERIMENTS}{experiment_id}/assignment/", {"unit": "token:3"})
    assert bad_unit.status_code == 400 and "unit" in bad_unit.json()["errors"]

    # the detail carries live metrics per arm and the SRM result
    arm_daily_stats_refresh()
    detail = client.get(f"{EXPERIMENTS}{experiment_id}/").json()
    arm = detail["arms"][0]
    for key in (
        "model_version",
        "weight",
        "role",
        "units",
        "predictions",
        "feedback",
        "mae",
        "coverage",
        "latency_p50_ms",
        "drift",
    ):
        assert key in arm
    assert sum(a["predictions"] for a in detail["arms"]) == 3
    assert detail["srm"]["flagged"] is False

    # reweight with PATCH
    patched = client.patch(
        f"{EXPERIMENTS}{experiment_id}/",
        {"arms": [{"model_version": 2, "weight": 60}], "reason": "ramp"},
        format="json",
    )
    assert patched.status_code == 200
    assert [a["weight"] for a in patched.json()["arms"]][:2] == [40, 60]

    # promote, then roll back
    promoted = client.post(
        f"{EXPERIMENTS}{experiment_id}/promote/",
        {"model_version": 2, "reason": "wins"},
        format="json",
    )
    assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE
    rolled = client.post(
        "/api/v1/models/rollback/", {"reason": "feedback got worse"}, format="json"
    )
    assert rolled.status_code == 200 and rolled.json()["version"] == 1

    # the models list and the audit log tell the story, with who and why
    models = client.get("/api/v1/models/").json()
    assert [m["version"] for m in models["results"]] == [3, 2, 1]
    assert models["results"][2]["status"] == "active"
    events = client.get("/api/v1/models/events/", {"page_size": 100}).json()
    actions = [e["action"] for e in events["results"]]
    for action in (
        "experiment_created",
        "experiment_started",
        "experiment_reweighted",
        "promoted",
        "rolled_back",
    ):
        assert action in actions
    assert events["count"] == ModelEvent.objects.count()
    rollback = next(e for e in events["results"] if e["action"] == "rolled_back")
    assert (rollback["actor"], rollback["reason"]) == (staff_user.username, "feedback got worse")


def test_bad_experiment_input_is_a_400_with_field_errors(staff_client, versions):
    # when
    missing = staff_client.post(EXPERIMENTS, {}, format="json")
    bad_weight = staff_client.post(
        EXPERIMENTS, {"name": "x", "arms": [{"model_version": 2, "weight": 101}]}, format="json"
    )
    too_much = staff_client.post(
        EXPERIMENTS,
        {
            "name": "x",
            "arms": [{"model_version": 2, "weight": 60}, {"model_version": 1, "weight": 60}],
        },
        format="json",
    )
    unknown = staff_client.post(
        EXPERIMENTS, {"name": "x", "arms": [{"model_version": 77, "weight": 10}]}, format="json"
    )

    # then
    assert missing.status_code == 400 and set(missing.json()["errors"]) == {"name", "arms"}
    assert bad_weight.status_code == 400 and "arms" in bad_weight.json()["errors"]
    assert too_much.status_code == 400 and "add up to 120" in str(too_much.json())
    assert unknown.status_code == 400 and "77 does not exist" in str(unknown.json())


def test_a_second_running_experiment_is_a_409(staff_client, versions):
    first = staff_client.post(
        EXPERIMENTS, {"name": "a", "arms": [{"model_version": 2, "weight": 10}]}, format="json"
    ).json()
    second = staff_client.post(
        EXPERIMENTS, {"name": "b", "arms": [{"model_version": 3, "weight": 10}]}, format="json"
    ).json()
    assert staff_client.post(f"{EXPERIMENTS}{first['id']}/start/").status_code == 200

    # when
    refused = staff_client.post(f"{EXPERIMENTS}{second['id']}/start/")

    # then
    assert refused.status_code == 409
    assert "is running; stop it first" in str(refused.json())
    stopped = staff_client.post(f"{EXPERIMENTS}{first['id']}/stop/", {"reason": "done"})
    assert stopped.json()["status"] == ExperimentStatus.STOPPED
    assert staff_client.get(f"{EXPERIMENTS}999/").status_code == 404


def test_rollback_needs_a_reason(staff_client, versions):
    response = staff_client.post("/api/v1/models/rollback/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
