"""Feature engineering: raw SalaryProfile fields → a float32 feature row.

Two halves share one definition of the features:

* :class:`SalaryFeatureTransformer` — scikit-learn transformer used inside the training
  ``Pipeline``. It learns smoothed target statistics (mean log salary per job title, job family,
  company country, residence country) from the training rows only, using out-of-fold estimates
  for the rows it is fitted on so the booster never sees a row's own salary through a feature.
  Its fitted state is plain JSON (:meth:`SalaryFeatureTransformer.to_spec`).
* :class:`FeatureEncoder` — the serving-side encoder rebuilt from that JSON. Dict look-ups and
  numpy only (no pandas) so one profile encodes in microseconds and many rows encode vectorised.
* :class:`LinearComponent` — a ridge regression on one-hot categories (and a few two-input
  interactions), fitted on training rows by :func:`fit_linear_component`, stored as JSON
  coefficients and blended with the booster's estimate in log space.

Pure Python: no Django import.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from mlmodel.profile import (
    COMPANY_SIZES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    PROFILE_FIELDS,
    SalaryProfile,
)

logger = logging.getLogger(__name__)

SPEC_FORMAT_VERSION = 1
US_CODE = "US"

# --------------------------------------------------------------------------------------------
# Job families
# --------------------------------------------------------------------------------------------
FAMILY_DATA_ANALYSIS = "Data Analysis"
FAMILY_BUSINESS_INTELLIGENCE = "Business Intelligence"
FAMILY_DATA_OPERATIONS = "Data Operations & Management"
FAMILY_DATA_ENGINEERING = "Data Engineering"
FAMILY_ANALYTICS_ENGINEERING = "Analytics Engineering"
FAMILY_DATA_ARCHITECTURE = "Data Architecture"
FAMILY_DATA_SCIENCE = "Data Science"
FAMILY_ML_ENGINEERING = "Machine Learning Engineering"
FAMILY_RESEARCH = "Research Science"
FAMILY_ROBOTICS = "Robotics & Autonomy"
FAMILY_LEADERSHIP = "Data Leadership"
FAMILY_PRODUCT = "Data Product"
FAMILY_OTHER = "Other"

# Explicit family of every job title seen in the salaries dataset (155 titles). Curated by hand
# from what the job does, not from its salary, so it is a stable prior for rare titles.
_FAMILY_TITLES: dict[str, tuple[str, ...]] = {
    FAMILY_DATA_ANALYSIS: (
        "Admin & Data Analyst",
        "Business Data Analyst",
        "CRM Data Analyst",
        "Compliance Data Analyst",
        "Data Analyst",
        "Data Analyst Lead",
        "Data Analytics Associate",
        "Data Analytics Consultant",
        "Data Analytics Specialist",
        "Data Reporting Analyst",
        "Data Science Analyst",
        "Data Visualization Analyst",
        "Data Visualization Specialist",
        "Finance Data Analyst",
        "Financial Data Analyst",
        "Insight Analyst",
        "Lead Data Analyst",
        "Marketing Data Analyst",
        "Principal Data Analyst",
        "Product Data Analyst",
        "Quantitative Research Analyst",
        "Research Analyst",
        "Sales Data Analyst",
        "Staff Data Analyst",
    ),
    FAMILY_BUSINESS_INTELLIGENCE: (
        "BI Analyst",
        "BI Data Analyst",
        "BI Data Engineer",
        "BI Developer",
        "Business Intelligence",
        "Business Intelligence Analyst",
        "Business Intelligence Data Analyst",
        "Business Intelligence Developer",
        "Business Intelligence Engineer",
        "Business Intelligence Lead",
        "Business Intelligence Specialist",
        "Power BI Developer",
    ),
    FAMILY_DATA_OPERATIONS: (
        "Data Integration Specialist",
        "Data Management Analyst",
        "Data Management Consultant",
        "Data Management Specialist",
        "Data Operations Analyst",
        "Data Operations Associate",
        "Data Operations Specialist",
        "Data Quality Analyst",
        "Data Specialist",
        "Encounter Data Management Professional",
    ),
    FAMILY_DATA_ENGINEERING: (
        "Azure Data Engineer",
        "Big Data Developer",
        "Big Data Engineer",
        "Cloud Data Engineer",
        "Cloud Database Engineer",
        "Consultant Data Engineer",
        "Data Analytics Engineer",
        "Data Developer",
        "Data DevOps Engineer",
        "Data Engineer",
        "Data Infrastructure Engineer",
        "Data Integration Developer",
        "Data Integration Engineer",
        "Data Operations Engineer",
        "Data Pipeline Engineer",
        "Data Quality Engineer",
        "Data Visualization Engineer",
        "ETL Developer",
        "ETL Engineer",
        "Lead Data Engineer",
        "Marketing Data Engineer",
        "Principal Data Engineer",
        "Software Data Engineer",
    ),
    FAMILY_ANALYTICS_ENGINEERING: ("Analytics Engineer",),
    FAMILY_DATA_ARCHITECTURE: (
        "AWS Data Architect",
        "Big Data Architect",
        "Cloud Data Architect",
        "Data Architect",
        "Data Modeler",
        "Data Modeller",
        "Principal Data Architect",
    ),
    FAMILY_DATA_SCIENCE: (
        "Applied Data Scientist",
        "Computational Biologist",
        "Data Science",
        "Data Science Consultant",
        "Data Science Engineer",
        "Data Science Lead",
        "Data Science Practitioner",
        "Data Science Tech Lead",
        "Data Scientist",
        "Data Scientist Lead",
        "Data Strategist",
        "Decision Scientist",
        "Lead Data Scientist",
        "Marketing Data Scientist",
        "Principal Data Scientist",
        "Staff Data Scientist",
    ),
    FAMILY_ML_ENGINEERING: (
        "AI Architect",
        "AI Developer",
        "AI Engineer",
        "AI Programmer",
        "AI Software Engineer",
        "Applied Machine Learning Engineer",
        "Computer Vision Engineer",
        "Computer Vision Software Engineer",
        "Deep Learning Engineer",
        "Lead Machine Learning Engineer",
        "ML Engineer",
        "ML Ops Engineer",
        "MLOps Engineer",
        "Machine Learning Developer",
        "Machine Learning Engineer",
        "Machine Learning Infrastructure Engineer",
        "Machine Learning Modeler",
        "Machine Learning Operations Engineer",
        "Machine Learning Software Engineer",
        "Machine Learning Specialist",
        "NLP Engineer",
        "Principal Machine Learning Engineer",
        "Prompt Engineer",
        "Staff Machine Learning Engineer",
    ),
    FAMILY_RESEARCH: (
        "AI Research Engineer",
        "AI Research Scientist",
        "AI Scientist",
        "Applied Machine Learning Scientist",
        "Applied Research Scientist",
        "Applied Scientist",
        "Deep Learning Researcher",
        "Machine Learning Research Engineer",
        "Machine Learning Researcher",
        "Machine Learning Scientist",
        "Research Engineer",
        "Research Scientist",
    ),
    FAMILY_ROBOTICS: (
        "Autonomous Vehicle Technician",
        "Bear Robotics",
        "Robotics Engineer",
        "Robotics Software Engineer",
    ),
    FAMILY_LEADERSHIP: (
        "Analytics Engineering Manager",
        "Business Intelligence Manager",
        "Data Analytics Lead",
        "Data Analytics Manager",
        "Data Lead",
        "Data Manager",
        "Data Operations Manager",
        "Data Quality Manager",
        "Data Science Director",
        "Data Science Manager",
        "Data Strategy Manager",
        "Director of Business Intelligence",
        "Director of Data Science",
        "Head of Data",
        "Head of Data Science",
        "Head of Machine Learning",
        "Machine Learning Manager",
        "Manager Data Management",
        "Managing Director Data Science",
    ),
    FAMILY_PRODUCT: ("AI Product Manager", "Data Product Manager", "Data Product Owner"),
}

JOB_FAMILIES: tuple[str, ...] = (*_FAMILY_TITLES, FAMILY_OTHER)
TITLE_FAMILY: dict[str, str] = {
    title: family for family, titles in _FAMILY_TITLES.items() for title in titles
}
KNOWN_JOB_TITLES: list[str] = sorted(TITLE_FAMILY, key=str.casefold)
_TITLE_FAMILY_FOLDED: dict[str, str] = {t.casefold(): f for t, f in TITLE_FAMILY.items()}

# Keyword rules for titles never seen in the data, tried in order: the first match wins.
# Leadership and product come first because "Head of ML" is a manager before an ML engineer.
_FAMILY_KEYWORD_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), family)
    for pattern, family in (
        (r"\bproduct (manager|owner|lead)\b", FAMILY_PRODUCT),
        (r"\b(head|director|manager|chief|vp|vice president|cdo|cto)\b", FAMILY_LEADERSHIP),
        (r"\barchitect|\bmodell?er\b", FAMILY_DATA_ARCHITECTURE),
        (r"\banalytics engineer", FAMILY_ANALYTICS_ENGINEERING),
        (r"\b(bi|business intelligence|power bi|tableau|looker)\b", FAMILY_BUSINESS_INTELLIGENCE),
        (r"\brobot|\bautonomous\b", FAMILY_ROBOTICS),
        (
            r"\bresearch(er)?\b.*\b(scien|engineer)|\bresearcher\b|\bapplied scientist|"
            r"\b(ai|ml|machine learning|deep learning) scientist",
            FAMILY_RESEARCH,
        ),
        (
            r"\b(machine learning|ml|mlops|ai|artificial intelligence|deep learning|nlp|llm|"
            r"computer vision|prompt|genai|generative)\b",
            FAMILY_ML_ENGINEERING,
        ),
        (r"\bdata scien|\bscientist\b|\bstatistician\b", FAMILY_DATA_SCIENCE),
        (r"\b(etl|pipeline|big data|data platform|database)\b", FAMILY_DATA_ENGINEERING),
        (r"\bdata( \w+)? (engineer|developer)\b", FAMILY_DATA_ENGINEERING),
        (
            r"\bdata (quality|management|operations|governance|integration|steward)|"
            r"\bdata specialist\b",
            FAMILY_DATA_OPERATIONS,
        ),
        (r"\b(analyst|analytics|insights?|reporting|visuali[sz]ation)\b", FAMILY_DATA_ANALYSIS),
        (r"\b(engineer|developer|programmer)\b", FAMILY_DATA_ENGINEERING),
    )
)

# Seniority written into the title itself, on top of the experience level field.
TITLE_RANK_NONE = 0
_TITLE_RANK_RULES: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), rank)
    for pattern, rank in (
        (r"\b(chief|vp|vice president|managing director|director)\b", 5),
        (r"\bhead\b", 4),
        (r"\bmanager\b", 3),
        (r"\b(principal|staff)\b", 2),
        (r"\b(lead|senior|sr\.?)\b", 1),
    )
)

_WHITESPACE = re.compile(r"\s+")


def _fold_title(title: str) -> str:
    return _WHITESPACE.sub(" ", title).strip().casefold()


def job_family(title: str) -> str:
    """Family of a job title: explicit table for known titles, keyword rules, else "Other"."""
    folded = _fold_title(title)
    known = _TITLE_FAMILY_FOLDED.get(folded)
    if known is not None:
        return known
    for pattern, family in _FAMILY_KEYWORD_RULES:
        if pattern.search(folded):
            return family
    return FAMILY_OTHER


def title_rank(title: str) -> int:
    """0 = no seniority word in the title, up to 5 = director/chief."""
    for pattern, rank in _TITLE_RANK_RULES:
        if pattern.search(title):
            return rank
    return TITLE_RANK_NONE


# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------
REGION_NORTH_AMERICA = "North America"
REGION_SOUTH_AMERICA = "South America"
REGION_EUROPE = "Europe"
REGION_ASIA = "Asia"
REGION_AFRICA = "Africa"
REGION_OCEANIA = "Oceania"
REGION_ANTARCTICA = "Antarctica"
REGION_UNKNOWN = "Unknown"

# Continent of every ISO 3166-1 alpha-2 code pycountry knows (Central America and the
# Caribbean count as North America, as in the original MLPayGrade continent feature).
_REGION_CODES: dict[str, str] = {
    REGION_AFRICA: (
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY "
        "MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA "
        "ZM ZW"
    ),
    REGION_ASIA: (
        "AE AF AM AZ BD BH BN BT CC CN CX CY GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ "
        "LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE"
    ),
    REGION_EUROPE: (
        "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE "
        "LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA"
    ),
    REGION_NORTH_AMERICA: (
        "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS "
        "MX NI PA PM PR SV SX TC TT UM US VC VG VI"
    ),
    REGION_SOUTH_AMERICA: "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    REGION_OCEANIA: ("AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV VU WF WS"),
    REGION_ANTARCTICA: "AQ BV GS HM TF",
}
COUNTRY_REGION: dict[str, str] = {
    code: region for region, codes in _REGION_CODES.items() for code in codes.split()
}
REGIONS: tuple[str, ...] = (*_REGION_CODES, REGION_UNKNOWN)


def region(country_code: str) -> str:
    """Continent of an ISO alpha-2 code; "Unknown" for codes outside ISO 3166-1."""
    return COUNTRY_REGION.get(country_code.strip().upper(), REGION_UNKNOWN)


def same_country(profile: SalaryProfile) -> bool:
    """Employees paid in the company's own country earn differently from remote hires abroad."""
    return profile.company_location == profile.employee_residence


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


