"""The salary table as training reads it: canonical dtypes, duplicates dropped, fingerprinted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mlmodel.core.profile import DATASET_COLUMNS, ProfileError, parse_salary_row

TARGET_COLUMN = "salary_in_usd"
INT_COLUMNS = ("work_year", "salary", "salary_in_usd", "remote_ratio")
CODE_COLUMNS = (
    "experience_level",
    "employment_type",
    "salary_currency",
    "employee_residence",
    "company_location",
    "company_size",
)


def prepare_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The 11 dataset columns with canonical dtypes (ints, upper-case codes, stripped titles)."""
    missing = [column for column in DATASET_COLUMNS if column not in df.columns]
    if missing:
        raise ValueError(f"Salary data is missing columns: {missing}")
    frame = df.loc[:, list(DATASET_COLUMNS)].copy()
    for column in INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype(np.int64)
    for column in CODE_COLUMNS:
        frame[column] = frame[column].astype(str).str.strip().str.upper()
    frame["job_title"] = frame["job_title"].astype(str).str.split().str.join(" ")
    if (frame[TARGET_COLUMN] <= 0).any():
        raise ValueError("salary_in_usd must be positive in every row.")
    return frame.reset_index(drop=True)


def load_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a salaries CSV with the 11 dataset columns."""
    return prepare_frame(pd.read_csv(Path(path)))


# Invalid rows of a file are skipped and counted; this many of their reasons are kept.
SHOWN_INVALID_ROWS = 5
HEADER_LINE = 1


def load_valid_csv(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, object]]:
    """Read a salaries CSV, validating every row as the import does; invalid rows are skipped.

    Returns the valid rows (canonical dtypes) and ``{"rows_read", "rows_skipped",
    "first_reasons": ["line N: why", ...]}`` with at most ``SHOWN_INVALID_ROWS`` reasons.
    """
    raw = pd.read_csv(Path(path), dtype=str, keep_default_na=False)
    missing = [column for column in DATASET_COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(f"Salary data is missing columns: {missing}")
    valid: list[dict[str, object]] = []
    skipped = 0
    reasons: list[str] = []
    for position, record in enumerate(raw[list(DATASET_COLUMNS)].to_dict("records")):
        try:
            valid.append(parse_salary_row(record).as_dict())
        except ProfileError as exc:
            skipped += 1
            if len(reasons) < SHOWN_INVALID_ROWS:
                reasons.append(f"line {position + HEADER_LINE + 1}: {exc}")
    frame = pd.DataFrame(valid, columns=list(DATASET_COLUMNS))
    report = {"rows_read": len(raw), "rows_skipped": skipped, "first_reasons": reasons}
    return prepare_frame(frame), report


def deduplicate(df: pd.DataFrame) -> pd.DataFrame:
    """Drop exact duplicate rows (first kept) so no row is both trained on and tested on."""
    return df.drop_duplicates(subset=list(DATASET_COLUMNS), keep="first").reset_index(drop=True)


def data_fingerprint(df: pd.DataFrame) -> dict[str, object]:
    """Row count, year range and sha256 of the canonical (sorted, CSV) content."""
    frame = prepare_frame(df)
    ordered = frame.sort_values(list(DATASET_COLUMNS), kind="mergesort")
    content = ordered.to_csv(index=False, lineterminator="\n").encode("utf-8")
    years = sorted(int(year) for year in frame["work_year"].unique())
    return {
        "rows": len(frame),
        "years": years,
        "rows_per_year": {str(y): int((frame["work_year"] == y).sum()) for y in years},
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def log_target(df: pd.DataFrame) -> np.ndarray:
    return np.log(df[TARGET_COLUMN].to_numpy(dtype=np.float64))


def year_range(df: pd.DataFrame) -> list[int]:
    if df.empty:
        return []
    return [int(df["work_year"].min()), int(df["work_year"].max())]
