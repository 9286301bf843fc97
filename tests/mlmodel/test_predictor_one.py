"""predict_one's single-row fast path gives exactly what the vectorised code gives."""

import math

import numpy as np
import pytest

from mlmodel import predictor as predictor_module
from mlmodel.artifacts import load_predictor, sha256_hex
from mlmodel.demo_data import make_demo_dataframe
from mlmodel.features import RAW_INPUTS
from mlmodel.predictor import (
    CONTRIBUTION_DECIMALS,
    PointPrediction,
    Predictor,
    _public_one_row,
)
from mlmodel.profile import PROFILE_FIELDS, max_work_year, parse_profile

UNUSUAL = [
    {"job_title": "Chief Vibes Officer", "company_location": "TV", "employee_residence": "AQ"},
    {"job_title": "Senior Llama Herder", "remote_ratio": 50, "work_year": 2020},
    {"job_title": "data   scientist", "work_year": max_work_year(), "company_size": "S"},
    {"job_title": "Head of ML", "experience_level": "EX", "employment_type": "FL"},
    {"job_title": "Bear Robotics", "company_location": "KP", "employee_residence": "VA"},
    {"job_title": "xyz", "experience_level": "EN", "employment_type": "PT", "remote_ratio": 50},
]
BASE = {
    "job_title": "Data Scientist",
    "experience_level": "SE",
    "employment_type": "FT",
    "company_location": "US",
    "employee_residence": "US",
    "remote_ratio": 0,
    "company_size": "M",
    "work_year": 2024,
}


@pytest.fixture(scope="module")
def predictor(trained_demo_artifact) -> Predictor:
    blob, _ = trained_demo_artifact
    return load_predictor(blob, sha256_hex(blob))


@pytest.fixture(scope="module")
def profiles():
    frame = make_demo_dataframe(250, seed=5)
    rows = frame[list(PROFILE_FIELDS)].to_dict("records")
    return [parse_profile(row) for row in rows] + [
        parse_profile({**BASE, **extra}) for extra in UNUSUAL
    ]


def reference(predictor: Predictor, profile) -> PointPrediction:
    """The vectorised code on a one-row batch: what predict_one computed before its fast path."""
    batch = predictor.predict_many([profile], with_contributions=True)
    ranked = sorted(
        zip(RAW_INPUTS, batch.contributions_usd[0].tolist(), strict=True),
        key=lambda item: -abs(item[1]),
    )
    return PointPrediction(
        estimate_usd=int(batch.estimate_usd[0]),
        interval_low_usd=int(batch.interval_low_usd[0]),
        interval_high_usd=int(batch.interval_high_usd[0]),
        interval_level=predictor.interval_level,
        baseline_usd=round(float(batch.baseline_usd[0]), CONTRIBUTION_DECIMALS),
        contributions=[(name, round(usd, CONTRIBUTION_DECIMALS)) for name, usd in ranked],
    )


def test_predict_one_identical_to_vectorised_code(predictor, profiles):
    for profile in profiles:
        assert predictor.predict_one(profile) == reference(predictor, profile), profile


def test_c_api_path_is_used_and_matches_public_api(predictor, profiles):
    assert isinstance(predictor._one_row, predictor_module._CApiOneRow)
    for profile in profiles[:100]:
        row = predictor.encoder.encode_one(profile)
        public = _public_one_row(predictor._point_single, predictor._quantile_single, row)
        assert predictor._one_row(row) == public


def test_public_api_path_gives_the_same_predictions(predictor, profiles, monkeypatch):
    expected = [predictor.predict_one(profile) for profile in profiles[:60]]
    monkeypatch.setattr(predictor_module, "_XGB_LIB", None)
    blob_predictor = Predictor(
        predictor.encoder,
        bytes(predictor._point_single.save_raw("ubj")),
        bytes(predictor._quantile_single.save_raw("ubj")),
        predictor.conformal_offset,
        predictor.interval_level,
        linear=predictor.linear,
        linear_weight=predictor.linear_weight,
    )
    assert not isinstance(blob_predictor._one_row, predictor_module._CApiOneRow)
    assert [blob_predictor.predict_one(profile) for profile in profiles[:60]] == expected


def test_vectorised_fallback_gives_the_same_predictions(predictor, profiles, monkeypatch):
    expected = [predictor.predict_one(profile) for profile in profiles[:60]]
    monkeypatch.setattr(Predictor, "_one_from_outputs", lambda self, outputs, terms: None)
    assert [predictor.predict_one(profile) for profile in profiles[:60]] == expected


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 800.0])
def test_fast_path_declines_non_finite_or_huge_values(predictor, profiles, bad):
    profile = profiles[0]
    outputs = predictor._one_row(predictor.encoder.encode_one(profile))
    terms = predictor.linear.terms_one(profile) if predictor.linear is not None else None
    assert predictor._one_from_outputs(outputs, terms) is not None
    log_point, low, high, contribs = outputs
    assert predictor._one_from_outputs((bad, low, high, contribs), terms) is None
    assert predictor._one_from_outputs((log_point, low, bad, contribs), terms) is None


def test_c_api_path_rejects_wrong_rows(predictor):
    n_features = len(predictor.feature_names)
    with pytest.raises(ValueError):
        predictor._one_row(np.zeros((2, n_features), dtype=np.float32))
    with pytest.raises(ValueError):
        predictor._one_row(np.zeros((1, n_features), dtype=np.float64))
