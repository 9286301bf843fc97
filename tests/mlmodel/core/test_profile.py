"""SalaryProfile parsing: the single validation gate for every input path."""

import datetime
import sys

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmodel.core.profile import (
    COMPANY_SIZES,
    COUNTRIES,
    COUNTRY_NAMES,
    EMPLOYMENT_TYPES,
    EXAMPLE_PROFILE,
    EXPERIENCE_LEVELS,
    MAX_COUNTRY_TEXT_LENGTH,
    MAX_JOB_TITLE_LENGTH,
    MAX_SALARY_USD,
    MIN_SALARY_USD,
    MIN_WORK_YEAR,
    NON_BLANK_TEXT_PATTERN,
    NUL_MESSAGE,
    PROFILE_FIELDS,
    REMOTE_RATIOS,
    REQUIRED_MESSAGE,
    WHITESPACE,
    ProfileError,
    SalaryProfile,
    SalaryRow,
    code_spelling_pattern,
    max_work_year,
    parse_profile,
    parse_salary_row,
    salary_usd_error,
)

VALID_RAW = EXAMPLE_PROFILE.as_dict()
VALID_ROW = {**VALID_RAW, "salary": 150000, "salary_currency": "USD", "salary_in_usd": 150000}


def errors_of(raw) -> dict[str, list[str]]:
    with pytest.raises(ProfileError) as info:
        parse_profile(raw)
    return info.value.errors


def test_constants_shape():
    assert list(EXPERIENCE_LEVELS) == ["EN", "MI", "SE", "EX"]
    assert set(EMPLOYMENT_TYPES) == {"FT", "PT", "CT", "FL"}
    assert set(COMPANY_SIZES) == {"S", "M", "L"}
    assert set(REMOTE_RATIOS) == {0, 50, 100}
    assert tuple(SalaryProfile.__dataclass_fields__) == PROFILE_FIELDS
    assert len(PROFILE_FIELDS) == 8
    assert MIN_SALARY_USD < MAX_SALARY_USD
    assert max_work_year() == datetime.date.today().year + 1
    assert MIN_WORK_YEAR == 2020


def test_countries_are_iso_codes_sorted_by_name():
    assert COUNTRIES["US"] == "United States"
    assert COUNTRIES["TW"] == "Taiwan"
    assert COUNTRIES["XK"] == "Kosovo"
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)
    names = list(COUNTRIES.values())
    assert names == sorted(names, key=str.casefold)
    assert len(COUNTRIES) >= 240


@pytest.mark.parametrize("spelling", ["XK", "xk", " Xk ", "Kosovo", "kosovo"])
def test_kosovo_is_accepted_as_a_country_everywhere(spelling):
    # given
    raw = {**EXAMPLE_PROFILE.as_dict(), "company_location": spelling}
    row = {
        **raw,
        "employee_residence": spelling,
        "salary": 30000,
        "salary_currency": "EUR",
        "salary_in_usd": 32000,
    }
    # when
    profile = parse_profile(raw)
    salary_row = parse_salary_row(row)
    # then
    assert profile.company_location == "XK"
    assert salary_row.profile.employee_residence == "XK"


def test_valid_profile_round_trips():
    profile = parse_profile(VALID_RAW)
    assert profile.as_dict() == VALID_RAW
    assert parse_profile(profile.as_dict()) == profile


def test_normalises_case_whitespace_and_strings():
    profile = parse_profile(
        {
            **VALID_RAW,
            "job_title": "  Machine   Learning\tEngineer ",
            "experience_level": " se ",
            "employment_type": "ft",
            "company_location": " us ",
            "employee_residence": "germany",
            "remote_ratio": "50",
            "company_size": "l",
            "work_year": "2023",
        }
    )
    assert profile == SalaryProfile(
        job_title="Machine Learning Engineer",
        experience_level="SE",
        employment_type="FT",
        company_location="US",
        employee_residence="DE",
        remote_ratio=50,
        company_size="L",
        work_year=2023,
    )


@pytest.mark.parametrize(
    ("name", "code"),
    [("United States", "US"), ("united kingdom", "GB"), ("Taiwan", "TW"), ("Bolivia", "BO")],
)
def test_country_accepts_exact_names(name, code):
    assert parse_profile({**VALID_RAW, "company_location": name}).company_location == code


