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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields

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
# Longer than any English country name (the longest has 52 characters), spaces included.
MAX_COUNTRY_TEXT_LENGTH = 100
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
NUL_MESSAGE = "Text cannot contain NUL characters."
_WHITESPACE = re.compile(r"\s+")
# What str.strip() and the regex \s remove: Python's whitespace. Spelled out so the API schema's
# patterns (ECMA-262, which differs for U+001C-U+001F, U+0085, U+FEFF) say exactly the same.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _country_display_name(country: object) -> str:
    """Prefer the short everyday name ("Taiwan", "Bolivia") over the ISO formal one."""
    return getattr(country, "common_name", None) or country.name


# Codes outside ISO 3166-1 that real salary data and many institutions use (the European
# Commission, the IMF, SWIFT): user-assigned XK for Kosovo. Accepted wherever a country is.
EXTRA_COUNTRIES: dict[str, str] = {"XK": "Kosovo"}


def _build_countries() -> dict[str, str]:
    names = {c.alpha_2: _country_display_name(c) for c in pycountry.countries}
    names.update(EXTRA_COUNTRIES)
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


def _country_names() -> Iterator[tuple[str, str]]:
    """Every exact English name pycountry knows (common, short, official) with its code, and
    the extra countries' names."""
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                yield name, country.alpha_2
    for code, name in EXTRA_COUNTRIES.items():
        yield name, code


def _build_country_name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, code in _country_names():
        index.setdefault(name.casefold(), code)
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
        # Every field is a str or an int: no need for dataclasses.asdict's recursive copy,
        # which costs more than the rest of this call on the API's hot path.
        return {name: getattr(self, name) for name in _PROFILE_FIELD_NAMES}


_PROFILE_FIELD_NAMES = tuple(f.name for f in fields(SalaryProfile))


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


class FieldError(Exception):
    """One value broke a rule; the message says why. Parsers collect these into a ProfileError."""


def _type_name(value: object) -> str:
    return type(value).__name__


def _checked_text(value: object) -> str:
    """The text as sent (lengths are counted on it), or why it is not text we can keep."""
    if not isinstance(value, str):
        raise FieldError(f"Expected text, got {_type_name(value)}.")
    if "\x00" in value:
        # Nothing a person types contains one, and PostgreSQL cannot store it in JSON.
        raise FieldError(NUL_MESSAGE)
    return value


def _as_text(value: object) -> str:
    return _checked_text(value).strip()


def whole_number(value: object, *, strict_types: bool = False) -> int:
    """A whole number from ints, integral floats and numeric text ("50", "50.0"); never a bool.

    ``strict_types`` is for JSON, whose values carry their own type: there only an integer is a
    whole number (not "50" or 50.0), as the API schema says. Text media (HTML forms, CSV cells)
    leave it off, and numbers are read from their text.
    """
    if isinstance(value, bool):
        raise FieldError(f"Expected a whole number, got {_type_name(value)}.")
    if isinstance(value, int):
        return value
    if strict_types:
        detail = repr(value) if isinstance(value, float) else _type_name(value)
        raise FieldError(f"Expected a whole number, got {detail}.")
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise FieldError(f"Expected a whole number, got {value!r}.")
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        # numpy / pandas scalars arrive from DataFrames; unwrap and re-check.
        try:
            return whole_number(value.item())
        except (TypeError, ValueError) as exc:
            raise FieldError(f"Expected a whole number, got {_type_name(value)}.") from exc
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise FieldError(f"'{text}' is not a whole number.") from None
        if number.is_integer():
            return int(number)
        raise FieldError(f"'{text}' is not a whole number.")
    raise FieldError(f"Expected a whole number, got {_type_name(value)}.")


def _ascii_upper(text: str) -> str:
    """Codes are ASCII: "se" is SE, but "ſe" is not (str.upper would make it "SE")."""
    return text.upper() if text.isascii() else text


def _choice(value: object, choices: Mapping[str, str], what: str) -> str:
    text = _as_text(value)
    code = _ascii_upper(text)
    if code not in choices:
        allowed = ", ".join(f"{key} ({label})" for key, label in choices.items())
        raise FieldError(f"'{text}' is not a valid {what}. Choose one of: {allowed}.")
    return code


def _short_text(value: object, limit: int, what: str) -> str:
    """Stripped, whitespace-collapsed text of at most ``limit`` characters *as sent* (spaces
    included), so the API schema's maxLength states the same limit."""
    raw = _checked_text(value)
    text = _WHITESPACE.sub(" ", raw.strip())
    if not text:
        raise FieldError(REQUIRED_MESSAGE)
    if len(raw) > limit:
        raise FieldError(f"{what} must be at most {limit} characters (got {len(raw)}).")
    return text


def normalise_job_title(value: object) -> str:
    """Collapse whitespace; titles are free text so the model can map unseen ones by keyword."""
    return _short_text(value, MAX_JOB_TITLE_LENGTH, "Job title")


def normalise_country(value: object) -> str:
    """Alpha-2 code (any case) or an exact English country name → alpha-2 code."""
    text = _short_text(value, MAX_COUNTRY_TEXT_LENGTH, "A country")
    code = _ascii_upper(text)
    if len(code) == 2 and code.isascii():
        if code in COUNTRIES:
            return code
        raise FieldError(f"'{text}' is not a known ISO 3166-1 country code.")
    by_name = _COUNTRY_BY_NAME.get(text.casefold())
    if by_name is None:
        raise FieldError(
            f"'{text}' is not a known country: use an ISO 3166-1 alpha-2 code or an exact "
            "English country name."
        )
    return by_name


