"""The feedback rule on its own: text from the HTML box versus typed JSON values."""

import pytest

from feedback.rules import FeedbackFields, feedback_fields
from portal.exceptions import InvalidInput


def test_the_box_sends_text_an_empty_salary_is_none_and_digits_are_a_number():
    assert feedback_fields(
        rating="too_low", actual_salary_usd="", comment="", strict_types=False
    ) == FeedbackFields(rating="too_low", actual_salary_usd=None, comment="")
    assert (
        feedback_fields(
            rating="too_low", actual_salary_usd="90000", comment="", strict_types=False
        ).actual_salary_usd
        == 90_000
    )


def test_json_wants_an_integer_salary_and_keeps_the_comment_as_typed():
    fields = feedback_fields(rating="about_right", actual_salary_usd=None, comment="  ok  ")
    assert fields == FeedbackFields(rating="about_right", actual_salary_usd=None, comment="  ok  ")
    with pytest.raises(InvalidInput) as caught:
        feedback_fields(rating="about_right", actual_salary_usd="", comment="")
    assert list(caught.value.errors) == ["actual_salary_usd"]


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidInput) as caught:
        feedback_fields(rating=None, actual_salary_usd=True, comment=b"bytes")
    assert set(caught.value.errors) == {"rating", "actual_salary_usd", "comment"}
    assert caught.value.errors["rating"] == ["This field is required."]
