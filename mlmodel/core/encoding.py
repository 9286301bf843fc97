"""The feature layout and the serving encoder: a SalaryProfile (or columns) -> float32 rows.

The encoder is rebuilt from the JSON spec that training wrote (target statistics learned on the
training rows only): dict look-ups and numpy, no pandas, so one profile encodes in microseconds
and many rows encode vectorised. Fitting lives in ``mlmodel.core.train.transformer``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from mlmodel.core.profile import (
    COMPANY_SIZES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    PROFILE_FIELDS,
    SalaryProfile,
)
from mlmodel.core.taxonomy import (
    JOB_FAMILIES,
    MATCH_UNKNOWN,
    REGIONS,
    US_CODE,
    match_title,
    region,
    title_key,
    title_rank,
)

SPEC_FORMAT_VERSION = 1

EXPERIENCE_RANK: dict[str, int] = {code: rank for rank, code in enumerate(EXPERIENCE_LEVELS)}
EMPLOYMENT_CODE: dict[str, int] = {code: rank for rank, code in enumerate(EMPLOYMENT_TYPES)}
COMPANY_SIZE_RANK: dict[str, int] = {code: rank for rank, code in enumerate(COMPANY_SIZES)}
REGION_CODE: dict[str, int] = {name: rank for rank, name in enumerate(REGIONS)}
FAMILY_CODE: dict[str, int] = {name: rank for rank, name in enumerate(JOB_FAMILIES)}

# --------------------------------------------------------------------------------------------
# Feature layout
# --------------------------------------------------------------------------------------------
# Each model feature and the raw input field(s) it is derived from; a contribution of a feature
# derived from two fields is split equally between them when rolled up.
FEATURE_SOURCES: dict[str, tuple[str, ...]] = {
    "experience_rank": ("experience_level",),
    "employment_code": ("employment_type",),
    "company_size_rank": ("company_size",),
    "remote_ratio": ("remote_ratio",),
    "work_year": ("work_year",),
    "job_family_code": ("job_title",),
    "title_rank": ("job_title",),
    "title_target": ("job_title",),
    "family_target": ("job_title",),
    "company_region_code": ("company_location",),
    "company_is_us": ("company_location",),
    "company_country_target": ("company_location",),
    "residence_region_code": ("employee_residence",),
    "residence_is_us": ("employee_residence",),
    "residence_country_target": ("employee_residence",),
    "same_country": ("company_location", "employee_residence"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_SOURCES)
RAW_INPUTS: tuple[str, ...] = PROFILE_FIELDS


def feature_to_raw_matrix(feature_names: Sequence[str] = FEATURE_NAMES) -> np.ndarray:
    """(n_features, n_raw_inputs) weights: contributions @ matrix rolls up to raw inputs."""
    matrix = np.zeros((len(feature_names), len(RAW_INPUTS)), dtype=np.float64)
    for row, name in enumerate(feature_names):
        sources = FEATURE_SOURCES[name]
        for source in sources:
            matrix[row, RAW_INPUTS.index(source)] = 1.0 / len(sources)
    return matrix


def profile_columns(data: object) -> dict[str, list]:
    """Columns of raw inputs as plain lists, from a data frame or from SalaryProfile objects.

    A frame is recognised by its ``columns`` (duck typing), so serving never imports pandas.
    """
    frame_columns = getattr(data, "columns", None)
    if frame_columns is not None:
        missing = [f for f in PROFILE_FIELDS if f not in frame_columns]
        if missing:
            raise KeyError(f"Missing profile columns: {missing}")
        return {field: data[field].tolist() for field in PROFILE_FIELDS}
    return {field: [getattr(p, field) for p in data] for field in PROFILE_FIELDS}


class TargetStatistics:
    """Smoothed mean log-salary per title / family / country, learned from training rows.

    Hierarchical shrinkage: title → its job family → global; country → its region → global.
    Filled by ``mlmodel.core.train.transformer.fit_target_statistics`` or read from its spec.
    """

    def __init__(self, smoothing: float):
        self.smoothing = smoothing
        self.global_mean = 0.0
        self.family: dict[str, float] = {}
        self.title: dict[str, float] = {}
        self.company_region: dict[str, float] = {}
        self.company_country: dict[str, float] = {}
        self.residence_region: dict[str, float] = {}
        self.residence_country: dict[str, float] = {}
        self.title_counts: dict[str, int] = {}

    def to_spec(self) -> dict:
        return {
            "smoothing": self.smoothing,
            "global_mean": self.global_mean,
            "family": self.family,
            "title": self.title,
            "title_counts": self.title_counts,
            "company_region": self.company_region,
            "company_country": self.company_country,
            "residence_region": self.residence_region,
            "residence_country": self.residence_country,
        }

    @classmethod
    def from_spec(cls, spec: Mapping) -> TargetStatistics:
        stats = cls(float(spec["smoothing"]))
        stats.global_mean = float(spec["global_mean"])
        for name in (
            "family",
            "title",
            "company_region",
            "company_country",
            "residence_region",
            "residence_country",
        ):
            setattr(stats, name, {str(k): float(v) for k, v in spec[name].items()})
        stats.title_counts = {str(k): int(v) for k, v in spec["title_counts"].items()}
        return stats


# --------------------------------------------------------------------------------------------
# Serving encoder
# --------------------------------------------------------------------------------------------
_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Contiguous feature blocks produced by FeatureEncoder._title_features / _country_features.
_TITLE_SLICE = slice(_INDEX["job_family_code"], _INDEX["family_target"] + 1)
_COMPANY_SLICE = slice(_INDEX["company_region_code"], _INDEX["company_country_target"] + 1)
_RESIDENCE_SLICE = slice(_INDEX["residence_region_code"], _INDEX["residence_country_target"] + 1)


def factorise(values: Sequence) -> tuple[np.ndarray, list]:
    """(codes, distinct values in first-seen order) using a dict — no sorting of strings."""
    index: dict = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
    )
    return codes, list(index)


class FeatureEncoder:
    """Fast encoder rebuilt from a fitted spec: SalaryProfile(s) → float32 feature rows."""

    def __init__(self, stats: TargetStatistics):
        self.stats = stats
        self.feature_names = FEATURE_NAMES
        self._title_cache: dict[str, tuple[float, float, float, float]] = {}
        self._country_cache: dict[tuple[str, str], tuple[float, float, float]] = {}

    def _title_features(self, title: str) -> tuple[float, float, float, float]:
        """(family code, title rank, title target, family target) — memoised per raw title.

        A title the training rows had keeps its own statistic; otherwise its family's (a
        title mapped by rule keeps only ``weight`` of the whole job-title effect, taken out of
        the output by the predictor, so not here too); an unknown title gets the overall mean
        for both and no seniority rank ("Chief Vibes Officer" is "?", the title its interval was
        calibrated with: the experience level says how senior the job is).
        """
        cached = self._title_cache.get(title)
        if cached is None:
            stats = self.stats
            match = match_title(title)
            family = match.family
            overall = stats.global_mean
            family_value = overall
            rank = 0
            if match.kind != MATCH_UNKNOWN:
                family_value = stats.family.get(family, overall)
                rank = title_rank(title)
            title_value = stats.title.get(title_key(title), family_value)
            cached = (
                float(FAMILY_CODE[family]),
                float(rank),
                title_value,
                family_value,
            )
            self._title_cache[title] = cached
        return cached

    def title_seen(self, title: str) -> bool:
        """Whether the training rows had this title (as the model reads it)."""
        return title_key(title) in self.stats.title

    def _country_features(self, code: str, prefix: str) -> tuple[float, float, float]:
        """(region code, is-US flag, country target) — memoised per (code, side)."""
        key = (code, prefix)
        cached = self._country_cache.get(key)
        if cached is None:
            stats = self.stats
            region_name = region(code)
            region_table = stats.company_region if prefix == "company" else stats.residence_region
            country_table = (
                stats.company_country if prefix == "company" else stats.residence_country
            )
            region_value = region_table.get(region_name, stats.global_mean)
            cached = (
                float(REGION_CODE[region_name]),
                1.0 if code == US_CODE else 0.0,
                country_table.get(code, region_value),
            )
            self._country_cache[key] = cached
        return cached

    def _row(
        self,
        job_title: str,
        experience_level: str,
        employment_type: str,
        company_location: str,
        employee_residence: str,
        remote_ratio: int,
        company_size: str,
        work_year: int,
    ) -> tuple[float, ...]:
        family_code, rank, title_value, family_value = self._title_features(job_title)
        c_region, c_us, c_value = self._country_features(company_location, "company")
        r_region, r_us, r_value = self._country_features(employee_residence, "residence")
        return (
            EXPERIENCE_RANK.get(experience_level, math.nan),
            EMPLOYMENT_CODE.get(employment_type, math.nan),
            COMPANY_SIZE_RANK.get(company_size, math.nan),
            float(remote_ratio),
            float(work_year),
            family_code,
            rank,
            title_value,
            family_value,
            c_region,
            c_us,
            c_value,
            r_region,
            r_us,
            r_value,
            1.0 if company_location == employee_residence else 0.0,
        )

    def encode_one(self, profile: SalaryProfile) -> np.ndarray:
        """One profile → (1, n_features) float32 array."""
        row = self._row(
            profile.job_title,
            profile.experience_level,
            profile.employment_type,
            profile.company_location,
            profile.employee_residence,
            profile.remote_ratio,
            profile.company_size,
            profile.work_year,
        )
        return np.array([row], dtype=np.float32)

    def encode_columns(self, columns: Mapping[str, Sequence]) -> np.ndarray:
        """Columns of raw inputs → (n, n_features) float32 array.

        Vectorised: each column is factorised once with a dict, the per-value features are
        computed once per distinct value, and numpy gathers them into the output.
        """
        titles = columns["job_title"]
        n_rows = len(titles)
        out = np.empty((n_rows, len(FEATURE_NAMES)), dtype=np.float32)
        if n_rows == 0:
            return out
        title_codes, title_values = factorise(titles)
        out[:, _TITLE_SLICE] = np.array(
            [self._title_features(t) for t in title_values], dtype=np.float32
        )[title_codes]
        company_codes, companies = factorise(columns["company_location"])
        out[:, _COMPANY_SLICE] = np.array(
            [self._country_features(c, "company") for c in companies], dtype=np.float32
        )[company_codes]
        residence_codes, residences = factorise(columns["employee_residence"])
        out[:, _RESIDENCE_SLICE] = np.array(
            [self._country_features(c, "residence") for c in residences], dtype=np.float32
        )[residence_codes]
        for column, table, index in (
            ("experience_level", EXPERIENCE_RANK, _INDEX["experience_rank"]),
            ("employment_type", EMPLOYMENT_CODE, _INDEX["employment_code"]),
            ("company_size", COMPANY_SIZE_RANK, _INDEX["company_size_rank"]),
        ):
            codes, values = factorise(columns[column])
            out[:, index] = np.array([table.get(v, math.nan) for v in values])[codes]
        out[:, _INDEX["remote_ratio"]] = np.asarray(columns["remote_ratio"], dtype=np.float32)
        out[:, _INDEX["work_year"]] = np.asarray(columns["work_year"], dtype=np.float32)
        same = (
            np.array(companies, dtype=object)[company_codes]
            == np.array(residences, dtype=object)[residence_codes]
        )
        out[:, _INDEX["same_country"]] = same
        return out

    def encode_many(self, data: object) -> np.ndarray:
        return self.encode_columns(profile_columns(data))

    def to_spec(self) -> dict:
        return {
            "format_version": SPEC_FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "target_statistics": self.stats.to_spec(),
        }

    @classmethod
    def from_spec(cls, spec: Mapping) -> FeatureEncoder:
        if spec.get("format_version") != SPEC_FORMAT_VERSION:
            raise ValueError(f"Unsupported preprocessing format: {spec.get('format_version')!r}")
        if list(spec.get("feature_names", [])) != list(FEATURE_NAMES):
            raise ValueError("Preprocessing feature names do not match this code version.")
        return cls(TargetStatistics.from_spec(spec["target_statistics"]))
