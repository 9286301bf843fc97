"""The one typed input object shared by the form, the API, batch CSV, import and training.

Every entry point funnels raw user or file input through :func:`parse_profile` (or
:func:`parse_salary_row` for labelled dataset rows) so that validation rules and normalisation
live in exactly one place. Pure Python: no Django import, so it is usable from training scripts
and tested without a database.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pycountry

logger = logging.getLogger(__name__)

EXPERIENCE_LEVELS: dict[str, str] = {
    "EN": "Entry-level",
    "MI": "Mid-level",
    "SE": "Senior",
    "EX": "Executive",
}
EMPLOYMENT_TYPES: dict[str, str] = {
    "FT": "Full-time",
    "PT": "Part-time",
    "CT": "Contract",
    "FL": "Freelance",
}
COMPANY_SIZES: dict[str, str] = {
    "S": "Small (fewer than 50)",
    "M": "Medium (50–250)",
    "L": "Large (more than 250)",
}
REMOTE_RATIOS: dict[int, str] = {0: "On-site", 50: "Hybrid", 100: "Fully remote"}

MIN_WORK_YEAR = 2020
MIN_SALARY_USD = 1_000
MAX_SALARY_USD = 5_000_000
MAX_JOB_TITLE_LENGTH = 100
CURRENCY_CODE_LENGTH = 3

PROFILE_FIELDS: tuple[str, ...] = (
    "job_title",
    "experience_level",
    "employment_type",
    "company_location",
    "employee_residence",
    "remote_ratio",
    "company_size",
    "work_year",
)
SALARY_FIELDS: tuple[str, ...] = ("salary", "salary_currency", "salary_in_usd")
DATASET_COLUMNS: tuple[str, ...] = (
    "work_year",
    "experience_level",
    "employment_type",
    "job_title",
    "salary",
    "salary_currency",
    "salary_in_usd",
    "employee_residence",
    "remote_ratio",
    "company_location",
    "company_size",
)

REQUIRED_MESSAGE = "This field is required."
_WHITESPACE = re.compile(r"\s+")


def _country_display_name(country: object) -> str:
    """Prefer the short everyday name ("Taiwan", "Bolivia") over the ISO formal one."""
    return getattr(country, "common_name", None) or country.name


def _build_countries() -> dict[str, str]:
    names = {c.alpha_2: _country_display_name(c) for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


def _build_country_name_index() -> dict[str, str]:
    """Every exact English name pycountry knows (common, short, official) → alpha-2 code."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                index.setdefault(name.casefold(), country.alpha_2)
    return index


COUNTRIES: dict[str, str] = _build_countries()
_COUNTRY_BY_NAME: dict[str, str] = _build_country_name_index()
CURRENCIES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)


def max_work_year() -> int:
    """Next calendar year: lets users price an offer for a job starting next year."""
    return datetime.date.today().year + 1


@dataclass(frozen=True, slots=True)
class SalaryProfile:
    """A validated, normalised description of one job (the model's raw input)."""

    job_title: str
    experience_level: str
    employment_type: str
    company_location: str
    employee_residence: str
    remote_ratio: int
    company_size: str
    work_year: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SalaryRow:
    """One labelled dataset row: a profile plus the salary actually paid."""

    profile: SalaryProfile
    salary: int
    salary_currency: str
    salary_in_usd: int

    def as_dict(self) -> dict[str, object]:
        """Flat dict with the 11 dataset columns, in dataset order."""
        flat = {
            **self.profile.as_dict(),
            "salary": self.salary,
            "salary_currency": self.salary_currency,
            "salary_in_usd": self.salary_in_usd,
        }
        return {column: flat[column] for column in DATASET_COLUMNS}


# A typical profile: the API docs' example, the smoke test every model artifact must pass
# before it is stored, and the tests' default.
EXAMPLE_PROFILE = SalaryProfile(
    job_title="Data Scientist",
    experience_level="SE",
    employment_type="FT",
    company_location="US",
    employee_residence="US",
    remote_ratio=0,
    company_size="M",
    work_year=2024,
)