def test_unknown_country_code_message():
    errors = errors_of({**VALID_RAW, "company_location": "XX"})
    assert errors == {"company_location": ["'XX' is not a known ISO 3166-1 country code."]}


def test_collects_all_errors_at_once():
    errors = errors_of(
        {
            "job_title": "",
            "experience_level": "ZZ",
            "employment_type": 3,
            "company_location": "Atlantis",
            "remote_ratio": 30,
            "company_size": ["M"],
            "work_year": 1999,
        }
    )
    assert set(errors) == set(PROFILE_FIELDS)
    assert errors["job_title"] == [REQUIRED_MESSAGE]
    assert errors["employee_residence"] == [REQUIRED_MESSAGE]
    assert "ZZ" in errors["experience_level"][0]
    assert "Expected text" in errors["employment_type"][0]
    assert "30" in errors["remote_ratio"][0]
    assert "list" in errors["company_size"][0]
    assert str(MIN_WORK_YEAR) in errors["work_year"][0]


@pytest.mark.parametrize(
    "bad",
    [None, [], {}, ["2024"], object(), 2024.5, True, float("nan")],
)
def test_wrong_types_only_raise_profile_error(bad):
    for field in PROFILE_FIELDS:
        errors = errors_of({**VALID_RAW, field: bad})
        assert list(errors) == [field]
        assert errors[field] and all(isinstance(msg, str) for msg in errors[field])


def test_non_mapping_input_raises_profile_error():
    with pytest.raises(ProfileError):
        parse_profile(["not", "a", "mapping"])


def test_job_title_length_limit_and_free_titles():
    title = "x" * MAX_JOB_TITLE_LENGTH
    assert parse_profile({**VALID_RAW, "job_title": title}).job_title == title
    assert "at most" in errors_of({**VALID_RAW, "job_title": title + "y"})["job_title"][0]
    assert parse_profile({**VALID_RAW, "job_title": "Chief Llama Whisperer"}).job_title


def test_work_year_bounds():
    assert parse_profile({**VALID_RAW, "work_year": max_work_year()}).work_year == max_work_year()
    assert "work_year" in errors_of({**VALID_RAW, "work_year": max_work_year() + 1})
    assert "work_year" in errors_of({**VALID_RAW, "work_year": MIN_WORK_YEAR - 1})


def test_numeric_remote_ratio_forms():
    assert parse_profile({**VALID_RAW, "remote_ratio": "100"}).remote_ratio == 100
    assert parse_profile({**VALID_RAW, "remote_ratio": 50.0}).remote_ratio == 50
    assert "remote_ratio" in errors_of({**VALID_RAW, "remote_ratio": "hybrid"})
    assert "work_year" in errors_of({**VALID_RAW, "work_year": "20x4"})


def test_profile_is_frozen():
    profile = parse_profile(VALID_RAW)
    with pytest.raises(AttributeError):
        profile.work_year = 2020


def test_parse_salary_row_valid():
    row = parse_salary_row({**VALID_ROW, "salary_currency": "eur", "salary": "140000"})
    assert row == SalaryRow(
        profile=parse_profile(VALID_RAW), salary=140000, salary_currency="EUR", salary_in_usd=150000
    )
    assert list(row.as_dict())[:3] == ["work_year", "experience_level", "employment_type"]


def test_parse_salary_row_collects_errors():
    with pytest.raises(ProfileError) as info:
        parse_salary_row(
            {
                **VALID_ROW,
                "salary": -5,
                "salary_currency": "XYZ",
                "salary_in_usd": MAX_SALARY_USD + 1,
                "remote_ratio": 10,
            }
        )
    assert set(info.value.errors) == {"salary", "salary_currency", "salary_in_usd", "remote_ratio"}
    assert "ISO 4217" in info.value.errors["salary_currency"][0]


def test_parse_salary_row_rejects_too_small_usd():
    with pytest.raises(ProfileError) as info:
        parse_salary_row({**VALID_ROW, "salary_in_usd": MIN_SALARY_USD - 1})
    assert list(info.value.errors) == ["salary_in_usd"]


# --- JSON types, lengths as sent, and the patterns the API schema states -------------------

