"""Money formats and driver labels (pure)."""

import pytest

from predictions import display

INPUTS = {
    "job_title": "Data Scientist",
    "experience_level": "SE",
    "employment_type": "FT",
    "company_location": "US",
    "employee_residence": "DE",
    "remote_ratio": 100,
    "company_size": "L",
    "work_year": 2024,
}


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "$0"), (950, "$950"), (38_400, "$38K"), (1_250_000, "$1.2M"), (2_000_000, "$2M")],
)
def test_usd_short(amount, text):
    assert display.usd_short(amount) == text


def test_signed_amounts_show_their_direction():
    assert display.signed_usd_short(38_000) == "+$38K"
    assert display.signed_usd_short(-12_000) == "−$12K"
    assert display.usd(-1234.4) == "−$1,234"


def test_drivers_are_labelled_with_the_chosen_values_and_ranked_by_size():
    # given contributions in arbitrary order
    contributions = [
        {"feature": "company_size", "usd": 2_000},
        {"feature": "experience_level", "usd": 38_000},
        {"feature": "company_location", "usd": 52_000},
        {"feature": "employee_residence", "usd": -9_000},
        {"feature": "remote_ratio", "usd": -1_000},
    ]

    # when
    drivers = display.drivers(contributions, INPUTS)

    # then
    assert [d.label for d in drivers] == [
        "Company in United States",
        "Senior level",
        "Living in Germany",
        "Large company",
        "Fully remote",
    ]
    assert display.drivers_sentence(drivers, limit=3) == (
        "Company in United States\N{NO-BREAK SPACE}+$52K, Senior level\N{NO-BREAK SPACE}+$38K, "
        "Living in Germany\N{NO-BREAK SPACE}−$9K"
    )


def test_unknown_features_still_get_a_readable_label():
    assert display.feature_label("title_rank", INPUTS) == "Title rank"
    assert display.feature_label("experience_level", {"experience_level": "EN"}) == "Entry-level"


def test_inputs_that_made_no_difference_are_not_drivers():
    contributions = [{"feature": "company_size", "usd": 0}, {"feature": "work_year", "usd": 700}]
    assert [d.feature for d in display.drivers(contributions, INPUTS)] == ["work_year"]


def test_baseline_is_what_the_contributions_start_from():
    contributions = [
        {"feature": "experience_level", "usd": 30_000},
        {"feature": "x", "usd": -5_000},
    ]
    assert display.baseline_usd(125_000, contributions) == 100_000