# --------------------------------------------------------------------------------------------
# Target statistics
# --------------------------------------------------------------------------------------------
DEFAULT_SMOOTHING = 10.0
DEFAULT_CV_FOLDS = 5


def _smoothed_means(
    keys: np.ndarray, target: np.ndarray, prior: np.ndarray, smoothing: float
) -> tuple[dict[str, float], dict[str, int]]:
    """Per-key mean of target shrunk towards a per-key prior: rare keys stay near the prior."""
    frame = pd.DataFrame({"key": keys, "target": target, "prior": prior})
    grouped = frame.groupby("key", sort=True).agg(
        total=("target", "sum"), count=("target", "size"), prior=("prior", "mean")
    )
    values = (grouped["total"] + smoothing * grouped["prior"]) / (grouped["count"] + smoothing)
    return (
        {str(k): float(v) for k, v in values.items()},
        {str(k): int(v) for k, v in grouped["count"].items()},
    )


def _lookup(table: Mapping[str, float], keys: Sequence[str], fallback: np.ndarray) -> np.ndarray:
    values = np.array([table.get(key, math.nan) for key in keys], dtype=np.float64)
    missing = np.isnan(values)
    values[missing] = fallback[missing]
    return values


def _profile_columns(data: pd.DataFrame | Sequence[SalaryProfile]) -> dict[str, list]:
    """Columns of raw inputs as plain lists, from a DataFrame or from SalaryProfile objects."""
    if isinstance(data, pd.DataFrame):
        missing = [f for f in PROFILE_FIELDS if f not in data.columns]
        if missing:
            raise KeyError(f"Missing profile columns: {missing}")
        return {field: data[field].tolist() for field in PROFILE_FIELDS}
    return {field: [getattr(p, field) for p in data] for field in PROFILE_FIELDS}


