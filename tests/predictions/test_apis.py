"""The prediction API: happy paths, every kind of bad input, isolation, limits."""

import csv
import io

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from predictions.models import BatchJob, JobStatus, Prediction
from tests.predictions.conftest import GOOD_ROW, PROFILE_DATA, csv_bytes

pytestmark = pytest.mark.django_db

PREDICTIONS_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"
TWENTY_MEGABYTES = 20 * 1024 * 1024
PREDICTION_KEYS = {
    "id",
    "url",
    "created_at",
    "channel",
    "inputs",
    "job_family",
    "estimate_usd",
    "interval_low_usd",
    "interval_high_usd",
    "interval_level",
    "contributions",
    "model_version",
    "is_demo",
    "title_match",
    "title_treated_as",
    "title_weight",
}


def _errors(response) -> dict:
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


def test_post_one_profile_answers_201_with_the_stored_prediction(
    api_client, user, active_model_version
):
    # when
    response = api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json")

    # then
    assert response.status_code == 201
    body = response.json()
    assert set(body) == PREDICTION_KEYS
    stored = Prediction.objects.get()
    assert body["id"] == stored.pk
    assert stored.channel == "api"
    assert stored.api_token is not None and stored.api_token.user == user
    assert body["estimate_usd"] == stored.estimate_usd
    assert body["interval_low_usd"] <= body["estimate_usd"] <= body["interval_high_usd"]
    assert body["interval_level"] == pytest.approx(0.9)
    assert body["model_version"] == active_model_version.version
    assert body["is_demo"] is active_model_version.is_demo
    assert body["inputs"] == PROFILE_DATA
    assert body["job_family"] == "Data Science"
    assert {"feature", "label", "usd"} == set(body["contributions"][0])
    assert body["url"].endswith(f"/api/v1/predictions/{stored.pk}/")


def test_codes_and_country_names_are_normalised(api_client, active_model_version):
    # when
    response = api_client.post(
        PREDICTIONS_URL,
        {**PROFILE_DATA, "experience_level": "se", "company_location": "Germany"},
        format="json",
    )

    # then
    assert response.status_code == 201
    assert response.json()["inputs"]["experience_level"] == "SE"
    assert response.json()["inputs"]["company_location"] == "DE"


def test_every_answered_prediction_is_stored(api_client, active_model_version):
    # when a mix of good and bad requests is sent
    bodies = [PROFILE_DATA, {**PROFILE_DATA, "work_year": 1900}, PROFILE_DATA, {}, PROFILE_DATA]
    statuses = [api_client.post(PREDICTIONS_URL, b, format="json").status_code for b in bodies]

    # then one row per 201, none for the 400s
    assert statuses == [201, 400, 201, 400, 201]
    assert Prediction.objects.count() == statuses.count(201)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_location", "Atlantis"),
        ("employee_residence", "ZZ"),
        ("work_year", 1900),
        ("work_year", "next year"),
        ("remote_ratio", 33),
        ("experience_level", "guru"),
        ("company_size", ["M"]),
        ("job_title", ""),
        ("job_title", 12345),
    ],
)
def test_each_invalid_field_is_a_400_naming_the_field(
    api_client, active_model_version, field, value
):
    # when
    response = api_client.post(PREDICTIONS_URL, {**PROFILE_DATA, field: value}, format="json")

    # then
    assert response.status_code == 400
    errors = _errors(response)
    assert list(errors) == [field]
    assert errors[field] and all(isinstance(m, str) for m in errors[field])
    assert Prediction.objects.count() == 0


def test_missing_fields_are_all_named(api_client, active_model_version):
    response = api_client.post(PREDICTIONS_URL, {"job_title": "Data Scientist"}, format="json")
    assert response.status_code == 400
    assert set(_errors(response)) == set(PROFILE_DATA) - {"job_title"}


@pytest.mark.parametrize(
    ("body", "content_type", "status_code"),
    [
        (b'{"job_title": "Data Scien', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"job_title=Data+Scientist", "application/x-www-form-urlencoded", 415),
        (b"<profile/>", "application/xml", 415),
    ],
)
def test_malformed_bodies_and_wrong_content_types(
    api_client, active_model_version, body, content_type, status_code
):
    # when
    response = api_client.generic("POST", PREDICTIONS_URL, body, content_type=content_type)

    # then
    assert response.status_code == status_code
    assert _errors(response)