def _remote_ratio(value: object, strict_types: bool) -> int:
    ratio = whole_number(value, strict_types=strict_types)
    if ratio not in REMOTE_RATIOS:
        allowed = ", ".join(f"{key} ({label})" for key, label in REMOTE_RATIOS.items())
        raise FieldError(f"{ratio} is not a valid remote ratio. Choose one of: {allowed}.")
    return ratio


def _work_year(value: object, strict_types: bool) -> int:
    year = whole_number(value, strict_types=strict_types)
    latest = max_work_year()
    if not MIN_WORK_YEAR <= year <= latest:
        raise FieldError(f"Work year must be between {MIN_WORK_YEAR} and {latest} (got {year}).")
    return year


def _text_rule(rule: Callable[[object], object]) -> Callable[[object, bool], object]:
    """Text fields read the same from JSON and from text media."""
    return lambda value, _strict_types: rule(value)


_PROFILE_PARSERS: dict[str, Callable[[object, bool], object]] = {
    "job_title": _text_rule(normalise_job_title),
    "experience_level": _text_rule(lambda v: _choice(v, EXPERIENCE_LEVELS, "experience level")),
    "employment_type": _text_rule(lambda v: _choice(v, EMPLOYMENT_TYPES, "employment type")),
    "company_location": _text_rule(normalise_country),
    "employee_residence": _text_rule(normalise_country),
    "remote_ratio": _remote_ratio,
    "company_size": _text_rule(lambda v: _choice(v, COMPANY_SIZES, "company size")),
    "work_year": _work_year,
}


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from pandas
        return True
    return isinstance(value, str) and not value.strip()


def _parse_fields(
    raw: Mapping[str, object],
    parsers: Mapping[str, Callable[[object, bool], object]],
    errors: dict[str, list[str]],
    *,
    strict_types: bool = False,
) -> dict[str, object]:
    values: dict[str, object] = {}
    for field, parser in parsers.items():
        value = raw.get(field)
        if _is_missing(value):
            errors.setdefault(field, []).append(REQUIRED_MESSAGE)
            continue
        try:
            values[field] = parser(value, strict_types)
        except FieldError as exc:
            errors.setdefault(field, []).append(str(exc))
        except (TypeError, ValueError, AttributeError) as exc:
            logger.debug("Unexpected value for %s: %r", field, value, exc_info=True)
            errors.setdefault(field, []).append(f"Invalid value ({_type_name(exc)}).")
    return values


def _require_mapping(raw: object) -> None:
    if not isinstance(raw, Mapping):
        raise ProfileError({"__all__": [f"Expected a mapping of fields, got {_type_name(raw)}."]})


def parse_profile(raw: Mapping[str, object], *, strict_types: bool = False) -> SalaryProfile:
    """Validate and normalise all 8 fields, reporting every field error at once.

    ``strict_types`` for JSON input: whole numbers must be JSON integers (see ``whole_number``).
    """
    _require_mapping(raw)
    errors: dict[str, list[str]] = {}
    values = _parse_fields(raw, _PROFILE_PARSERS, errors, strict_types=strict_types)
    if errors:
        raise ProfileError(errors)
    return SalaryProfile(**values)


# --- What each field accepts, stated for API schemas ----------------------------------------
# ECMA-262 patterns (the regex dialect of JSON Schema and OpenAPI) that match exactly what the
# parsers above accept, so a client that validates against the schema is never surprised.

_SPACE = "[" + "".join(f"\\u{ord(char):04x}" for char in WHITESPACE) + "]"
_NOT_SPACE_OR_NUL = "[^" + _SPACE[1:-1] + "\\u0000]"
# Text with a visible character and no NUL: what a required free-text field accepts.
NON_BLANK_TEXT_PATTERN = f"^{_SPACE}*{_NOT_SPACE_OR_NUL}[^\\u0000]*$"
# The exact English names normalise_country knows (it also forgives letter case and spacing).
COUNTRY_NAMES: tuple[str, ...] = tuple(sorted({name for name, _code in _country_names()}))


def code_spelling_pattern(codes: Iterable[str]) -> str:
    """Every spelling accepted for one of ``codes``: any ASCII letter case, surrounding spaces."""
    alternatives = "|".join(
        "".join(f"[{char.upper()}{char.lower()}]" for char in code) for code in codes
    )
    return f"^{_SPACE}*(?:{alternatives}){_SPACE}*$"


def salary_usd_error(amount: int) -> str | None:
    """Why a yearly salary in US dollars is implausible, or None: the one range for dataset rows
    and for salaries users share in feedback."""
    if MIN_SALARY_USD <= amount <= MAX_SALARY_USD:
        return None
    return (
        f"Salary in USD must be between ${MIN_SALARY_USD:,} and ${MAX_SALARY_USD:,} "
        f"(got {amount:,})."
    )


def _positive_int(value: object, strict_types: bool) -> int:
    number = whole_number(value, strict_types=strict_types)
    if number <= 0:
        raise FieldError(f"Must be a positive whole number (got {number}).")
    return number


def _currency(value: object) -> str:
    text = _as_text(value)
    code = _ascii_upper(text)
    if len(code) != CURRENCY_CODE_LENGTH or code not in CURRENCIES:
        raise FieldError(f"'{text}' is not a known ISO 4217 currency code.")
    return code


def _salary_in_usd(value: object, strict_types: bool) -> int:
    amount = whole_number(value, strict_types=strict_types)
    problem = salary_usd_error(amount)
    if problem is not None:
        raise FieldError(problem)
    return amount


_SALARY_PARSERS: dict[str, Callable[[object, bool], object]] = {
    "salary": _positive_int,
    "salary_currency": _text_rule(_currency),
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
