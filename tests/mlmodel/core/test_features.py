"""Feature functions, the JSON-serialisable transformer and its train-only fitted state."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pycountry
import pytest

from mlmodel.core.encoding import (
    FEATURE_NAMES,
    FEATURE_SOURCES,
    RAW_INPUTS,
    FeatureEncoder,
    TargetStatistics,
    feature_to_raw_matrix,
)
from mlmodel.core.linear import (
    LINEAR_GROUPS,
    LinearComponent,
    linear_to_raw_matrix,
)
from mlmodel.core.profile import PROFILE_FIELDS, parse_profile
from mlmodel.core.taxonomy import (
    FAMILY_DATA_ANALYSIS,
    FAMILY_LEADERSHIP,
    FAMILY_ML_ENGINEERING,
    FAMILY_OTHER,
    FAMILY_RESEARCH,
    GENERIC_TITLES,
    JOB_FAMILIES,
    KNOWN_JOB_TITLES,
    REGION_UNKNOWN,
    REGIONS,
    TITLE_FAMILY,
    job_family,
    region,
    title_rank,
)
from mlmodel.core.train.data import deduplicate, load_csv
from mlmodel.core.train.demo_data import make_demo_dataframe
from mlmodel.core.train.linear_fit import (
    fit_linear_component,
)
from mlmodel.core.train.transformer import (
    SalaryFeatureTransformer,
)

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared/data/salaries.csv"
REAL_TITLE_COUNT = 155


def real_data_path() -> Path:
    return Path(os.environ.get("SALARIES_CSV", DEFAULT_DATA))


def test_known_titles_are_the_155_real_ones_each_with_an_explicit_family():
    assert len(KNOWN_JOB_TITLES) == REAL_TITLE_COUNT
    assert sorted(KNOWN_JOB_TITLES, key=str.casefold) == KNOWN_JOB_TITLES
    for title in KNOWN_JOB_TITLES:
        assert job_family(title) == TITLE_FAMILY[title] != FAMILY_OTHER
        assert job_family(f"  {title.upper()} ") == TITLE_FAMILY[title]


@pytest.mark.real_data
def test_every_real_title_is_mapped_explicitly():
    path = real_data_path()
    if not path.exists():
        pytest.skip(f"real salaries file not found at {path} (set SALARIES_CSV)")
    titles = set(pd.read_csv(path, usecols=["job_title"])["job_title"])
    assert titles == set(KNOWN_JOB_TITLES)


@pytest.mark.real_data
def test_the_generic_titles_evidence_is_the_real_datas_counts():
    path = real_data_path()
    if not path.exists():
        pytest.skip(f"real salaries file not found at {path} (set SALARIES_CSV)")
    titles = deduplicate(load_csv(path))["job_title"].str.casefold()
    for generic in GENERIC_TITLES.values():
        # when
        has_word = titles.str.contains(rf"\b{generic.word}\b", regex=True)
        in_family = titles[has_word].map(job_family) == generic.family
        # then
        assert (int(in_family.sum()), int(has_word.sum())) == (generic.in_family, generic.rows)


@pytest.mark.parametrize(
    ("title", "family"),
    [
        ("Senior LLM Engineer", FAMILY_ML_ENGINEERING),
        ("VP of Data", FAMILY_LEADERSHIP),
        ("Generative AI Scientist", FAMILY_RESEARCH),
        ("Marketing Analyst", FAMILY_DATA_ANALYSIS),
        ("Chief Llama Whisperer", FAMILY_OTHER),
        ("Barista", FAMILY_OTHER),
        ("", FAMILY_OTHER),
    ],
)
def test_keyword_rules_for_unknown_titles(title, family):
    assert job_family(title) == family
    assert family in JOB_FAMILIES


def test_title_rank_orders_seniority_words():
    assert title_rank("Data Scientist") == 0
    assert 0 < title_rank("Lead Data Scientist") < title_rank("Principal Data Scientist")
    assert title_rank("Data Science Manager") < title_rank("Head of Data")
    assert title_rank("Head of Data") < title_rank("Director of Data Science")


def test_region_covers_every_iso_code():
    for country in pycountry.countries:
        assert region(country.alpha_2) in REGIONS
        assert region(country.alpha_2) != REGION_UNKNOWN, country.alpha_2
    assert region("us") == "North America"
    assert region("DE") == "Europe"
    assert region("XX") == REGION_UNKNOWN


def test_same_country_flag():
    base = {
        "job_title": "Data Scientist",
        "experience_level": "SE",
        "employment_type": "FT",
        "remote_ratio": 0,
        "company_size": "M",
        "work_year": 2024,
    }
    home = parse_profile({**base, "company_location": "US", "employee_residence": "US"})
    abroad = parse_profile({**base, "company_location": "US", "employee_residence": "DE"})
    encoder = FeatureEncoder(TargetStatistics(smoothing=10.0))
    column = FEATURE_NAMES.index("same_country")
    assert encoder.encode_one(home)[0, column] == 1.0
    assert encoder.encode_one(abroad)[0, column] == 0.0


def test_feature_to_raw_matrix_splits_each_feature_fully():
    matrix = feature_to_raw_matrix()
    assert matrix.shape == (len(FEATURE_NAMES), len(RAW_INPUTS))
    assert np.allclose(matrix.sum(axis=1), 1.0)
    assert set(RAW_INPUTS) == set(PROFILE_FIELDS)
    assert {source for sources in FEATURE_SOURCES.values() for source in sources} == set(RAW_INPUTS)


@pytest.fixture(scope="module")
def demo_split():
    frame = make_demo_dataframe(3000, seed=7)
    train = frame[frame["work_year"] <= 2022].reset_index(drop=True)
    test = frame[frame["work_year"] == 2024].reset_index(drop=True)
    return train, test


def _fitted(train):
    transformer = SalaryFeatureTransformer(random_state=0)
    transformer.fit(train[list(PROFILE_FIELDS)], np.log(train["salary_in_usd"]))
    return transformer


def test_fitted_state_holds_only_training_categories(demo_split):
    train, test = demo_split
    test = test.copy()
    test.loc[0, "job_title"] = "Quantum Prompt Sommelier"
    test.loc[0, "company_location"] = "NZ"
    assert "NZ" not in set(train["company_location"])
    spec = _fitted(train).to_spec()
    stats = spec["target_statistics"]
    assert "quantum prompt sommelier" not in stats["title"]
    assert "NZ" not in stats["company_country"]
    assert set(stats["company_country"]) == set(train["company_location"])
    assert sum(stats["title_counts"].values()) == len(train)
    # An unseen category still encodes (to its family / region prior), never NaN.
    encoded = FeatureEncoder.from_spec(spec).encode_many(test.iloc[:1])
    assert np.isfinite(encoded).all()


def test_spec_is_plain_json_and_round_trips_exactly(demo_split):
    train, test = demo_split
    transformer = _fitted(train)
    spec = json.loads(json.dumps(transformer.to_spec()))
    restored = SalaryFeatureTransformer.from_spec(spec)
    original = transformer.transform(test[list(PROFILE_FIELDS)])
    assert np.array_equal(original, restored.transform(test[list(PROFILE_FIELDS)]))
    assert original.dtype == np.float32
    assert original.shape == (len(test), len(FEATURE_NAMES))


def test_encode_one_matches_vectorised_encoding(demo_split):
    train, test = demo_split
    encoder = _fitted(train).encoder_
    profiles = [parse_profile(row) for row in test[list(PROFILE_FIELDS)].to_dict("records")]
    rows = np.vstack([encoder.encode_one(p) for p in profiles[:200]])
    assert np.array_equal(rows, encoder.encode_many(profiles[:200]))
    assert np.array_equal(rows, encoder.encode_many(test.iloc[:200]))
    assert encoder.encode_many([]).shape == (0, len(FEATURE_NAMES))


def test_fit_transform_is_out_of_fold(demo_split):
    """A row's own salary must not reach its encoded title statistic during training."""
    train, _ = demo_split
    transformer = SalaryFeatureTransformer(random_state=0)
    log_y = np.log(train["salary_in_usd"].to_numpy())
    out_of_fold = transformer.fit_transform(train[list(PROFILE_FIELDS)], log_y)
    in_sample = transformer.transform(train[list(PROFILE_FIELDS)])
    column = FEATURE_NAMES.index("title_target")
    assert not np.allclose(out_of_fold[:, column], in_sample[:, column])
    again = SalaryFeatureTransformer(random_state=0).fit_transform(
        train[list(PROFILE_FIELDS)], log_y
    )
    assert np.array_equal(out_of_fold, again)


