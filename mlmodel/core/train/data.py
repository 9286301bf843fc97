"""The salary table as training reads it: canonical dtypes, duplicates dropped, fingerprinted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mlmodel.core.profile import DATASET_COLUMNS

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
