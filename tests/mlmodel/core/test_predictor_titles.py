"""Predictions say how their title was read; unknown titles get no title effect, a wider margin."""

import copy
import dataclasses
import math

import pytest

from mlmodel.core import predictor as predictor_module
from mlmodel.core.artifacts import load_predictor, read_bundle, sha256_hex
from mlmodel.core.encoding import FeatureEncoder, TargetStatistics
from mlmodel.core.predictor import (
    GROUP_SEEN_TITLE,
    GROUP_UNKNOWN_TITLE,
    GROUP_UNSEEN_TITLE,
    Predictor,
)
from mlmodel.core.profile import EXAMPLE_PROFILE, PROFILE_FIELDS, parse_profile
from mlmodel.core.taxonomy import (
    MATCH_EXACT,
    MATCH_FAMILY_RULE,
    MATCH_NORMALISED,
    MATCH_UNKNOWN,
    UNKNOWN_TREATED_AS,
    match_title,
)
from mlmodel.core.train.demo_data import make_demo_dataframe

NONSENSE = ["Chief Vibes Officer", "<script>alert(1)</script>", "Barista", "xyz", "?"]
RULE_MAPPED = ["Software Engineer", "Head of Marketing", "Manager", "Director", "Engineer"]
TITLES = ["Data Scientist", "Sr. ML Eng.", *RULE_MAPPED, *NONSENSE]


@pytest.fixture(scope="module")
def predictor(trained_demo_artifact) -> Predictor:
    blob, _ = trained_demo_artifact
    return load_predictor(blob, sha256_hex(blob))


@pytest.fixture(scope="module")
def demo_profiles():
    frame = make_demo_dataframe(120, seed=11)
    return [parse_profile(row) for row in frame[list(PROFILE_FIELDS)].to_dict("records")]


def _with_title(profile, title):
    return dataclasses.replace(profile, job_title=title)


def test_one_row_prediction_says_how_the_title_was_read(predictor):
    expected = {
        "Data Scientist": (MATCH_EXACT, "Data Scientist"),
        "Sr. ML Eng.": (MATCH_NORMALISED, "Machine Learning Engineer"),
        "Software Engineer": (MATCH_FAMILY_RULE, "Machine Learning Engineering"),
        "Chief Vibes Officer": (MATCH_UNKNOWN, UNKNOWN_TREATED_AS),
    }
    for title, (kind, treated_as) in expected.items():
        # when
        prediction = predictor.predict_one(_with_title(EXAMPLE_PROFILE, title))
        # then
        assert (prediction.title_match.kind, prediction.title_match.treated_as) == (
            kind,
            treated_as,
        )
        assert prediction.as_dict()["title_match"]["kind"] == kind


@pytest.mark.parametrize("with_contributions", [False, True])
def test_batch_carries_kind_and_treated_as_per_row_and_matches_one_row(
    predictor, with_contributions
):
    # given
    profiles = [_with_title(EXAMPLE_PROFILE, title) for title in TITLES]
    # when
    batch = predictor.predict_many(profiles, with_contributions=with_contributions)
    # then
    singles = [predictor.predict_one(profile) for profile in profiles]
    assert list(batch.title_match_kind) == [p.title_match.kind for p in singles]
    assert list(batch.title_treated_as) == [p.title_match.treated_as for p in singles]
    assert batch.estimate_usd.tolist() == [p.estimate_usd for p in singles]
    assert batch.interval_low_usd.tolist() == [p.interval_low_usd for p in singles]
    assert batch.interval_high_usd.tolist() == [p.interval_high_usd for p in singles]
    if with_contributions:
        names = list(batch.raw_feature_names)
        for row, single in enumerate(singles):
            usd = dict(zip(names, batch.contributions_usd[row].tolist(), strict=True))
            assert usd == pytest.approx(dict(single.contributions), abs=0.01)
            total = batch.baseline_usd[row] + batch.contributions_usd[row].sum()
            assert total == pytest.approx(batch.estimate_usd[row], abs=1e-6)


def test_nonsense_titles_get_no_more_title_effect_than_the_overall_mean(predictor, demo_profiles):
    # given
    profiles = [_with_title(p, title) for p in demo_profiles for title in NONSENSE]
    # when
    batch = predictor.predict_many(profiles, with_contributions=True)
    # then
    title_usd = batch.contributions_usd[:, list(batch.raw_feature_names).index("job_title")]
    assert set(batch.title_match_kind) == {MATCH_UNKNOWN}
    assert (title_usd <= 0.0).all()
    for profile in profiles[:: len(NONSENSE) * 10]:
        assert dict(predictor.predict_one(profile).contributions)["job_title"] <= 0.0


def test_unknown_titles_get_the_widest_calibrated_margin(predictor, demo_profiles):
    # given
    offsets = predictor.group_offsets
    # then
    assert offsets[GROUP_UNKNOWN_TITLE] >= max(
        offsets[GROUP_SEEN_TITLE], offsets[GROUP_UNSEEN_TITLE]
    )
    assert predictor.calibration_group("Chief Vibes Officer") == GROUP_UNKNOWN_TITLE
    assert predictor.calibration_group("Data Scientist") == GROUP_SEEN_TITLE


