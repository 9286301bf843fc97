"""The feedback box (HTML) and the feedback API answer the same bad input in the same words,
every field at once: both run ``feedback.rules.feedback_fields``."""

import pytest
from django.urls import reverse

from feedback.models import Feedback

pytestmark = pytest.mark.django_db

# As a JSON client sends them (the form posts the same values as text), with the bad fields.
BAD_FEEDBACK = {
    "salary too small, rating unknown": (
        {"rating": "wonderful", "actual_salary_usd": -5},
        {"rating", "actual_salary_usd"},
    ),
    "salary too large, comment too long": (
        {"rating": "too_low", "actual_salary_usd": 5_000_001, "comment": "x" * 2001},
        {"actual_salary_usd", "comment"},
    ),
    "no rating, a NUL in the comment": ({"comment": "a\x00b"}, {"rating", "comment"}),
}


def _form_errors(auth_client, prediction, body: dict) -> dict[str, list[str]]:
    response = auth_client.post(
        reverse("feedback:submit", args=[prediction.pk]), {k: str(v) for k, v in body.items()}
    )
    assert response.status_code == 400
    return {
        name: list(messages) for name, messages in response.context["feedback_form"].errors.items()
    }


def _api_errors(api_client, prediction, body: dict) -> dict[str, list[str]]:
    response = api_client.post(
        f"/api/v1/predictions/{prediction.pk}/feedback/", body, format="json"
    )
    assert response.status_code == 400
    return response.json()["errors"]


@pytest.mark.parametrize(("body", "bad_fields"), BAD_FEEDBACK.values(), ids=BAD_FEEDBACK.keys())
def test_the_same_bad_feedback_gets_the_same_messages_in_the_box_and_the_api(
    auth_client, api_client, prediction, body, bad_fields
):
    # when
    html = _form_errors(auth_client, prediction, body)
    api = _api_errors(api_client, prediction, body)

    # then
    assert html == api
    assert set(api) == bad_fields
    assert Feedback.objects.count() == 0


def test_the_salary_range_is_the_data_sets(api_client, prediction):
    errors = _api_errors(api_client, prediction, {"rating": "too_low", "actual_salary_usd": 999})
    assert errors == {
        "actual_salary_usd": ["Salary in USD must be between $1,000 and $5,000,000 (got 999)."]
    }