def test_unauthenticated_is_401_and_unknown_methods_405(api_client, active_model_version):
    anonymous = APIClient()
    assert anonymous.post(PREDICTIONS_URL, PROFILE_DATA, format="json").status_code == 401
    assert anonymous.get(PREDICTIONS_URL).status_code == 401
    response = api_client.delete(PREDICTIONS_URL)
    assert response.status_code == 405
    assert _errors(response)


def test_list_and_detail_show_only_ones_own(api_client, user, other_user, make_prediction):
    # given
    mine = [make_prediction(user) for _ in range(3)]
    theirs = make_prediction(other_user)

    # when
    listing = api_client.get(PREDICTIONS_URL, {"page_size": 2})
    detail = api_client.get(f"{PREDICTIONS_URL}{mine[0].pk}/")
    foreign = api_client.get(f"{PREDICTIONS_URL}{theirs.pk}/")

    # then
    assert listing.status_code == 200
    assert listing.json()["count"] == 3
    assert [p["id"] for p in listing.json()["results"]] == [mine[2].pk, mine[1].pk]
    assert listing.json()["next"]
    assert detail.status_code == 200 and detail.json()["id"] == mine[0].pk
    assert foreign.status_code == 404
    assert _errors(foreign)


def test_list_date_filter_is_validated(api_client, user, make_prediction):
    # given
    make_prediction(user)

    # when the end is before the start: an empty range, as the schema (no order between
    # parameters) promises
    response = api_client.get(PREDICTIONS_URL, {"date_from": "2025-05-02", "date_to": "2025-05-01"})

    # then
    assert response.status_code == 200
    assert response.json()["count"] == 0
    response = api_client.get(PREDICTIONS_URL, {"date_from": "yesterday"})
    assert response.status_code == 400
    assert list(_errors(response)) == ["date_from"]


@override_settings(RATELIMIT_PREDICT="3/d")
def test_predictions_are_rate_limited_with_retry_after(api_client, active_model_version):
    # when
    responses = [api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json") for _ in range(4)]

    # then
    assert [r.status_code for r in responses] == [201, 201, 201, 429]
    assert responses[-1]["Retry-After"].isdigit()
    assert "detail" in _errors(responses[-1])
    assert Prediction.objects.count() == 3


# --- Batch ------------------------------------------------------------------------------------


def test_batch_csv_body_answers_a_csv_with_line_numbered_errors(api_client, active_model_version):
    # given
    data = csv_bytes([GOOD_ROW, "Data Scientist,SE,FT,US,US,33,M,2024", GOOD_ROW])

    # when
    response = api_client.generic("POST", BATCH_URL, data, content_type="text/csv")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["line"] for row in rows] == ["2", "3", "4"]
    assert rows[0]["estimate_usd"].isdigit()
    assert rows[1]["error"].startswith("Line 3: remote_ratio:")
    assert BatchJob.objects.get().status == JobStatus.SUCCEEDED


def test_batch_multipart_with_json_answer(api_client, active_model_version):
    # given
    upload = io.BytesIO(csv_bytes([GOOD_ROW, "Data Scientist,SE,FT,XX,US,0,M,2024"]))
    upload.name = "profiles.csv"

    # when
    response = api_client.post(
        BATCH_URL, {"file": upload}, format="multipart", HTTP_ACCEPT="application/json"
    )

    # then
    assert response.status_code == 200
    body = response.json()
    assert [row["line"] for row in body["rows"]] == [2]
    assert body["rows"][0]["model_version"] == active_model_version.version
    assert body["errors"] == [{"line": 3, "errors": body["errors"][0]["errors"]}]
    assert "company_location" in body["errors"][0]["errors"]
    assert body["job"].endswith(f"/api/v1/predictions/batch/{BatchJob.objects.get().pk}/")


@pytest.mark.parametrize(
    ("kwargs", "status_code", "field"),
    [
        ({"data": b'{"rows": []}', "content_type": "application/json"}, 415, "detail"),
        ({"data": b"", "content_type": "text/csv"}, 400, "file"),
        ({"data": b"name,salary\nx,1\n", "content_type": "text/csv"}, 400, "file"),
        ({"data": "é".encode("latin-1") * 10, "content_type": "text/csv"}, 400, "file"),
    ],
)
def test_batch_bad_requests(api_client, active_model_version, kwargs, status_code, field):
    response = api_client.generic("POST", BATCH_URL, **kwargs)
    assert response.status_code == status_code
    assert field in _errors(response)
    assert BatchJob.objects.count() == 0