class TargetStatistics:
    """Smoothed mean log-salary per title / family / country, learned from training rows.

    Hierarchical shrinkage: title → its job family → global; country → its region → global.
    """

    def __init__(self, smoothing: float = DEFAULT_SMOOTHING):
        self.smoothing = smoothing
        self.global_mean = 0.0
        self.family: dict[str, float] = {}
        self.title: dict[str, float] = {}
        self.company_region: dict[str, float] = {}
        self.company_country: dict[str, float] = {}
        self.residence_region: dict[str, float] = {}
        self.residence_country: dict[str, float] = {}
        self.title_counts: dict[str, int] = {}

    def fit(self, columns: Mapping[str, Sequence], log_target: np.ndarray) -> TargetStatistics:
        target = np.asarray(log_target, dtype=np.float64)
        self.global_mean = float(target.mean())
        glob = np.full(len(target), self.global_mean)
        titles = np.array([_fold_title(t) for t in columns["job_title"]], dtype=object)
        families = np.array([job_family(t) for t in columns["job_title"]], dtype=object)
        self.family, _ = _smoothed_means(families, target, glob, self.smoothing)
        family_prior = _lookup(self.family, families, glob)
        self.title, self.title_counts = _smoothed_means(
            titles, target, family_prior, self.smoothing
        )
        for prefix, field in (("company", "company_location"), ("residence", "employee_residence")):
            countries = np.array(columns[field], dtype=object)
            regions = np.array([region(c) for c in countries], dtype=object)
            region_table, _ = _smoothed_means(regions, target, glob, self.smoothing)
            region_prior = _lookup(region_table, regions, glob)
            country_table, _ = _smoothed_means(countries, target, region_prior, self.smoothing)
            setattr(self, f"{prefix}_region", region_table)
            setattr(self, f"{prefix}_country", country_table)
        return self

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