def test_from_spec_rejects_other_versions(demo_split):
    spec = _fitted(demo_split[0]).to_spec()
    with pytest.raises(ValueError):
        FeatureEncoder.from_spec({**spec, "format_version": 999})
    with pytest.raises(ValueError):
        FeatureEncoder.from_spec({**spec, "feature_names": ["a", "b"]})


def test_linear_component_learns_only_training_categories(demo_split):
    train, test = demo_split
    linear = fit_linear_component(train, np.log(train["salary_in_usd"]))
    assert set(linear.coefficients["company_location"]) == set(train["company_location"])
    assert linear.year_range == (2020, 2022)
    spec = json.loads(json.dumps(linear.to_spec()))
    restored = LinearComponent.from_spec(spec)
    assert np.array_equal(restored.terms_many(test), linear.terms_many(test))
    profiles = [parse_profile(row) for row in test[list(PROFILE_FIELDS)].to_dict("records")]
    one_by_one = np.vstack([linear.terms_one(p) for p in profiles[:200]])
    assert np.array_equal(one_by_one, linear.terms_many(profiles[:200]))
    terms = linear.terms_many(test)
    assert np.allclose(linear.predict_terms(terms), linear.bias + linear.centred(terms).sum(1))


def test_linear_component_unseen_values_and_future_years(demo_split):
    train, _ = demo_split
    linear = fit_linear_component(train, np.log(train["salary_in_usd"]))
    base = {
        "job_title": "Data Scientist",
        "experience_level": "SE",
        "employment_type": "FT",
        "company_location": "US",
        "employee_residence": "US",
        "remote_ratio": 0,
        "company_size": "M",
    }
    latest = linear.terms_one(parse_profile({**base, "work_year": 2022}))
    future = linear.terms_one(parse_profile({**base, "work_year": 2026}))
    assert np.array_equal(latest, future)
    unseen = linear.terms_one(parse_profile({**base, "job_title": "Zookeeper", "work_year": 2022}))
    assert unseen[0, list(LINEAR_GROUPS).index("job_title")] == 0.0
    assert np.allclose(linear_to_raw_matrix().sum(axis=1), 1.0)
