"""Words and money formats people read: driver labels ("Senior level +$38K"), short dollars.

The model reports contributions per raw input field ("experience_level"); users think in the
value they chose ("Senior level", "Company in United States"), so labels are built from the
prediction's own inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlmodel.core.profile import (
    COMPANY_SIZES,
    COUNTRIES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    REMOTE_RATIOS,
)

THOUSAND = 1_000
MILLION = 1_000_000
MINUS_SIGN = "−"
TOP_DRIVER_COUNT = 4
LEVEL_SUFFIX = "level"
COMPANY_SIZE_WORDS = {"S": "Small company", "M": "Medium-sized company", "L": "Large company"}


def usd(amount: float | int | None) -> str:
    """``$123,457`` (whole dollars)."""
    if amount is None:
        return ""
    value = round(amount)
    sign = MINUS_SIGN if value < 0 else ""
    return f"{sign}${abs(value):,}"


def usd_short(amount: float | int | None) -> str:
    """``$38K``, ``$1.2M``, ``$950``: compact enough for chart axes and driver lists."""
    if amount is None:
        return ""
    value = abs(float(amount))
    sign = MINUS_SIGN if amount < 0 else ""
    if value >= MILLION:
        text = f"{value / MILLION:.1f}".removesuffix(".0") + "M"
    elif value >= THOUSAND:
        text = f"{round(value / THOUSAND):,}K"
    else:
        text = f"{round(value)}"
    return f"{sign}${text}"


def signed_usd_short(amount: float | int) -> str:
    """``+$38K`` / ``−$12K``: the direction of a driver matters as much as its size."""
    return usd_short(amount) if amount < 0 else f"+{usd_short(amount)}"


def _experience_label(code: object) -> str:
    label = EXPERIENCE_LEVELS.get(str(code), str(code))
    return label if label.lower().endswith(LEVEL_SUFFIX) else f"{label} {LEVEL_SUFFIX}"


def _country(code: object) -> str:
    return COUNTRIES.get(str(code), str(code))


def _remote_label(value: object) -> str:
    try:
        return REMOTE_RATIOS[int(value)]  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return f"Remote ratio {value}"


_FEATURE_LABELS = {
    "job_title": lambda value: f"Job title: {value}",
    "experience_level": _experience_label,
    "employment_type": lambda value: EMPLOYMENT_TYPES.get(str(value), str(value)),
    "company_location": lambda value: f"Company in {_country(value)}",
    "employee_residence": lambda value: f"Living in {_country(value)}",
    "remote_ratio": _remote_label,
    "company_size": lambda value: COMPANY_SIZE_WORDS.get(
        str(value), COMPANY_SIZES.get(str(value), str(value))
    ),
    "work_year": lambda value: f"Year {value}",
}


def feature_label(feature: str, inputs: Mapping[str, object]) -> str:
    """Human label of one raw input field with the value this prediction used."""
    builder = _FEATURE_LABELS.get(feature)
    if builder is None or feature not in inputs:
        return feature.replace("_", " ").capitalize()
    return builder(inputs[feature])


@dataclass(frozen=True, slots=True)
class Driver:
    feature: str
    label: str
    usd: int

    @property
    def text(self) -> str:
        return f"{self.label}\N{NO-BREAK SPACE}{signed_usd_short(self.usd)}"

    @property
    def raises(self) -> bool:
        return self.usd >= 0


def drivers(
    contributions: Sequence[Mapping[str, object]], inputs: Mapping[str, object]
) -> list[Driver]:
    """Every contribution that moved the estimate, labelled, largest effect first."""
    items = [
        Driver(
            feature=str(item["feature"]),
            label=feature_label(str(item["feature"]), inputs),
            usd=round(float(item["usd"])),  # type: ignore[arg-type]
        )
        for item in contributions
    ]
    moved = [driver for driver in items if driver.usd]
    return sorted(moved, key=lambda driver: abs(driver.usd), reverse=True)


def baseline_usd(estimate_usd: int, contributions: Sequence[Mapping[str, object]]) -> int:
    """The typical salary the contributions start from (they add up to estimate − baseline)."""
    return round(estimate_usd - sum(float(item["usd"]) for item in contributions))  # type: ignore[arg-type]


def drivers_sentence(drivers_list: Sequence[Driver], *, limit: int = TOP_DRIVER_COUNT) -> str:
    """``Senior level +$38K, Company in United States +$52K, …``."""
    return ", ".join(driver.text for driver in drivers_list[:limit])