def _factorise(values: Sequence) -> tuple[np.ndarray, list]:
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
        """(family code, title rank, title target, family target) — memoised per raw title."""
        cached = self._title_cache.get(title)
        if cached is None:
            stats = self.stats
            family = job_family(title)
            family_value = stats.family.get(family, stats.global_mean)
            title_value = stats.title.get(_fold_title(title), family_value)
            cached = (
                float(FAMILY_CODE[family]),
                float(title_rank(title)),
                title_value,
                family_value,
            )
            self._title_cache[title] = cached
        return cached

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
        title_codes, title_values = _factorise(titles)
        out[:, _TITLE_SLICE] = np.array(
            [self._title_features(t) for t in title_values], dtype=np.float32
        )[title_codes]
        company_codes, companies = _factorise(columns["company_location"])
        out[:, _COMPANY_SLICE] = np.array(
            [self._country_features(c, "company") for c in companies], dtype=np.float32
        )[company_codes]
        residence_codes, residences = _factorise(columns["employee_residence"])
        out[:, _RESIDENCE_SLICE] = np.array(
            [self._country_features(c, "residence") for c in residences], dtype=np.float32
        )[residence_codes]
        for column, table, index in (
            ("experience_level", EXPERIENCE_RANK, _INDEX["experience_rank"]),
            ("employment_type", EMPLOYMENT_CODE, _INDEX["employment_code"]),
            ("company_size", COMPANY_SIZE_RANK, _INDEX["company_size_rank"]),
        ):
            codes, values = _factorise(columns[column])
            out[:, index] = np.array([table.get(v, math.nan) for v in values])[codes]
        out[:, _INDEX["remote_ratio"]] = np.asarray(columns["remote_ratio"], dtype=np.float32)
        out[:, _INDEX["work_year"]] = np.asarray(columns["work_year"], dtype=np.float32)
        same = (
            np.array(companies, dtype=object)[company_codes]
            == np.array(residences, dtype=object)[residence_codes]
        )
        out[:, _INDEX["same_country"]] = same
        return out

    def encode_many(self, data: pd.DataFrame | Sequence[SalaryProfile]) -> np.ndarray:
        return self.encode_columns(_profile_columns(data))

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


