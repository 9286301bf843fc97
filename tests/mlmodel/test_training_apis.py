"""The staff API for training runs: POST → 202 with the run, GET → its state; who may use it."""

import pytest
from rest_framework.test import APIClient

from mlmodel.models import SalaryRecord, SalarySource, TrainingRun, TrainingTrigger
from mlmodel.training_services import salary_demo_data_create
from portal.accounts.services import api_token_create
from portal.jobs.models import JobStatus

RUNS_URL = "/api/v1/training-runs/"
RUN_ROWS = 600


@pytest.fixture
def staff_api_client(django_user_model, password):
    staff = django_user_model.objects.create_user(
        username="staffer", password=password, is_staff=True
    )
    _token, key = api_token_create(user=staff, name="ops")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.user = staff
    return client


@pytest.mark.django_db
def test_staff_start_a_run_with_202_and_follow_it(staff_api_client):
    # when staff start a run (its task is sent at commit: here it stays pending)
    answer = staff_api_client.post(RUNS_URL, {"seed": 3}, format="json")

    # then 202 with the run and where to follow it
    assert answer.status_code == 202, answer.content
    body = answer.json()
    run = TrainingRun.objects.get()
    assert body["id"] == run.pk and body["status"] == JobStatus.PENDING
    assert body["trigger"] == TrainingTrigger.API
    assert body["requested_by"] == "staffer"
    assert run.seed == 3 and run.requested_by == staff_api_client.user
    assert body["url"].endswith(f"{RUNS_URL}{run.pk}/")
    followed = staff_api_client.get(f"{RUNS_URL}{run.pk}/")
    assert followed.status_code == 200
    assert followed.json()["id"] == run.pk and followed.json()["model_version"] is None


@pytest.mark.django_db
def test_a_second_run_is_refused_with_409_naming_the_first(staff_api_client):
    # given a run already pending
    first = staff_api_client.post(RUNS_URL, {}, format="json").json()

    # when another is requested
    answer = staff_api_client.post(RUNS_URL, {}, format="json")

    # then 409, naming the first
    assert answer.status_code == 409
    assert f"Training run #{first['id']} is already pending" in answer.json()["errors"]["detail"][0]
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("seed", ["x", -1, 2**31, 1.5, True])
def test_a_bad_seed_is_a_400_with_the_field(staff_api_client, seed):
    # when / then
    answer = staff_api_client.post(RUNS_URL, {"seed": seed}, format="json")
    assert answer.status_code == 400
    assert "seed" in answer.json()["errors"]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_non_staff_get_403_and_anonymous_401(api_client):
    # given a run
    run = TrainingRun.objects.create(trigger=TrainingTrigger.COMMAND)

    # when / then: a signed-in user who is not staff
    assert api_client.post(RUNS_URL, {}, format="json").status_code == 403
    assert api_client.get(f"{RUNS_URL}{run.pk}/").status_code == 403
    # and nobody signed in
    anonymous = APIClient()
    assert anonymous.post(RUNS_URL, {}, format="json").status_code == 401
    assert anonymous.get(f"{RUNS_URL}{run.pk}/").status_code == 401
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_an_unknown_run_is_a_404(staff_api_client):
    answer = staff_api_client.get(f"{RUNS_URL}999999/")
    assert answer.status_code == 404
    assert "does not exist" in answer.json()["errors"]["detail"][0]


@pytest.mark.django_db
def test_a_finished_run_shows_its_candidate_gate_and_comparison(
    staff_api_client,
    active_model_version,
    fast_training,
    settings,
    django_capture_on_commit_callbacks,
):
    # given rows to train on, and a run that runs as it commits (eager)
    settings.TRAINING_MIN_ROWS = RUN_ROWS // 2
    salary_demo_data_create(rows=RUN_ROWS, seed=4)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)
    with django_capture_on_commit_callbacks(execute=True):
        started = staff_api_client.post(RUNS_URL, {}, format="json")

    # when it is followed
    body = staff_api_client.get(started.json()["url"]).json()

    # then it shows the candidate, its gate and the comparison with the champion
    assert body["status"] == JobStatus.SUCCEEDED, body["message"]
    assert body["progress_percent"] == 100
    assert body["model_version"] == TrainingRun.objects.get().model_version.version
    assert body["comparison"]["active_version"] == active_model_version.version
    assert set(body["gate"]) >= {"passed", "reasons"}
    assert body["gate_passed"] == body["gate"]["passed"]
    assert set(body["stage_seconds"]) >= {"loading data", "saving"}


@pytest.mark.django_db
def test_the_endpoints_are_in_the_openapi_schema(staff_api_client):
    schema = staff_api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "202" in schema["paths"][RUNS_URL]["post"]["responses"]
    assert "409" in schema["paths"][RUNS_URL]["post"]["responses"]
    assert "get" in schema["paths"][RUNS_URL + "{run_id}/"]
