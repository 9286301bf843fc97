"""Feedback API: create (201) then update (200), field errors, isolation, rate limit."""

import pytest
from django.test import override_settings

from feedback.models import Feedback
from mlmodel.models import ReviewStatus, SalaryRecord

pytestmark = pytest.mark.django_db

FIFTY_KILOBYTES = 50 * 1024


def _url(prediction) -> str:
    return f"/api/v1/predictions/{prediction.pk}/feedback/"


def test_feedback_is_created_then_updated(api_client, prediction, settings):
    # given plausible salaries approved without review (off by default: issue 9)
    settings.FEEDBACK_AUTO_APPROVE = True

    # when
    created = api_client.post(
        _url(prediction),
        {"rating": "too_low", "actual_salary_usd": prediction.estimate_usd + 10_000},
        format="json",
    )
    updated = api_client.post(
        _url(prediction),
        {"rating": "about_right", "actual_salary_usd": prediction.estimate_usd, "comment": "hi"},
        format="json",
    )

    # then
    assert created.status_code == 201
    assert updated.status_code == 200
    assert created.json()["id"] == updated.json()["id"]
    assert updated.json()["rating"] == "about_right"
    assert updated.json()["comment"] == "hi"
    assert updated.json()["training_status"] == ReviewStatus.APPROVED
    assert Feedback.objects.count() == 1
    assert SalaryRecord.objects.get().salary_in_usd == prediction.estimate_usd
    fetched = api_client.get(_url(prediction))
    assert fetched.status_code == 200 and fetched.json()["prediction"] == prediction.pk


def test_an_outlier_is_accepted_and_reported_as_held(api_client, prediction):
    response = api_client.post(
        _url(prediction),
        {"rating": "too_low", "actual_salary_usd": prediction.estimate_usd * 7},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["training_status"] == ReviewStatus.PENDING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": "about_right", "actual_salary_usd": -5}, "actual_salary_usd"),
        ({"rating": "about_right", "actual_salary_usd": "lots"}, "actual_salary_usd"),
        ({"rating": "about_right", "actual_salary_usd": 12.5}, "actual_salary_usd"),
        ({"rating": "about_right", "comment": "x" * FIFTY_KILOBYTES}, "comment"),
        ({"rating": "wonderful"}, "rating"),
        ({}, "rating"),
    ],
)
def test_invalid_feedback_is_400_naming_the_field(api_client, prediction, body, field):
    response = api_client.post(_url(prediction), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Feedback.objects.count() == 0


def test_malformed_json_and_wrong_content_type(api_client, prediction):
    broken = api_client.generic("POST", _url(prediction), b'{"rating":', "application/json")
    wrong = api_client.generic("POST", _url(prediction), b"rating=too_low", "text/plain")
    assert broken.status_code == 400
    assert wrong.status_code == 415


def test_feedback_on_others_predictions_is_404(api_client, other_user, make_prediction):
    theirs = make_prediction(other_user)
    response = api_client.post(_url(theirs), {"rating": "too_low"}, format="json")
    assert response.status_code == 404
    assert api_client.get(_url(theirs)).status_code == 404
    assert Feedback.objects.count() == 0


def test_list_shows_only_ones_own(api_client, user, other_user, make_prediction):
    # given
    mine, theirs = make_prediction(user), make_prediction(other_user)
    api_client.post(_url(mine), {"rating": "too_high"}, format="json")
    Feedback.objects.create(prediction=theirs, user=other_user, rating="too_low")

    # when
    response = api_client.get("/api/v1/feedback/")

    # then
    assert response.status_code == 200
    assert [item["prediction"] for item in response.json()["results"]] == [mine.pk]


@override_settings(RATELIMIT_FEEDBACK="2/d")
def test_feedback_is_rate_limited(api_client, prediction):
    statuses = [
        api_client.post(_url(prediction), {"rating": "too_low"}, format="json") for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [201, 200, 429]
    assert statuses[-1]["Retry-After"].isdigit()


def test_nul_characters_in_a_comment_are_a_400(api_client, prediction):
    response = api_client.post(
        _url(prediction), {"rating": "too_low", "comment": "a\x00b"}, format="json"
    )
    assert response.status_code == 400
    assert "comment" in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"rating": "too_low", "comment": 0}, "comment", "Expected text, got int."),
        ({"rating": "too_low", "comment": None}, "comment", "Expected text, got null."),
        (
            {"rating": "too_low", "actual_salary_usd": 90000.0},
            "actual_salary_usd",
            "Expected a whole number, got 90000.0.",
        ),
        (
            {"rating": "too_low", "actual_salary_usd": "90000"},
            "actual_salary_usd",
            "Expected a whole number, got str.",
        ),
        ({"rating": ["too_low"]}, "rating", "Choose one of: too_low, about_right, too_high."),
    ],
)
def test_values_of_the_wrong_json_type_are_a_400_naming_the_field(
    api_client, prediction, body, field, message
):
    # when a value the schema's types forbid is sent
    response = api_client.post(_url(prediction), body, format="json")

    # then it is refused, not coerced
    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}
    assert Feedback.objects.count() == 0