# --------------------------------------------------------------------------------------------
# scikit-learn transformer (training side)
# --------------------------------------------------------------------------------------------
class SalaryFeatureTransformer(TransformerMixin, BaseEstimator):
    """Pipeline step: learns target statistics on the rows it is fitted on, and nothing else.

    ``y`` is the natural log of salary in USD (the model's target). ``fit_transform`` returns
    out-of-fold encodings for its own rows (cross-fitting) so the downstream booster does not
    learn to trust a title statistic that already contains the row's own salary.
    """

    def __init__(
        self,
        smoothing: float = DEFAULT_SMOOTHING,
        cv_folds: int = DEFAULT_CV_FOLDS,
        random_state: int = 0,
    ):
        self.smoothing = smoothing
        self.cv_folds = cv_folds
        self.random_state = random_state

    def fit(self, X, y):
        columns = _profile_columns(X)
        log_target = np.asarray(y, dtype=np.float64)
        self.encoder_ = FeatureEncoder(TargetStatistics(self.smoothing).fit(columns, log_target))
        self.n_features_in_ = len(PROFILE_FIELDS)
        self.feature_names_out_ = np.array(FEATURE_NAMES, dtype=object)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        if y is None:
            raise ValueError("SalaryFeatureTransformer needs the salary target to fit.")
        self.fit(X, y)
        columns = _profile_columns(X)
        n_rows = len(columns["job_title"])
        if self.cv_folds < 2 or n_rows < 2 * self.cv_folds:
            return self.encoder_.encode_columns(columns)
        log_target = np.asarray(y, dtype=np.float64)
        out = np.empty((n_rows, len(FEATURE_NAMES)), dtype=np.float32)
        folds = KFold(self.cv_folds, shuffle=True, random_state=self.random_state)
        for fit_idx, held_idx in folds.split(np.arange(n_rows)):
            fit_cols = {k: [v[i] for i in fit_idx] for k, v in columns.items()}
            held_cols = {k: [v[i] for i in held_idx] for k, v in columns.items()}
            stats = TargetStatistics(self.smoothing).fit(fit_cols, log_target[fit_idx])
            out[held_idx] = FeatureEncoder(stats).encode_columns(held_cols)
        return out

    def transform(self, X):
        return self.encoder_.encode_many(X)

    def get_feature_names_out(self, input_features=None):
        return np.array(FEATURE_NAMES, dtype=object)

    def to_spec(self) -> dict:
        """Fitted state as plain JSON-serialisable data."""
        return self.encoder_.to_spec()

    @classmethod
    def from_spec(cls, spec: Mapping) -> SalaryFeatureTransformer:
        encoder = FeatureEncoder.from_spec(spec)
        transformer = cls(smoothing=encoder.stats.smoothing)
        transformer.encoder_ = encoder
        transformer.n_features_in_ = len(PROFILE_FIELDS)
        transformer.feature_names_out_ = np.array(FEATURE_NAMES, dtype=object)
        return transformer


