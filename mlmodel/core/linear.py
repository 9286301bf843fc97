"""The linear component of the point estimate, serving half: ridge coefficients per one-hot
category (and a few two-input interactions), read from JSON and blended with the booster in
log space. Fitting lives in ``mlmodel.core.train.linear_fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mlmodel.core.encoding import RAW_INPUTS, factorise, profile_columns
from mlmodel.core.profile import PROFILE_FIELDS, SalaryProfile
from mlmodel.core.taxonomy import US_CODE, job_family, region, title_key

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
            return title_key(values[0])
        if group == "job_family":
            return job_family(values[0])
        if group in ("company_region", "residence_region"):
            return region(values[0])
        if group == "work_year":
            return self._year(values[0])
        if group == "same_country":
            return str(values[0] == values[1])
        if group == "experience_x_us":
            return f"{values[0]}|{values[1] == US_CODE}"
        if group == "family_x_experience":
            return f"{job_family(values[0])}|{values[1]}"
        if group == "family_x_us":
            return f"{job_family(values[0])}|{values[1] == US_CODE}"
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
        factorised = {field: factorise(columns[field]) for field in PROFILE_FIELDS}
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

    def terms_many(self, data: object) -> np.ndarray:
        return self.terms_columns(profile_columns(data))

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