def test_a_dataset_title_the_training_rows_lacked_is_in_the_unseen_group(predictor):
    # given: the same model, its statistics without one dataset title
    stats = TargetStatistics.from_spec(predictor.encoder.stats.to_spec())
    del stats.title["research scientist"]
    lacking = copy.copy(predictor)
    lacking.encoder = FeatureEncoder(stats)
    # when
    prediction = lacking.predict_one(_with_title(EXAMPLE_PROFILE, "Research Scientist"))
    # then
    assert lacking.calibration_group("Research Scientist") == GROUP_UNSEEN_TITLE
    assert predictor.calibration_group("Research Scientist") == GROUP_SEEN_TITLE
    assert prediction.title_match.kind == MATCH_EXACT


def _width(predictor: Predictor, profile) -> int:
    prediction = predictor.predict_one(profile)
    return prediction.interval_high_usd - prediction.interval_low_usd


def test_group_offsets_widen_only_their_own_rows(trained_demo_artifact):
    # given
    blob, _ = trained_demo_artifact
    bundle, _manifest = read_bundle(blob, sha256_hex(blob))

    def with_offsets(unknown: float) -> Predictor:
        offsets = {GROUP_SEEN_TITLE: 0.0, GROUP_UNSEEN_TITLE: 0.0, GROUP_UNKNOWN_TITLE: unknown}
        calibration = {**bundle.calibration, "group_offsets": offsets}
        return Predictor.from_bundle(dataclasses.replace(bundle, calibration=calibration))

    plain, widened = with_offsets(0.0), with_offsets(0.5)
    known, nonsense = (_with_title(EXAMPLE_PROFILE, t) for t in ("Data Scientist", "xyz"))
    # then
    assert _width(widened, nonsense) > _width(plain, nonsense)
    assert _width(widened, known) == _width(plain, known)


def _log_title_effect(prediction) -> float:
    """The job-title contribution back in log dollars (contributions scale log ones by the
    logarithmic mean of estimate and baseline)."""
    estimate, baseline = prediction.estimate_usd, prediction.baseline_usd
    usd = dict(prediction.contributions)["job_title"]
    return usd * (math.log(estimate) - math.log(baseline)) / (estimate - baseline)


@pytest.mark.parametrize("title", ["Software Engineer", "Head of Marketing", "Director"])
def test_a_title_mapped_by_rule_keeps_only_its_weight_of_the_title_effect(
    predictor, monkeypatch, title
):
    # given: the same title as if its rule were fully trusted (weight 1)
    match = match_title(title)
    assert match.kind == MATCH_FAMILY_RULE and match.weight < 1.0
    profile = _with_title(EXAMPLE_PROFILE, title)
    shrunk = predictor.predict_one(profile)
    monkeypatch.setattr(
        predictor_module, "match_title", lambda t: dataclasses.replace(match_title(t), weight=1.0)
    )
    # when
    full = predictor.predict_one(profile)
    # then: `weight` of the log effect stays; the estimate and both ends move by the rest
    full_effect, kept_effect = _log_title_effect(full), _log_title_effect(shrunk)
    assert abs(full_effect) > 0.02
    assert kept_effect == pytest.approx(match.weight * full_effect, abs=1e-4)
    taken_out = (1.0 - match.weight) * full_effect
    for end in ("estimate_usd", "interval_low_usd", "interval_high_usd"):
        moved = math.log(getattr(full, end)) - math.log(getattr(shrunk, end))
        assert moved == pytest.approx(taken_out, abs=1e-4)


def test_the_encoder_gives_a_rule_mapped_title_its_familys_statistic_unshrunk(predictor):
    # given: the predictor shrinks the whole title effect, so the encoder must not shrink too
    stats = predictor.encoder.stats
    match = match_title("Head of Marketing")
    # when
    row = predictor.encoder.encode_one(_with_title(EXAMPLE_PROFILE, "Head of Marketing"))[0]
    # then
    family_target = row[list(predictor.feature_names).index("family_target")]
    assert family_target == pytest.approx(stats.family[match.family], rel=1e-6)
    assert stats.family[match.family] != pytest.approx(stats.global_mean, abs=1e-3)


def test_a_rule_mapped_title_the_training_rows_had_keeps_all_of_its_effect(predictor):
    # given: the same model, its statistics with rows titled "Manager" (imported, feedback)
    stats = TargetStatistics.from_spec(predictor.encoder.stats.to_spec())
    stats.title["manager"] = stats.family[match_title("Manager").family] + 0.1
    having = copy.copy(predictor)
    having.encoder = FeatureEncoder(stats)
    profile = _with_title(EXAMPLE_PROFILE, "Manager")
    # when
    seen, unseen = having.predict_one(profile), predictor.predict_one(profile)
    # then
    assert having.title_reading("Manager").weight == 1.0 == seen.title_match.weight
    assert unseen.title_match.weight == match_title("Manager").weight < 1.0
    batch = having.predict_many([profile])
    assert batch.estimate_usd.tolist() == [seen.estimate_usd]


def test_an_unknown_titles_seniority_words_do_not_count(predictor):
    # given: unknown titles with and without seniority words ("?" is the calibration's probe)
    profiles = [
        _with_title(EXAMPLE_PROFILE, title)
        for title in ("?", "Chief Vibes Officer", "Senior Llama Herder", "Barista")
    ]
    # when
    answers = [predictor.predict_one(profile) for profile in profiles]
    # then: the experience level says how senior the job is; the title adds nothing
    assert {p.title_match.kind for p in answers} == {MATCH_UNKNOWN}
    assert len({(p.estimate_usd, p.interval_low_usd, p.interval_high_usd) for p in answers}) == 1