SCHEMA_EXAMPLES = 300


def _accepts(field: str, value) -> bool:
    try:
        parse_profile({**VALID_RAW, field: value})
    except ProfileError:
        return False
    return True


def _pattern(pattern: str) -> jsonschema_rs.Draft4Validator:
    """As a client reads a schema's pattern (ECMA-262), not as Python's re would."""
    return jsonschema_rs.Draft4Validator({"type": "string", "pattern": pattern})


@pytest.mark.parametrize(("field", "value"), [("remote_ratio", "50"), ("work_year", 2024.0)])
def test_strict_types_want_json_integers_for_whole_numbers(field, value):
    assert _accepts(field, value)
    with pytest.raises(ProfileError) as info:
        parse_profile({**VALID_RAW, field: value}, strict_types=True)
    assert list(info.value.errors) == [field]
    assert info.value.errors[field][0].startswith("Expected a whole number, got ")


def test_lengths_count_what_was_sent_spaces_included():
    title = " " + "x" * MAX_JOB_TITLE_LENGTH
    assert errors_of({**VALID_RAW, "job_title": title})["job_title"] == [
        f"Job title must be at most {MAX_JOB_TITLE_LENGTH} characters (got 101)."
    ]
    padded = "germany".ljust(MAX_COUNTRY_TEXT_LENGTH + 1)
    assert "at most" in errors_of({**VALID_RAW, "company_location": padded})["company_location"][0]


@pytest.mark.parametrize("field", ["job_title", "company_location", "experience_level"])
def test_nul_characters_are_refused_in_text(field):
    assert errors_of({**VALID_RAW, field: "S\x00E"}) == {field: [NUL_MESSAGE]}


@pytest.mark.parametrize(
    ("field", "value"), [("experience_level", "ſe"), ("company_location", "ﬁ")]
)
def test_only_ascii_letters_spell_a_code(field, value):
    # "ſe".upper() == "SE" and "ﬁ".upper() == "FI" (Finland) in Python, but neither is a code
    assert not _accepts(field, value)


def test_whitespace_is_exactly_what_python_strips():
    assert {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} == set(WHITESPACE)


SPACE_OR_JUNK = st.sampled_from([*WHITESPACE[:6], "\u3000", "\x1c", "\ufeff", "-", "0", ""])
CODE_LIKE = st.builds(
    lambda before, letters, after: before + letters + after,
    SPACE_OR_JUNK,
    st.text(st.sampled_from("sSeEmMiInNxXtTfFpPcClLuUdD\u017f\u0131"), min_size=1, max_size=3),
    SPACE_OR_JUNK,
)


@settings(max_examples=SCHEMA_EXAMPLES, derandomize=True, database=None)
@given(value=CODE_LIKE)
def test_code_patterns_match_exactly_what_the_rule_accepts(value):
    for field, codes in (
        ("experience_level", EXPERIENCE_LEVELS),
        ("employment_type", EMPLOYMENT_TYPES),
        ("company_size", COMPANY_SIZES),
        ("company_location", COUNTRIES),  # no country name is this short
    ):
        assert _pattern(code_spelling_pattern(codes)).is_valid(value) is _accepts(field, value)


@settings(max_examples=SCHEMA_EXAMPLES, derandomize=True, database=None)
@given(value=st.text(st.sampled_from([*WHITESPACE[:8], "\x00", "a", "Z", "é", " "]), max_size=8))
def test_the_title_pattern_matches_exactly_what_the_rule_accepts(value):
    assert _pattern(NON_BLANK_TEXT_PATTERN).is_valid(value) is _accepts("job_title", value)


def test_every_documented_country_name_is_accepted():
    assert len(COUNTRY_NAMES) > len(COUNTRIES)
    assert all(_accepts("company_location", name) for name in COUNTRY_NAMES)
    assert max(map(len, COUNTRY_NAMES)) <= MAX_COUNTRY_TEXT_LENGTH


def test_one_salary_range_for_dataset_rows_and_feedback():
    assert salary_usd_error(MIN_SALARY_USD) is None
    assert salary_usd_error(MAX_SALARY_USD) is None
    assert "between $1,000 and $5,000,000" in salary_usd_error(MIN_SALARY_USD - 1)
