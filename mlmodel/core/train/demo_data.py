"""Synthetic salaries for a fresh machine without the real data file.

Realistic in aggregate (medians by experience level, US share, year mix, title mix), not in
detail: it exists so the portal, training and tests run end to end without the real CSV.
Deterministic per seed. Pure Python: no Django import.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mlmodel.core.profile import DATASET_COLUMNS
from mlmodel.core.taxonomy import (
    FAMILY_ANALYTICS_ENGINEERING,
    FAMILY_BUSINESS_INTELLIGENCE,
    FAMILY_DATA_ANALYSIS,
    FAMILY_DATA_ARCHITECTURE,
    FAMILY_DATA_ENGINEERING,
    FAMILY_DATA_OPERATIONS,
    FAMILY_DATA_SCIENCE,
    FAMILY_LEADERSHIP,
    FAMILY_ML_ENGINEERING,
    FAMILY_PRODUCT,
    FAMILY_RESEARCH,
    FAMILY_ROBOTICS,
    KNOWN_JOB_TITLES,
    job_family,
)

logger = logging.getLogger(__name__)

# Target medians of salary_in_usd by experience level (close to the real 2023–2024 data).
TARGET_MEDIAN_USD: dict[str, int] = {"EN": 92_000, "MI": 126_000, "SE": 164_000, "EX": 195_000}
EXPERIENCE_SHARE: dict[str, float] = {"EN": 0.10, "MI": 0.27, "SE": 0.58, "EX": 0.05}
EMPLOYMENT_SHARE: dict[str, float] = {"FT": 0.985, "CT": 0.006, "PT": 0.005, "FL": 0.004}
COMPANY_SIZE_SHARE: dict[str, float] = {"M": 0.85, "L": 0.10, "S": 0.05}
REMOTE_SHARE: dict[int, float] = {0: 0.64, 100: 0.33, 50: 0.03}
YEAR_SHARE: dict[int, float] = {2020: 0.01, 2021: 0.02, 2022: 0.12, 2023: 0.45, 2024: 0.40}
YEAR_LOG_EFFECT: dict[int, float] = {2020: -0.15, 2021: -0.12, 2022: -0.05, 2023: 0.0, 2024: 0.0}

# Company country → (share of rows, log salary effect relative to the US, currency).
COUNTRY_PROFILE: dict[str, tuple[float, float, str]] = {
    "US": (0.80, 0.00, "USD"),
    "GB": (0.05, -0.40, "GBP"),
    "CA": (0.04, -0.20, "CAD"),
    "DE": (0.015, -0.40, "EUR"),
    "ES": (0.01, -0.75, "EUR"),
    "FR": (0.01, -0.60, "EUR"),
    "IN": (0.01, -1.40, "INR"),
    "AU": (0.01, -0.20, "AUD"),
    "NL": (0.008, -0.45, "EUR"),
    "PT": (0.006, -0.85, "EUR"),
    "BR": (0.006, -1.00, "BRL"),
    "MX": (0.005, -0.90, "MXN"),
    "PL": (0.005, -0.80, "PLN"),
    "IE": (0.005, -0.35, "EUR"),
    "CH": (0.005, 0.00, "CHF"),
    "SG": (0.005, -0.30, "SGD"),
    "ZA": (0.004, -0.90, "ZAR"),
    "JP": (0.004, -0.55, "JPY"),
}
# Rough units of local currency per US dollar, only to fill the salary / salary_currency columns.
UNITS_PER_USD: dict[str, float] = {
    "USD": 1.0,
    "GBP": 0.79,
    "CAD": 1.36,
    "EUR": 0.92,
    "INR": 83.0,
    "AUD": 1.52,
    "BRL": 5.0,
    "MXN": 17.0,
    "PLN": 4.0,
    "CHF": 0.88,
    "SGD": 1.34,
    "ZAR": 18.5,
    "JPY": 150.0,
}
FAMILY_LOG_EFFECT: dict[str, float] = {
    FAMILY_DATA_ANALYSIS: -0.28,
    FAMILY_BUSINESS_INTELLIGENCE: -0.15,
    FAMILY_DATA_OPERATIONS: -0.35,
    FAMILY_DATA_ENGINEERING: 0.0,
    FAMILY_ANALYTICS_ENGINEERING: -0.02,
    FAMILY_DATA_ARCHITECTURE: 0.08,
    FAMILY_DATA_SCIENCE: 0.04,
    FAMILY_ML_ENGINEERING: 0.12,
    FAMILY_RESEARCH: 0.20,
    FAMILY_ROBOTICS: 0.0,
    FAMILY_LEADERSHIP: 0.10,
    FAMILY_PRODUCT: 0.05,
}
# The four big titles dominate the real data; every other known title shares the rest.
MAIN_TITLE_SHARE: dict[str, float] = {
    "Data Engineer": 0.21,
    "Data Scientist": 0.20,
    "Data Analyst": 0.15,
    "Machine Learning Engineer": 0.10,
}
OTHER_RESIDENCE_SHARE = 0.05
LOG_NOISE_SD = 0.38
MIN_DEMO_USD = 15_000
MAX_DEMO_USD = 800_000
ROUND_TO_USD = 100


def _choice(rng: np.random.Generator, shares: dict, size: int) -> np.ndarray:
    keys = list(shares)
    weights = np.array([shares[k] for k in keys], dtype=np.float64)
    picks = rng.choice(len(keys), size=size, p=weights / weights.sum())
    return np.array(keys, dtype=object)[picks]


def _title_shares() -> dict[str, float]:
    others = [t for t in KNOWN_JOB_TITLES if t not in MAIN_TITLE_SHARE]
    rest = 1.0 - sum(MAIN_TITLE_SHARE.values())
    return {**MAIN_TITLE_SHARE, **{title: rest / len(others) for title in others}}


def make_demo_dataframe(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """``n_rows`` synthetic salaries with the 11 dataset columns, the same for the same seed."""
    if n_rows < 0:
        raise ValueError("n_rows must be non-negative.")
    rng = np.random.default_rng(seed)
    experience = _choice(rng, EXPERIENCE_SHARE, n_rows)
    employment = _choice(rng, EMPLOYMENT_SHARE, n_rows)
    titles = _choice(rng, _title_shares(), n_rows)
    company = _choice(rng, {c: p[0] for c, p in COUNTRY_PROFILE.items()}, n_rows)
    residence = company.copy()
    moved = rng.random(n_rows) < OTHER_RESIDENCE_SHARE
    residence[moved] = _choice(rng, {c: p[0] for c, p in COUNTRY_PROFILE.items()}, moved.sum())
    remote = _choice(rng, REMOTE_SHARE, n_rows).astype(np.int64)
    size = _choice(rng, COMPANY_SIZE_SHARE, n_rows)
    years = _choice(rng, YEAR_SHARE, n_rows).astype(np.int64)

    log_salary = (
        np.array([FAMILY_LOG_EFFECT.get(job_family(t), 0.0) for t in titles])
        + np.array([COUNTRY_PROFILE[c][1] for c in company])
        + np.array([YEAR_LOG_EFFECT[int(y)] for y in years])
        + np.where(employment == "FT", 0.0, -0.3)
        + rng.normal(0.0, LOG_NOISE_SD, n_rows)
    )
    usd = np.zeros(n_rows, dtype=np.float64)
    for level, target in TARGET_MEDIAN_USD.items():
        rows = experience == level
        if rows.any():
            # Centre each level so its median lands on the target (then clip/round barely move it).
            usd[rows] = target * np.exp(log_salary[rows] - np.median(log_salary[rows]))
    usd = np.clip(np.round(usd / ROUND_TO_USD) * ROUND_TO_USD, MIN_DEMO_USD, MAX_DEMO_USD)
    salary_in_usd = usd.astype(np.int64)
    currency = np.array([COUNTRY_PROFILE[c][2] for c in company], dtype=object)
    salary = np.maximum(
        np.round(salary_in_usd * np.array([UNITS_PER_USD[c] for c in currency])), 1
    ).astype(np.int64)

    frame = pd.DataFrame(
        {
            "work_year": years,
            "experience_level": experience.astype(str),
            "employment_type": employment.astype(str),
            "job_title": titles.astype(str),
            "salary": salary,
            "salary_currency": currency.astype(str),
            "salary_in_usd": salary_in_usd,
            "employee_residence": residence.astype(str),
            "remote_ratio": remote,
            "company_location": company.astype(str),
            "company_size": size.astype(str),
        }
    )
    return frame.loc[:, list(DATASET_COLUMNS)]
