"""Synthetic demo salaries: deterministic, valid rows, realistic aggregates."""

import pytest

from mlmodel.core.profile import DATASET_COLUMNS, parse_salary_row
from mlmodel.core.taxonomy import KNOWN_JOB_TITLES
from mlmodel.core.train.demo_data import TARGET_MEDIAN_USD, make_demo_dataframe

MEDIAN_TOLERANCE = 0.10
US_SHARE_RANGE = (0.75, 0.85)
RECENT_YEARS_MIN_SHARE = 0.75


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataframe(6000, seed=123)


def test_columns_and_determinism(demo):
    assert list(demo.columns) == list(DATASET_COLUMNS)
    assert len(demo) == 6000
    assert make_demo_dataframe(6000, seed=123).equals(demo)
    assert not make_demo_dataframe(6000, seed=124).equals(demo)
    assert make_demo_dataframe(0, seed=1).empty


@pytest.mark.parametrize("seed", [0, 123, 999])
@pytest.mark.parametrize("level", list(TARGET_MEDIAN_USD))
def test_medians_by_experience_level(level, seed):
    frame = make_demo_dataframe(4000, seed=seed)
    median = frame.loc[frame["experience_level"] == level, "salary_in_usd"].median()
    assert median == pytest.approx(TARGET_MEDIAN_USD[level], rel=MEDIAN_TOLERANCE)


def test_aggregate_shape(demo):
    us_share = (demo["company_location"] == "US").mean()
    assert US_SHARE_RANGE[0] <= us_share <= US_SHARE_RANGE[1]
    assert set(demo["work_year"]) == {2020, 2021, 2022, 2023, 2024}
    assert demo["work_year"].isin([2023, 2024]).mean() >= RECENT_YEARS_MIN_SHARE
    assert set(demo["job_title"]) <= set(KNOWN_JOB_TITLES)
    assert set(demo["remote_ratio"]) == {0, 50, 100}
    assert set(demo["company_size"]) == {"S", "M", "L"}
    assert set(demo["experience_level"]) == set(TARGET_MEDIAN_USD)


def test_every_row_passes_validation(demo):
    for row in demo.to_dict("records"):
        parse_salary_row(row)


def test_negative_rows_rejected():
    with pytest.raises(ValueError):
        make_demo_dataframe(-1)
