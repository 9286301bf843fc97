"""Reference models for the benchmark: the original MLPayGrade recipe and a naive median.

Neither is served; they exist so every claim about "ours" is measured against the same splits.
Pure Python: no Django import.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlmodel.core.taxonomy import (
    REGION_ASIA,
    REGION_EUROPE,
    REGION_NORTH_AMERICA,
    REGION_OCEANIA,
    region,
)

logger = logging.getLogger(__name__)

TARGET_COLUMN = "salary_in_usd"
# Single-threaded like our model: OpenMP threads stall badly on a busy shared machine.
TRAINING_THREADS = 1

# The original project's XGBoost, as its documentation gives it (squared error on dollars).
ORIGINAL_RANDOM_STATE = 42
ORIGINAL_XGB_PARAMS: dict[str, object] = {
    "n_estimators": 600,
    "max_depth": 6,
    "learning_rate": 0.06,
    "subsample": 0.9,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "objective": "reg:squarederror",
    "tree_method": "hist",
}
ORIGINAL_CATEGORICAL = (
    "job_category",
    "continent",
    "experience_level",
    "employment_type",
    "company_size",
)
ORIGINAL_NUMERIC = ("remote_ratio", "work_year")

CATEGORY_MANAGEMENT = "MANAGEMENT"
CATEGORY_MACHINE_LEARNING = "MACHINE_LEARNING"
CATEGORY_DATA_ENGINEERING = "DATA_ENGINEERING"
CATEGORY_DATA_SCIENCE = "DATA_SCIENCE"
CATEGORY_DATA_ANALYSIS = "DATA_ANALYSIS"
CATEGORY_SPECIALIZED = "SPECIALIZED"
# Regex buckets on the lower-cased title, with word boundaries, first match wins, in the
# original's order; then its fallbacks on a single word, else SPECIALIZED. The bucket names,
# order and fallbacks are the original's; the word lists are our reconstruction of them.
_JOB_CATEGORY_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), category)
    for pattern, category in (
        (
            r"\b(manager|management|head|director|chief|vp|vice president|lead|principal)\b",
            CATEGORY_MANAGEMENT,
        ),
        (
            r"\b(machine learning|ml|mlops|ai|deep learning|nlp|computer vision|"
            r"prompt|llm)\b",
            CATEGORY_MACHINE_LEARNING,
        ),
        (
            r"\b(data engineer|big data|etl|pipeline|data architect|analytics engineer|"
            r"database|data infrastructure|cloud data|data integration|data devops)\b",
            CATEGORY_DATA_ENGINEERING,
        ),
        (
            r"\b(data scientist|data science|research scientist|applied scientist|"
            r"decision scientist|statistician|research|scientist)\b",
            CATEGORY_DATA_SCIENCE,
        ),
        (
            r"\b(data analyst|analytics|business intelligence|bi|business analyst|"
            r"data visualization|insight|reporting)\b",
            CATEGORY_DATA_ANALYSIS,
        ),
        (
            r"\b(specialist|consultant|researcher|research|robotics|modeler|modeller)\b",
            CATEGORY_SPECIALIZED,
        ),
        (r"\bengineer\b", CATEGORY_DATA_ENGINEERING),
        (r"\bscientist\b", CATEGORY_DATA_SCIENCE),
        (r"\banalyst\b", CATEGORY_DATA_ANALYSIS),
    )
)
OTHER_CATEGORY = CATEGORY_SPECIALIZED

CONTINENT_NORTH_AMERICA = "NORTH_AMERICA"
CONTINENT_EUROPE = "EUROPE"
CONTINENT_ASIA_PACIFIC = "ASIA_PACIFIC"
CONTINENT_OTHER = "OTHER"
_CONTINENTS: dict[str, str] = {
    REGION_NORTH_AMERICA: CONTINENT_NORTH_AMERICA,
    REGION_EUROPE: CONTINENT_EUROPE,
    REGION_ASIA: CONTINENT_ASIA_PACIFIC,
    REGION_OCEANIA: CONTINENT_ASIA_PACIFIC,
}


def job_category(title: str) -> str:
    """The original project's coarse regex bucket of a job title."""
    text = title.lower()
    for pattern, category in _JOB_CATEGORY_RULES:
        if pattern.search(text):
            return category
    return OTHER_CATEGORY


def continent(country_code: str) -> str:
    """The original project's four continents of the company location."""
    return _CONTINENTS.get(region(country_code), CONTINENT_OTHER)


def _original_frame(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "job_category": df["job_title"].map(job_category),
            "continent": df["company_location"].map(continent),
            "experience_level": df["experience_level"],
            "employment_type": df["employment_type"],
            "company_size": df["company_size"],
            "remote_ratio": df["remote_ratio"].astype(float),
            "work_year": df["work_year"].astype(float),
        },
        index=df.index,
    )


class OriginalRecipe:
    """One-hot encoding + XGBRegressor on dollars, reproduced from the original description."""

    def __init__(self, seed: int = ORIGINAL_RANDOM_STATE):
        self.seed = seed
        self.pipeline: Pipeline | None = None

    def fit(self, df: pd.DataFrame) -> OriginalRecipe:
        encoder = ColumnTransformer(
            [
                ("onehot", OneHotEncoder(handle_unknown="ignore"), list(ORIGINAL_CATEGORICAL)),
                ("numeric", "passthrough", list(ORIGINAL_NUMERIC)),
            ]
        )
        regressor = xgb.XGBRegressor(
            **ORIGINAL_XGB_PARAMS, random_state=self.seed, n_jobs=TRAINING_THREADS
        )
        self.pipeline = Pipeline([("preprocess", encoder), ("model", regressor)])
        self.pipeline.fit(_original_frame(df), df[TARGET_COLUMN].to_numpy(dtype=np.float64))
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        if self.pipeline is None:
            raise RuntimeError("OriginalRecipe.fit must be called before predict.")
        return np.maximum(self.pipeline.predict(_original_frame(df)).astype(np.float64), 0.0)


class NaiveMedian:
    """Median salary by (experience level, company country), else by experience, else overall."""

    def __init__(self):
        self.by_level_country: dict[tuple[str, str], float] = {}
        self.by_level: dict[str, float] = {}
        self.overall = 0.0

    def fit(self, df: pd.DataFrame) -> NaiveMedian:
        target = df[TARGET_COLUMN].astype(float)
        self.overall = float(target.median())
        self.by_level = {
            str(k): float(v) for k, v in target.groupby(df["experience_level"]).median().items()
        }
        grouped = target.groupby([df["experience_level"], df["company_location"]]).median()
        self.by_level_country = {(str(a), str(b)): float(v) for (a, b), v in grouped.items()}
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        levels = df["experience_level"].tolist()
        countries = df["company_location"].tolist()
        return np.array(
            [
                self.by_level_country.get((level, country), self.by_level.get(level, self.overall))
                for level, country in zip(levels, countries, strict=True)
            ],
            dtype=np.float64,
        )