class ProfileError(ValueError):
    """Invalid input; ``errors`` maps each bad field to every human-readable problem found."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors: dict[str, list[str]] = {field: list(msgs) for field, msgs in errors.items()}
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
        super().__init__(summary or "Invalid profile.")


class _FieldError(Exception):
    """Internal: one field failed; collected by the parsers into a ProfileError."""


def _type_name(value: object) -> str:
    return type(value).__name__


def _as_text(value: object) -> str:
    if not isinstance(value, str):
        raise _FieldError(f"Expected text, got {_type_name(value)}.")
    return value.strip()


def _as_int(value: object) -> int:
    """Accept ints, integral floats and numeric strings ("50", "50.0"); reject bools and junk."""
    if isinstance(value, bool):
        raise _FieldError(f"Expected a whole number, got {_type_name(value)}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _FieldError(f"Expected a whole number, got {value!r}.")
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        # numpy / pandas scalars arrive from DataFrames; unwrap and re-check.
        try:
            return _as_int(value.item())
        except (TypeError, ValueError) as exc:
            raise _FieldError(f"Expected a whole number, got {_type_name(value)}.") from exc
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise _FieldError(f"'{text}' is not a whole number.") from None
        if number.is_integer():
            return int(number)
        raise _FieldError(f"'{text}' is not a whole number.")
    raise _FieldError(f"Expected a whole number, got {_type_name(value)}.")


def _choice(value: object, choices: Mapping[str, str], what: str) -> str:
    code = _as_text(value).upper()
    if code not in choices:
        allowed = ", ".join(f"{key} ({label})" for key, label in choices.items())
        raise _FieldError(f"'{_as_text(value)}' is not a valid {what}. Choose one of: {allowed}.")
    return code


def normalise_job_title(value: object) -> str:
    """Collapse whitespace; titles are free text so the model can map unseen ones by keyword."""
    title = _WHITESPACE.sub(" ", _as_text(value))
    if not title:
        raise _FieldError(REQUIRED_MESSAGE)
    if len(title) > MAX_JOB_TITLE_LENGTH:
        raise _FieldError(
            f"Job title must be at most {MAX_JOB_TITLE_LENGTH} characters (got {len(title)})."
        )
    return title


def normalise_country(value: object) -> str:
    """Alpha-2 code (any case) or an exact English country name → alpha-2 code."""
    text = _WHITESPACE.sub(" ", _as_text(value))
    if not text:
        raise _FieldError(REQUIRED_MESSAGE)
    code = text.upper()
    if len(code) == 2:
        if code in COUNTRIES:
            return code
        raise _FieldError(f"'{text}' is not a known ISO 3166-1 country code.")
    by_name = _COUNTRY_BY_NAME.get(text.casefold())
    if by_name is None:
        raise _FieldError(
            f"'{text}' is not a known country: use an ISO 3166-1 alpha-2 code or an exact "
            "English country name."
        )
    return by_name


def _remote_ratio(value: object) -> int:
    ratio = _as_int(value)
    if ratio not in REMOTE_RATIOS:
        allowed = ", ".join(f"{key} ({label})" for key, label in REMOTE_RATIOS.items())
        raise _FieldError(f"{ratio} is not a valid remote ratio. Choose one of: {allowed}.")
    return ratio


def _work_year(value: object) -> int:
    year = _as_int(value)
    latest = max_work_year()
    if not MIN_WORK_YEAR <= year <= latest:
        raise _FieldError(f"Work year must be between {MIN_WORK_YEAR} and {latest} (got {year}).")
    return year


_PROFILE_PARSERS = {
    "job_title": normalise_job_title,
    "experience_level": lambda v: _choice(v, EXPERIENCE_LEVELS, "experience level"),
    "employment_type": lambda v: _choice(v, EMPLOYMENT_TYPES, "employment type"),
    "company_location": normalise_country,
    "employee_residence": normalise_country,
    "remote_ratio": _remote_ratio,
    "company_size": lambda v: _choice(v, COMPANY_SIZES, "company size"),
    "work_year": _work_year,
}


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from pandas
        return True
    return isinstance(value, str) and not value.strip()


def _parse_fields(
    raw: Mapping[str, object], parsers: Mapping[str, object], errors: dict[str, list[str]]
) -> dict[str, object]:
    values: dict[str, object] = {}
    for field, parser in parsers.items():
        value = raw.get(field)
        if _is_missing(value):
            errors.setdefault(field, []).append(REQUIRED_MESSAGE)
            continue
        try:
            values[field] = parser(value)
        except _FieldError as exc:
            errors.setdefault(field, []).append(str(exc))
        except (TypeError, ValueError, AttributeError) as exc:
            logger.debug("Unexpected value for %s: %r", field, value, exc_info=True)
            errors.setdefault(field, []).append(f"Invalid value ({_type_name(exc)}).")
    return values


def _require_mapping(raw: object) -> None:
    if not isinstance(raw, Mapping):
        raise ProfileError({"__all__": [f"Expected a mapping of fields, got {_type_name(raw)}."]})


def parse_profile(raw: Mapping[str, object]) -> SalaryProfile:
    """Validate and normalise all 8 fields, reporting every field error at once."""
    _require_mapping(raw)
    errors: dict[str, list[str]] = {}
    values = _parse_fields(raw, _PROFILE_PARSERS, errors)
    if errors:
        raise ProfileError(errors)
    return SalaryProfile(**values)


def _positive_int(value: object) -> int:
    number = _as_int(value)
    if number <= 0:
        raise _FieldError(f"Must be a positive whole number (got {number}).")
    return number


def _currency(value: object) -> str:
    code = _as_text(value).upper()
    if len(code) != CURRENCY_CODE_LENGTH or code not in CURRENCIES:
        raise _FieldError(f"'{_as_text(value)}' is not a known ISO 4217 currency code.")
    return code


def _salary_in_usd(value: object) -> int:
    amount = _as_int(value)
    if not MIN_SALARY_USD <= amount <= MAX_SALARY_USD:
        raise _FieldError(
            f"Salary in USD must be between {MIN_SALARY_USD:,} and {MAX_SALARY_USD:,} "
            f"(got {amount:,})."
        )
    return amount


_SALARY_PARSERS = {
    "salary": _positive_int,
    "salary_currency": _currency,
    "salary_in_usd": _salary_in_usd,
}


def parse_salary_row(raw: Mapping[str, object]) -> SalaryRow:
    """Validate one of the 11-column dataset rows (import, training), all errors at once."""
    _require_mapping(raw)
    errors: dict[str, list[str]] = {}
    profile_values = _parse_fields(raw, _PROFILE_PARSERS, errors)
    salary_values = _parse_fields(raw, _SALARY_PARSERS, errors)
    if errors:
        raise ProfileError(errors)
    return SalaryRow(profile=SalaryProfile(**profile_values), **salary_values)
