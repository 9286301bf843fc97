"""One rule, three doors: the HTML form, the API and a batch CSV row answer the same bad input
with the same field messages, all of them at once.

Each case is sent through all three real doors (a signed-in form POST, a token-authenticated
API call, a batch file uploaded to the API) and the field → messages maps are compared.
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from mlmodel.core.profile import PROFILE_FIELDS, max_work_year
from predictions.models import Prediction
from tests.predictions.conftest import PROFILE_DATA

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("predictions:create")
HISTORY_URL = reverse("predictions:history")
BATCH_PAGE_URL = reverse("predictions:batch")
PREDICTIONS_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"
JSON = "application/json"
SMALL_UPLOAD_LIMIT = 1_000

# Bad inputs as a JSON client sends them; the form and the CSV file carry the same values as
# text (str(value)), as browsers and spreadsheets do.
BAD_PROFILES = {
    "unknown country and a year long past": {"company_location": "XX", "work_year": 1900},
    "three bad codes": {"experience_level": "ZZ", "employment_type": "XX", "company_size": "XL"},
    "title too long and remote ratio off the list": {"job_title": "x" * 101, "remote_ratio": 33},
    "unknown country name and a blank title": {
        "employee_residence": "Atlantis",
        "job_title": "   ",
    },
    "a year too far ahead and an empty code": {"work_year": 2999, "company_size": ""},
    "every field wrong": {
        "job_title": "",
        "experience_level": "guru",
        "employment_type": "sometimes",
        "company_location": "Narnia",
        "employee_residence": "QQ",
        "remote_ratio": 25,
        "company_size": "huge",
        "work_year": 1999,
    },
}


def _form_errors(response) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


def _html_errors(auth_client, profile: dict) -> dict[str, list[str]]:
    response = auth_client.post(CREATE_URL, {k: str(v) for k, v in profile.items()})
    assert response.status_code == 400
    return _form_errors(response)


def _api_errors(api_client, profile: dict) -> dict[str, list[str]]:
    response = api_client.post(PREDICTIONS_URL, profile, format="json")
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def _csv_row_errors(api_client, profile: dict) -> dict[str, list[str]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PROFILE_FIELDS)
    writer.writerow([str(profile[name]) for name in PROFILE_FIELDS])
    response = api_client.post(
        BATCH_URL,
        data=buffer.getvalue().encode(),
        content_type="text/csv",
        HTTP_ACCEPT=JSON,
    )
    assert response.status_code == 200, response.content
    (row,) = response.json()["errors"]
    return row["errors"]


@pytest.mark.parametrize("overrides", BAD_PROFILES.values(), ids=BAD_PROFILES.keys())
def test_the_same_bad_profile_gets_the_same_messages_everywhere(
    auth_client, api_client, active_model_version, overrides
):
    # given
    profile = {**PROFILE_DATA, **overrides}

    # when it is sent through each door
    html = _html_errors(auth_client, profile)
    api = _api_errors(api_client, profile)
    batch_row = _csv_row_errors(api_client, profile)

    # then every bad field is named, at once, in the same words
    assert set(api) == set(overrides)
    assert html == api == batch_row
    assert all(messages and all(isinstance(m, str) for m in messages) for messages in api.values())
    assert Prediction.objects.count() == 0


def test_the_messages_are_the_rules_own(api_client, active_model_version):
    # when
    errors = _api_errors(api_client, {**PROFILE_DATA, "company_location": "XX", "work_year": 1900})

    # then
    assert errors == {
        "company_location": ["'XX' is not a known ISO 3166-1 country code."],
        "work_year": [f"Work year must be between 2020 and {max_work_year()} (got 1900)."],
    }


def test_json_type_errors_come_with_the_other_field_errors(api_client, active_model_version):
    # given JSON values of the wrong type next to a bad choice
    body = {**PROFILE_DATA, "remote_ratio": "50", "work_year": 2024.0, "job_title": 7}
    body["experience_level"] = "ZZ"

    # when
    errors = _api_errors(api_client, body)

    # then the schema's types hold (no "50" or 2024.0 for an integer) and nothing is held back
    (choice_message,) = errors.pop("experience_level")
    assert choice_message.startswith("'ZZ' is not a valid experience level.")
    assert errors == {
        "remote_ratio": ["Expected a whole number, got str."],
        "work_year": ["Expected a whole number, got 2024.0."],
        "job_title": ["Expected text, got int."],
    }


def test_a_valid_profile_in_any_letter_case_is_accepted_by_every_door(
    auth_client, api_client, active_model_version
):
    # given codes in lower case and a country by name, which the rule normalises
    profile = {**PROFILE_DATA, "experience_level": "se", "company_location": "germany"}

    # when / then
    assert auth_client.post(CREATE_URL, profile).status_code == 302
    assert api_client.post(PREDICTIONS_URL, profile, format="json").status_code == 201
    assert Prediction.objects.filter(inputs__company_location="DE").count() == 2


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_to": "9999-12-31"}, "date_to", "Choose a date between 2000-01-01 and 2099-12-31."),
        ({"date_to": "2999-01-01"}, "date_to", "Choose a date between 2000-01-01 and 2099-12-31."),
        (
            {"date_from": "0368-03-17"},
            "date_from",
            "Choose a date between 2000-01-01 and 2099-12-31.",
        ),
        ({"date_from": "2024-02-30"}, "date_from", "Enter a real date as YYYY-MM-DD."),
        ({"date_from": "2024-1-5"}, "date_from", "Enter a real date as YYYY-MM-DD."),
    ],
)
def test_a_bad_history_date_is_a_400_with_the_same_message_in_api_and_html(
    api_client, auth_client, active_model_version, query, field, message
):
    # when
    api = api_client.get(PREDICTIONS_URL, query)
    html = auth_client.get(HISTORY_URL, query)
    export = auth_client.get(HISTORY_URL, {**query, "format": "csv"})

    # then
    assert api.status_code == html.status_code == export.status_code == 400
    assert api.json() == {"errors": {field: [message]}}
    assert dict(html.context["filter_form"].errors) == {field: [message]}
    assert message in export.content.decode()


def test_both_bounds_of_the_history_range_are_accepted(api_client, user, make_prediction):
    # given
    make_prediction(user)

    # when
    response = api_client.get(PREDICTIONS_URL, {"date_from": "2000-01-01", "date_to": "2099-12-31"})

    # then
    assert response.status_code == 200
    assert response.json()["count"] == 1


@override_settings(BATCH_UPLOAD_MAX_BYTES=SMALL_UPLOAD_LIMIT)
def test_a_file_over_the_limit_is_a_413_with_the_same_message_at_every_door(
    auth_client, api_client, active_model_version
):
    # given a file one byte over the limit
    data = b"x" * (SMALL_UPLOAD_LIMIT + 1)

    # when it is uploaded as a page form, a multipart API upload and a text/csv body
    page = auth_client.post(BATCH_PAGE_URL, {"file": SimpleUploadedFile("big.csv", data)})
    multipart = api_client.post(
        BATCH_URL, {"file": SimpleUploadedFile("big.csv", data)}, HTTP_ACCEPT=JSON
    )
    body = api_client.post(BATCH_URL, data=data, content_type="text/csv", HTTP_ACCEPT=JSON)

    # then
    assert page.status_code == multipart.status_code == body.status_code == 413
    (message,) = _form_errors(page)["file"]
    assert message.startswith("The file is larger than")
    assert multipart.json() == body.json() == {"errors": {"file": [message]}}
