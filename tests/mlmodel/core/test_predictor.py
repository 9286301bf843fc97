"""predict_one's single-row fast path gives exactly what the vectorised code gives."""

import math

import pytest

from mlmodel.core.artifacts import load_predictor, sha256_hex
from mlmodel.core.encoding import RAW_INPUTS
from mlmodel.core.predictor import (
    CONTRIBUTION_DECIMALS,
    PointPrediction,
    Predictor,
    _one_row_outputs,
)
from mlmodel.core.profile import EXAMPLE_PROFILE, PROFILE_FIELDS, max_work_year, parse_profile
from mlmodel.core.taxonomy import match_title
from mlmodel.core.train.demo_data import make_demo_dataframe

UNUSUAL = [
    {"job_title": "Chief Vibes Officer", "company_location": "TV", "employee_residence": "AQ"},
    {"job_title": "Senior Llama Herder", "remote_ratio": 50, "work_year": 2020},
    {"job_title": "data   scientist", "work_year": max_work_year(), "company_size": "S"},
    {"job_title": "Head of ML", "experience_level": "EX", "employment_type": "FL"},
    {"job_title": "Bear Robotics", "company_location": "KP", "employee_residence": "VA"},
    {"job_title": "xyz", "experience_level": "EN", "employment_type": "PT", "remote_ratio": 50},
]
BASE = EXAMPLE_PROFILE.as_dict()


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
        title_match=match_title(profile.job_title),
    )


def test_predict_one_identical_to_vectorised_code(predictor, profiles):
    for profile in profiles:
        assert predictor.predict_one(profile) == reference(predictor, profile), profile


def test_vectorised_fallback_gives_the_same_predictions(predictor, profiles, monkeypatch):
    expected = [predictor.predict_one(profile) for profile in profiles[:60]]
    monkeypatch.setattr(Predictor, "_one_from_outputs", lambda self, *args: None)
    assert [predictor.predict_one(profile) for profile in profiles[:60]] == expected


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 800.0])
def test_fast_path_declines_non_finite_or_huge_values(predictor, profiles, bad):
    profile = profiles[0]
    row = predictor.encoder.encode_one(profile)
    outputs = _one_row_outputs(predictor._point_single, predictor._quantile_single, row)
    terms = predictor.linear.terms_one(profile) if predictor.linear is not None else None
    extra = (match_title(profile.job_title), predictor.conformal_offset)
    assert predictor._one_from_outputs(outputs, terms, *extra) is not None
    log_point, low, high, contribs = outputs
    assert predictor._one_from_outputs((bad, low, high, contribs), terms, *extra) is None
    assert predictor._one_from_outputs((log_point, low, bad, contribs), terms, *extra) is None


def test_batch_threads_change_the_speed_never_the_answers(trained_demo_artifact, profiles):
    # given the same artifact loaded for one libxgboost thread and for two
    blob, _ = trained_demo_artifact
    one = load_predictor(blob, sha256_hex(blob), batch_threads=1)
    two = load_predictor(blob, sha256_hex(blob), batch_threads=2)

    # when both score the same batch
    a = one.predict_many(profiles, with_contributions=True)
    b = two.predict_many(profiles, with_contributions=True)

    # then they answer identically
    assert (one.batch_threads, two.batch_threads) == (1, 2)
    assert a.estimate_usd.tolist() == b.estimate_usd.tolist()
    assert a.interval_low_usd.tolist() == b.interval_low_usd.tolist()
    assert a.interval_high_usd.tolist() == b.interval_high_usd.tolist()
    assert a.contributions_usd.tolist() == b.contributions_usd.tolist()