def test_batch_of_20_megabytes_is_413(api_client, active_model_version):
    # as a raw body
    body = api_client.generic("POST", BATCH_URL, b"x" * TWENTY_MEGABYTES, content_type="text/csv")
    assert body.status_code == 413
    assert "file" in _errors(body)

    # and as a multipart upload
    upload = io.BytesIO(b"x" * TWENTY_MEGABYTES)
    upload.name = "huge.csv"
    multipart = api_client.post(BATCH_URL, {"file": upload}, format="multipart")
    assert multipart.status_code == 413
    assert BatchJob.objects.count() == 0


@override_settings(BATCH_SYNC_MAX_ROWS=3)
def test_large_batch_is_202_with_a_job_to_poll(
    api_client, active_model_version, django_capture_on_commit_callbacks
):
    # when (eager Celery runs the job as the request's transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.generic(
            "POST", BATCH_URL, csv_bytes([GOOD_ROW] * 5), content_type="text/csv"
        )

    # then
    assert response.status_code == 202
    job_url = response.json()["url"]
    assert response["Location"] == job_url
    status = api_client.get(job_url)
    assert status.status_code == 200
    assert status.json()["status"] == "succeeded"
    assert status.json()["rows_done"] == 5
    assert status.json()["progress_percent"] == 100
    result = api_client.get(status.json()["result_url"])
    assert result.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(result.content.decode())))) == 5


def test_batch_jobs_of_others_are_404_and_unfinished_results_409(
    api_client, user, other_user, active_model_version
):
    theirs = BatchJob.objects.create(user=other_user, file_name="x.csv", input_csv=b"")
    mine = BatchJob.objects.create(user=user, file_name="y.csv", input_csv=b"")
    assert api_client.get(f"{BATCH_URL}{theirs.pk}/").status_code == 404
    assert api_client.get(f"{BATCH_URL}{theirs.pk}/result/").status_code == 404
    pending = api_client.get(f"{BATCH_URL}{mine.pk}/result/")
    assert pending.status_code == 409
    assert pending["Content-Type"] == "application/json"
    listing = api_client.get(BATCH_URL)
    assert [job["id"] for job in listing.json()["results"]] == [mine.pk]


@override_settings(RATELIMIT_BATCH="2/d")
def test_batch_is_rate_limited(api_client, active_model_version):
    statuses = [
        api_client.generic("POST", BATCH_URL, csv_bytes([GOOD_ROW]), content_type="text/csv")
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[-1]["Retry-After"].isdigit()
    assert statuses[-1]["Content-Type"] == "application/json"


def test_an_oversized_json_body_is_413(api_client, settings, active_model_version):
    # given a body over the request size limit (a padded job title)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {**PROFILE_DATA, "job_title": "x" * 20_000}

    # when
    response = api_client.post(PREDICTIONS_URL, body, format="json")

    # then
    assert response.status_code == 413
    assert "detail" in _errors(response)
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    ("title", "kind", "treated_as", "weight"),
    [
        ("Data Scientist", "exact", "Data Scientist", None),
        ("sr. data scientist", "normalised", "Data Scientist", None),
        ("Head of Marketing", "family_rule", "Data Leadership", 0.5),
        ("Banana Sommelier", "unknown", "any job title (overall average)", None),
    ],
)
def test_the_answer_says_how_the_title_was_read(
    api_client, active_model_version, title, kind, treated_as, weight
):
    # when
    response = api_client.post(PREDICTIONS_URL, {**PROFILE_DATA, "job_title": title}, format="json")

    # then the answer and the stored prediction say it, and the list repeats it
    body = response.json()
    assert (body["title_match"], body["title_treated_as"]) == (kind, treated_as)
    assert body["title_weight"] == weight
    assert Prediction.objects.get().title_match == kind
    listed = api_client.get(PREDICTIONS_URL).json()["results"][0]
    assert listed["title_match"] == kind


def test_the_schema_documents_title_match_as_an_enum(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    output = schema["components"]["schemas"]["PredictionOutput"]["properties"]
    assert "unknown" in output["title_match"]["description"]
    enum_ref = output["title_match"].get("$ref") or output["title_match"]["oneOf"][0]["$ref"]
    enum = schema["components"]["schemas"][enum_ref.rsplit("/", 1)[1]]["enum"]
    assert set(enum) >= {"exact", "normalised", "family_rule", "unknown"}
