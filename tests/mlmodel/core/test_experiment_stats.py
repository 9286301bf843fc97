"""SRM chi-square, the paired bootstrap and PSI, checked against scipy and by construction."""

import random

import pytest
from scipy import stats

from mlmodel.core.experiment_stats import (
    bootstrap_mean_interval,
    chi_square_survival,
    histogram_quantile,
    population_stability_index,
    sample_ratio_mismatch,
)


@pytest.mark.parametrize("statistic", [0.0, 0.5, 1.0, 3.84, 10.83, 25.0, 80.0])
@pytest.mark.parametrize("df", [1, 2, 3, 7])
def test_chi_square_tail_matches_scipy(statistic, df):
    assert chi_square_survival(statistic, df) == pytest.approx(
        stats.chi2.sf(statistic, df), rel=1e-9, abs=1e-15
    )


def test_a_forced_sixty_forty_split_is_flagged_when_fifty_fifty_was_configured():
    # when
    check = sample_ratio_mismatch(
        {"v1": 600, "v2": 400}, {"v1": 50, "v2": 50}, alpha=0.001, min_units=100
    )

    # then
    assert check.flagged
    assert check.p_value == pytest.approx(stats.chisquare([600, 400]).pvalue)


def test_a_fair_random_split_is_not_flagged():
    # given
    rng = random.Random(3)
    observed = {"v1": 0, "v2": 0}
    for _ in range(10_000):
        observed["v1" if rng.random() < 0.5 else "v2"] += 1

    # when
    check = sample_ratio_mismatch(observed, {"v1": 50, "v2": 50}, alpha=0.001, min_units=100)

    # then
    assert not check.flagged
    assert check.p_value > 0.001


def test_too_few_units_prove_nothing():
    check = sample_ratio_mismatch(
        {"v1": 40, "v2": 5}, {"v1": 50, "v2": 50}, alpha=0.001, min_units=100
    )
    assert check.p_value < 0.001
    assert not check.flagged
    assert not check.enough_units


def test_the_bootstrap_interval_covers_the_mean_and_shrinks_with_data():
    # given
    rng = random.Random(1)
    small = [rng.gauss(-1_000, 5_000) for _ in range(50)]
    large = [rng.gauss(-1_000, 5_000) for _ in range(2_000)]

    # when
    small_ci = bootstrap_mean_interval(small)
    large_ci = bootstrap_mean_interval(large)

    # then
    assert small_ci.low < small_ci.mean < small_ci.high
    assert large_ci.low < -1_000 < large_ci.high
    assert large_ci.high - large_ci.low < (small_ci.high - small_ci.low) / 3
    assert bootstrap_mean_interval([1.0]) is None


def test_psi_is_zero_for_the_same_mix_and_large_for_a_shift():
    # given
    training = {"SE": 600, "MI": 300, "EN": 100}

    # then
    assert population_stability_index(training, {"SE": 60, "MI": 30, "EN": 10}) == pytest.approx(0)
    assert population_stability_index(training, {"SE": 10, "MI": 30, "EN": 60}) > 0.2
    assert population_stability_index(training, {}) is None


def test_histogram_quantile_interpolates_inside_the_bucket():
    # 10 answers in (0, 1] ms, 10 in (1, 2] ms
    assert histogram_quantile([1, 2, 5], [10, 10, 0], 0.5) == pytest.approx(1.0)
    assert histogram_quantile([1, 2, 5], [10, 10, 0], 0.75) == pytest.approx(1.5)
    assert histogram_quantile([1, 2, 5], [0, 0, 0], 0.5) is None
