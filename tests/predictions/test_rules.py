"""The history date range and upload size rules, and the schema pattern that states the range."""

import datetime

import jsonschema_rs
import pytest
from django.test import override_settings

from portal.exceptions import InvalidInput, PayloadTooLarge
from predictions import rules

# How API clients (and schemathesis) read the pattern: an ECMA-262 regex in JSON Schema.
DATE_SCHEMA = jsonschema_rs.Draft4Validator(
    {"type": "string", "pattern": rules.HISTORY_DATE_PATTERN}
)
LIMIT = 1_000


def _accepted(text: str) -> bool:
    try:
        return rules.history_date(text) is not None
    except ValueError:
        return False


def test_the_schema_pattern_matches_exactly_the_days_the_rule_accepts():
    # given every real day from a year before the range to a year after it
    day = rules.EARLIEST_HISTORY_DATE - datetime.timedelta(days=366)
    end = rules.LATEST_HISTORY_DATE + datetime.timedelta(days=366)
    while day <= end:
        text = day.isoformat()

        # then the pattern and the rule agree on it
        assert DATE_SCHEMA.is_valid(text) is _accepted(text), text
        day += datetime.timedelta(days=1)


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29",
        "2100-02-29",
        "2024-02-30",
        "2024-04-31",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "2024-1-05",
        "20240105",
        "2024-01-05\n",
        " 2024-01-05",
        "２０２４-01-05",
        "2024-W01-1",
        "2024-01-05T00:00",
    ],
)
def test_no_impossible_or_odd_spelling_is_accepted_by_either(text):
    assert not _accepted(text)
    assert not DATE_SCHEMA.is_valid(text)


def test_leap_days_follow_the_calendar():
    assert _accepted("2000-02-29") and _accepted("2096-02-29") and _accepted("2024-02-29")
    assert DATE_SCHEMA.is_valid("2000-02-29") and DATE_SCHEMA.is_valid("2024-02-29")


def test_an_empty_bound_is_no_bound_and_a_reversed_range_is_allowed():
    assert rules.history_date_range(date_from="", date_to=None) == (None, None)
    assert rules.history_date_range(date_from="2025-05-02", date_to="2025-05-01") == (
        datetime.date(2025, 5, 2),
        datetime.date(2025, 5, 1),
    )


def test_both_bad_bounds_are_reported_at_once():
    with pytest.raises(InvalidInput) as caught:
        rules.history_date_range(date_from="0368-03-17", date_to="9999-12-31")
    assert set(caught.value.errors) == {"date_from", "date_to"}


@override_settings(BATCH_UPLOAD_MAX_BYTES=LIMIT)
def test_the_upload_limit_is_inclusive_and_beyond_it_the_file_is_too_large():
    rules.batch_upload_size_check(size=LIMIT)
    with pytest.raises(PayloadTooLarge) as caught:
        rules.batch_upload_size_check(size=LIMIT + 1)
    assert list(caught.value.errors) == ["file"]