# --------------------------------------------------------------------------------------------
# Linear component: ridge regression on one-hot categories (blended with the booster)
# --------------------------------------------------------------------------------------------
DEFAULT_RIDGE_ALPHA = 1.0
LINEAR_SPEC_FORMAT_VERSION = 1
UNSEEN_COEFFICIENT = 0.0

# Each one-hot group of the linear model and the raw inputs it reads. Interactions of two
# inputs let the linear model express e.g. "senior AND in the US" without the booster.
LINEAR_GROUPS: dict[str, tuple[str, ...]] = {
    "job_title": ("job_title",),
    "job_family": ("job_title",),
    "experience_level": ("experience_level",),
    "employment_type": ("employment_type",),
    "company_location": ("company_location",),
    "employee_residence": ("employee_residence",),
    "remote_ratio": ("remote_ratio",),
    "company_size": ("company_size",),
    "work_year": ("work_year",),
    "company_region": ("company_location",),
    "residence_region": ("employee_residence",),
    "same_country": ("company_location", "employee_residence"),
    "experience_x_us": ("experience_level", "company_location"),
    "family_x_experience": ("job_title", "experience_level"),
    "family_x_us": ("job_title", "company_location"),
    "experience_x_year": ("experience_level", "work_year"),
}


# job_family runs up to a dozen regexes on an unknown title and each linear row needs it three
# times; memoise it (bounded: titles are free text).
_cached_job_family = functools.lru_cache(maxsize=4096)(job_family)


