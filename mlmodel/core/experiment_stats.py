"""Statistics for judging an experiment: sample-ratio mismatch, paired bootstrap, drift (PSI).

NumPy and the standard library only: the web process that renders the dashboard imports no
SciPy. The chi-square tail uses the regularised upper incomplete gamma function (series below
the mean, continued fraction above it, as in Numerical Recipes §6.2); tests check it against
SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

GAMMA_EPSILON = 1e-14
GAMMA_MAX_ITERATIONS = 500
TINY = 1e-300
# A category absent on one side still gets this share, so PSI stays finite (a common choice).
PSI_FLOOR = 1e-4
BOOTSTRAP_RESAMPLES = 1_000
# Draws per vectorised chunk (resamples x values), bounding memory at about 8 MB.
BOOTSTRAP_CHUNK_DRAWS = 1_000_000
BOOTSTRAP_SEED = 20_240_601


def _upper_gamma_regularised(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a)."""
    if x <= 0:
        return 1.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:  # series for P(a, x), then Q = 1 - P
        term = total = 1.0 / a
        denominator = a
        for _ in range(GAMMA_MAX_ITERATIONS):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * GAMMA_EPSILON:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    b = x + 1 - a  # Lentz's continued fraction for Q(a, x)
    c = 1 / TINY
    d = 1 / b
    h = d
    for i in range(1, GAMMA_MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = TINY if abs(d) < TINY else d
        c = b + an / c
        c = TINY if abs(c) < TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < GAMMA_EPSILON:
            break
    return math.exp(log_prefix) * h


def chi_square_survival(statistic: float, degrees_of_freedom: int) -> float:
    """P(X >= statistic) for X ~ chi-square with ``degrees_of_freedom``."""
    if degrees_of_freedom < 1:
        raise ValueError("degrees of freedom must be at least 1")
    return _upper_gamma_regularised(degrees_of_freedom / 2, statistic / 2)


@dataclass(frozen=True, slots=True)
class SampleRatioCheck:
    """Observed units per arm against the configured split."""

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    total: int
    flagged: bool
    enough_units: bool


def sample_ratio_mismatch(
    observed: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    alpha: float,
    min_units: int,
) -> SampleRatioCheck:
    """Chi-square goodness of fit of ``observed`` units to ``weights``; flagged when p < alpha
    and at least ``min_units`` units were seen (too few units prove nothing)."""
    arms = [arm for arm in weights if weights[arm] > 0]
    total = sum(int(observed.get(arm, 0)) for arm in arms)
    weight_sum = sum(weights[arm] for arm in arms)
    expected = {arm: total * weights[arm] / weight_sum for arm in arms} if weight_sum else {}
    if total == 0 or len(arms) < 2:
        return SampleRatioCheck(
            {arm: int(observed.get(arm, 0)) for arm in arms},
            expected,
            0.0,
            1.0,
            total,
            False,
            total >= min_units,
        )
    statistic = sum((observed.get(arm, 0) - expected[arm]) ** 2 / expected[arm] for arm in arms)
    p_value = chi_square_survival(statistic, len(arms) - 1)
    enough = total >= min_units
    return SampleRatioCheck(
        observed={arm: int(observed.get(arm, 0)) for arm in arms},
        expected=expected,
        statistic=statistic,
        p_value=p_value,
        total=total,
        flagged=enough and p_value < alpha,
        enough_units=enough,
    )


@dataclass(frozen=True, slots=True)
class MeanInterval:
    mean: float
    low: float
    high: float
    count: int


def bootstrap_mean_interval(
    values: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> MeanInterval | None:
    """Percentile bootstrap interval of the mean (None for fewer than two values).

    Used for paired differences (shadow |error| minus served |error| on the same feedback), so
    the pairing removes the between-profile variance. Vectorised in chunks of resamples, so
    a thousand resamples of five thousand pairs take milliseconds.
    """
    count = len(values)
    if count < 2:
        return None
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOTSTRAP_CHUNK_DRAWS // count)
    means = np.concatenate(
        [
            data[rng.integers(0, count, size=(min(chunk, resamples - start), count))].mean(axis=1)
            for start in range(0, resamples, chunk)
        ]
    )
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return MeanInterval(mean=float(data.mean()), low=float(low), high=float(high), count=count)


def population_stability_index(
    expected_counts: Mapping[str, int], actual_counts: Mapping[str, int]
) -> float | None:
    """PSI = Σ (a - e) · ln(a / e) over categories, shares floored at ``PSI_FLOOR``.

    None when either side is empty. Above 0.2 is the usual "the population shifted" line.
    """
    expected_total = sum(expected_counts.values())
    actual_total = sum(actual_counts.values())
    if expected_total == 0 or actual_total == 0:
        return None
    psi = 0.0
    for category in set(expected_counts) | set(actual_counts):
        expected = max(expected_counts.get(category, 0) / expected_total, PSI_FLOOR)
        actual = max(actual_counts.get(category, 0) / actual_total, PSI_FLOOR)
        psi += (actual - expected) * math.log(actual / expected)
    return psi


def histogram_quantile(
    bounds: Sequence[float], counts: Sequence[int], quantile: float
) -> float | None:
    """A quantile from a cumulative-free histogram (counts per bucket, ``bounds`` = upper edges),
    linearly interpolated inside the bucket, like Prometheus' ``histogram_quantile``."""
    total = sum(counts)
    if total == 0:
        return None
    rank = quantile * total
    cumulative = 0
    lower = 0.0
    for upper, count in zip(bounds, counts, strict=True):
        if count and cumulative + count >= rank:
            return lower + (upper - lower) * (rank - cumulative) / count
        cumulative += count
        lower = upper
    return float(bounds[-1])