def linear_to_raw_matrix() -> np.ndarray:
    """(n_groups, n_raw_inputs) weights rolling linear-term contributions up to raw inputs."""
    matrix = np.zeros((len(LINEAR_GROUPS), len(RAW_INPUTS)), dtype=np.float64)
    for row, sources in enumerate(LINEAR_GROUPS.values()):
        for source in sources:
            matrix[row, RAW_INPUTS.index(source)] = 1.0 / len(sources)
    return matrix


class LinearComponent:
    """Fitted ridge on one-hot groups; unseen categories contribute 0 (their average).

    Years outside the training range are clipped to it, so a future year is treated as the
    latest year seen rather than as an unknown category.
    """

    def __init__(
        self,
        intercept: float,
        coefficients: Mapping[str, Mapping[str, float]],
        means: Mapping[str, float],
        year_range: tuple[int, int],
    ):
        self.intercept = float(intercept)
        self.coefficients = {g: dict(coefficients.get(g, {})) for g in LINEAR_GROUPS}
        self.means = {g: float(means.get(g, 0.0)) for g in LINEAR_GROUPS}
        self.year_range = (int(year_range[0]), int(year_range[1]))
        self.bias = self.intercept + sum(self.means.values())
        self._mean_vector = np.array([self.means[g] for g in LINEAR_GROUPS], dtype=np.float64)

    def _year(self, year: object) -> str:
        low, high = self.year_range
        return str(min(max(int(year), low), high))

    def key(self, group: str, *values: object) -> str:
        """The one-hot category of ``group`` for raw input values (in LINEAR_GROUPS order)."""
        if group == "job_title":
            return _fold_title(values[0])
        if group == "job_family":
            return _cached_job_family(values[0])
        if group in ("company_region", "residence_region"):
            return region(values[0])
        if group == "work_year":
            return self._year(values[0])
        if group == "same_country":
            return str(values[0] == values[1])
        if group == "experience_x_us":
            return f"{values[0]}|{values[1] == US_CODE}"
        if group == "family_x_experience":
            return f"{_cached_job_family(values[0])}|{values[1]}"
        if group == "family_x_us":
            return f"{_cached_job_family(values[0])}|{values[1] == US_CODE}"
        if group == "experience_x_year":
            return f"{values[0]}|{self._year(values[1])}"
        return str(values[0])

    def terms_one(self, profile: SalaryProfile) -> np.ndarray:
        """(1, n_groups) coefficient of each group for one profile."""
        values = {field: getattr(profile, field) for field in PROFILE_FIELDS}
        row = [
            self.coefficients[group].get(
                self.key(group, *(values[s] for s in sources)), UNSEEN_COEFFICIENT
            )
            for group, sources in LINEAR_GROUPS.items()
        ]
        return np.array([row], dtype=np.float64)

    def terms_columns(self, columns: Mapping[str, Sequence]) -> np.ndarray:
        """(n, n_groups) coefficients, vectorised: keys computed once per distinct value/pair."""
        n_rows = len(columns["job_title"])
        out = np.empty((n_rows, len(LINEAR_GROUPS)), dtype=np.float64)
        factorised = {field: _factorise(columns[field]) for field in PROFILE_FIELDS}
        for index, (group, sources) in enumerate(LINEAR_GROUPS.items()):
            table = self.coefficients[group]
            if len(sources) == 1:
                codes, values = factorised[sources[0]]
                lookup = np.array(
                    [table.get(self.key(group, v), UNSEEN_COEFFICIENT) for v in values],
                    dtype=np.float64,
                )
                out[:, index] = lookup[codes] if len(values) else 0.0
                continue
            (codes_a, values_a), (codes_b, values_b) = (factorised[s] for s in sources)
            width = max(len(values_b), 1)
            pairs, inverse = np.unique(codes_a * width + codes_b, return_inverse=True)
            lookup = np.array(
                [
                    table.get(
                        self.key(group, values_a[p // width], values_b[p % width]),
                        UNSEEN_COEFFICIENT,
                    )
                    for p in pairs.tolist()
                ],
                dtype=np.float64,
            )
            out[:, index] = lookup[inverse] if len(pairs) else 0.0
        return out

    def terms_many(self, data: pd.DataFrame | Sequence[SalaryProfile]) -> np.ndarray:
        return self.terms_columns(_profile_columns(data))

    def predict_terms(self, terms: np.ndarray) -> np.ndarray:
        """Log-salary prediction from group coefficients."""
        return self.intercept + terms.sum(axis=1)

    def centred(self, terms: np.ndarray) -> np.ndarray:
        """Per-group contributions relative to the average training row (they sum with
        ``bias`` to the prediction)."""
        return terms - self._mean_vector

    def to_spec(self) -> dict:
        return {
            "format_version": LINEAR_SPEC_FORMAT_VERSION,
            "groups": list(LINEAR_GROUPS),
            "intercept": self.intercept,
            "coefficients": self.coefficients,
            "means": self.means,
            "year_range": list(self.year_range),
        }

    @classmethod
    def from_spec(cls, spec: Mapping) -> LinearComponent:
        if spec.get("format_version") != LINEAR_SPEC_FORMAT_VERSION:
            raise ValueError(f"Unsupported linear format: {spec.get('format_version')!r}")
        if list(spec.get("groups", [])) != list(LINEAR_GROUPS):
            raise ValueError("Linear groups do not match this code version.")
        coefficients = {
            str(g): {str(k): float(v) for k, v in table.items()}
            for g, table in spec["coefficients"].items()
        }
        low, high = spec["year_range"]
        return cls(float(spec["intercept"]), coefficients, spec["means"], (int(low), int(high)))


def fit_linear_component(
    data: pd.DataFrame, log_target: np.ndarray, alpha: float = DEFAULT_RIDGE_ALPHA
) -> LinearComponent:
    """Ridge on one-hot groups, fitted on the given (training) rows only."""
    columns = _profile_columns(data)
    years = [int(y) for y in columns["work_year"]]
    probe = LinearComponent(0.0, {}, {}, (min(years), max(years)))
    n_rows = len(years)
    rows, cols, vocabularies = [], [], {}
    offset = 0
    for group, sources in LINEAR_GROUPS.items():
        keys = [
            probe.key(group, *vals) for vals in zip(*(columns[s] for s in sources), strict=True)
        ]
        vocabulary = {key: i for i, key in enumerate(sorted(set(keys)))}
        vocabularies[group] = (offset, vocabulary)
        rows.extend(range(n_rows))
        cols.extend(offset + vocabulary[key] for key in keys)
        offset += len(vocabulary)
    design = sparse.csr_matrix(
        (np.ones(len(rows)), (np.array(rows), np.array(cols))), shape=(n_rows, offset)
    )
    ridge = Ridge(alpha=alpha).fit(design, np.asarray(log_target, dtype=np.float64))
    coefficients = {
        group: {key: float(ridge.coef_[start + i]) for key, i in vocabulary.items()}
        for group, (start, vocabulary) in vocabularies.items()
    }
    fitted = LinearComponent(float(ridge.intercept_), coefficients, {}, probe.year_range)
    terms = fitted.terms_columns(columns)
    means = dict(zip(LINEAR_GROUPS, terms.mean(axis=0).tolist(), strict=True))
    return LinearComponent(float(ridge.intercept_), coefficients, means, probe.year_range)
