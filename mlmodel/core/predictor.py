"""Serving-side predictor: SalaryProfile(s) → salary estimate, calibrated interval, explanation.

The model works in log dollars: the point estimate blends a booster and a ridge on one-hot
categories (``(1 − w) · booster + w · ridge``), a two-output quantile booster predicts the
lower/upper log quantiles, and a split-conformal offset (CQR) widens them so the interval
covers ``interval_level`` of future salaries. Everything here is numpy + libxgboost
(:mod:`mlmodel.core.booster`); nothing is unpickled, and neither Django nor the training stack
(scikit-learn, SciPy, pandas) is imported.

Dollar contributions. XGBoost gives additive contributions φ_i in log space with bias φ_0 and
the ridge gives exact ones (coefficient minus its training average), so after blending both
the same way ``log E = φ_0 + Σ φ_i``. We report ``baseline_usd = B = exp(φ_0)`` and scale
every φ_i by the logarithmic mean ``L(E, B) = (E − B) / (ln E − ln B)``. Then
Σ usd_i = E − B exactly, each contribution keeps its sign, and a feature's share of the dollar
change equals its share of the log change. Feature contributions are rolled up to the 8 raw
inputs, and the float32 / rounding residual (cents to a few dollars) is spread so
baseline + Σ usd_i equals the reported integer estimate.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mlmodel.core.booster import Booster, DenseMatrix
from mlmodel.core.bundle import ModelBundle
from mlmodel.core.encoding import (
    RAW_INPUTS,
    FeatureEncoder,
    factorise,
    feature_to_raw_matrix,
    profile_columns,
)
from mlmodel.core.forest import OneRowForest, OneRowOutputs, UnsupportedForest
from mlmodel.core.linear import LinearComponent, linear_to_raw_matrix
from mlmodel.core.profile import SalaryProfile
from mlmodel.core.taxonomy import MATCH_FAMILY_RULE, MATCH_UNKNOWN, TitleMatch, match_title

logger = logging.getLogger(__name__)

SINGLE_ROW_THREADS = 1
# Mondrian (group-wise) calibration: rows whose title the training rows had, rows whose title
# they did not have (but the taxonomy reads), and titles the taxonomy does not know at all.
GROUP_SEEN_TITLE = "seen_title"
GROUP_UNSEEN_TITLE = "unseen_title"
GROUP_UNKNOWN_TITLE = "unknown_title"
CALIBRATION_GROUPS = (GROUP_SEEN_TITLE, GROUP_UNSEEN_TITLE, GROUP_UNKNOWN_TITLE)
_TITLE_INPUT = RAW_INPUTS.index("job_title")
LOG_EQUALITY_TOLERANCE = 1e-12
CONTRIBUTION_DECIMALS = 2
# Below 2**53 every whole float is exact, so float → int conversions cannot differ.
_EXACT_INT_LIMIT = 2.0**53


@dataclass(frozen=True, slots=True)
class PointPrediction:
    """One prediction as shown to a user; ints are whole US dollars per year."""

    estimate_usd: int
    interval_low_usd: int
    interval_high_usd: int
    interval_level: float
    baseline_usd: float
    contributions: list[tuple[str, float]] = field(default_factory=list)
    title_match: TitleMatch | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "estimate_usd": self.estimate_usd,
            "interval_low_usd": self.interval_low_usd,
            "interval_high_usd": self.interval_high_usd,
            "interval_level": self.interval_level,
            "baseline_usd": self.baseline_usd,
            "contributions": [[name, usd] for name, usd in self.contributions],
            "title_match": None if self.title_match is None else self.title_match.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class BatchPrediction:
    """Predictions for many rows as int64 arrays (plus optional (n, 8) dollar contributions);
    per row, how its title was matched (``title_match_kind``, ``title_treated_as``: object
    arrays of the :class:`~mlmodel.core.taxonomy.TitleMatch` fields)."""

    estimate_usd: np.ndarray
    interval_low_usd: np.ndarray
    interval_high_usd: np.ndarray
    interval_level: float
    baseline_usd: np.ndarray | None = None
    contributions_usd: np.ndarray | None = None
    raw_feature_names: tuple[str, ...] = RAW_INPUTS
    title_match_kind: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    title_treated_as: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    def __len__(self) -> int:
        return len(self.estimate_usd)


def bound_predictions(
    log_point: np.ndarray, log_quantiles: np.ndarray, conformal_offset: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-space outputs → int64 dollars (estimate, low, high) with low ≤ estimate ≤ high.

    Shared by training-time evaluation and serving so both report the very same numbers.
    ``conformal_offset`` is one number or one per row (group-wise calibration).
    """
    log_point = np.asarray(log_point, dtype=np.float64).reshape(-1)
    quantiles = np.sort(np.asarray(log_quantiles, dtype=np.float64).reshape(len(log_point), 2))
    estimate = np.rint(np.exp(log_point))
    low = np.floor(np.exp(quantiles[:, 0] - conformal_offset))
    high = np.ceil(np.exp(quantiles[:, 1] + conformal_offset))
    low = np.clip(np.minimum(low, estimate), 0, None)
    high = np.maximum(high, estimate)
    return estimate.astype(np.int64), low.astype(np.int64), high.astype(np.int64)


def blend_log(booster_log: np.ndarray, linear_log: np.ndarray, linear_weight: float) -> np.ndarray:
    """The point estimate in log space: weighted average of booster and ridge predictions."""
    booster_log = np.asarray(booster_log, dtype=np.float64)
    return (1.0 - linear_weight) * booster_log + linear_weight * np.asarray(
        linear_log, dtype=np.float64
    )


def log_contributions_to_usd(
    log_contributions: np.ndarray, log_bias: np.ndarray, log_estimate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scale log-space contributions to dollars that sum exactly to estimate − baseline."""
    log_bias = np.asarray(log_bias, dtype=np.float64)
    log_estimate = np.asarray(log_estimate, dtype=np.float64)
    baseline = np.exp(log_bias)
    estimate = np.exp(log_estimate)
    log_gap = log_estimate - log_bias
    close = np.abs(log_gap) < LOG_EQUALITY_TOLERANCE
    scale = np.where(close, estimate, (estimate - baseline) / np.where(close, 1.0, log_gap))
    return baseline, np.asarray(log_contributions, dtype=np.float64) * scale[:, None]


def _one_row_outputs(point: Booster, quantile: Booster, row: np.ndarray) -> OneRowOutputs:
    """The three predictions for one (1, n_features) row through libxgboost, on one DMatrix
    (used when :class:`OneRowForest` cannot walk the models).

    For a single row, making the DMatrix costs as much as the trees, so the three calls share
    it; ``predict_matrix`` on it equals ``Booster.predict`` on the same row exactly.
    """
    with DenseMatrix(row, threads=SINGLE_ROW_THREADS) as matrix:
        (log_point,) = point.predict_matrix_list(matrix)
        quantile_a, quantile_b = quantile.predict_matrix_list(matrix)
        contribs = point.predict_matrix_list(matrix, contributions=True)
    return log_point, quantile_a, quantile_b, contribs


class Predictor:
    """Immutable after construction; safe to share between threads for prediction."""

    def __init__(
        self,
        encoder: FeatureEncoder,
        point_model_ubj: bytes,
        quantile_model_ubj: bytes,
        conformal_offset: float,
        interval_level: float,
        metadata: dict | None = None,
        *,
        linear: LinearComponent | None = None,
        linear_weight: float = 0.0,
        group_offsets: dict[str, float] | None = None,
        batch_threads: int | None = None,
    ):
        if not 0.0 < interval_level < 1.0:
            raise ValueError(f"interval_level must be in (0, 1), got {interval_level}")
        offsets = {group: float(conformal_offset) for group in CALIBRATION_GROUPS}
        offsets.update({str(k): float(v) for k, v in (group_offsets or {}).items()})
        if set(offsets) != set(CALIBRATION_GROUPS) or not all(
            math.isfinite(v) for v in [conformal_offset, *offsets.values()]
        ):
            raise ValueError(f"conformal offsets must be finite, one per {CALIBRATION_GROUPS}.")
        # A title the taxonomy cannot read never gets a narrower margin than one it can.
        offsets[GROUP_UNKNOWN_TITLE] = max(offsets.values())
        self.group_offsets = offsets
        if not 0.0 <= linear_weight <= 1.0 or (linear is None and linear_weight):
            raise ValueError("linear_weight must be in [0, 1] and needs a linear component.")
        self.linear = linear
        self.linear_weight = float(linear_weight)
        self._linear_rollup = linear_to_raw_matrix()
        self.encoder = encoder
        self.conformal_offset = float(conformal_offset)
        self.interval_level = float(interval_level)
        self.metadata = dict(metadata or {})
        # ``batch_threads``: libxgboost threads for many rows (None: every core). A server that
        # runs several processes on the same cores is better off with 1: OpenMP threads of one
        # process then never take a core from another process's requests.
        batch_threads = batch_threads or os.cpu_count() or 1
        self._batch_threads = batch_threads
        # Separate booster copies so single rows never pay for thread start-up and nobody
        # calls set_param on a booster another thread is predicting with.
        self._point_single = Booster(point_model_ubj, threads=SINGLE_ROW_THREADS)
        self._quantile_single = Booster(quantile_model_ubj, threads=SINGLE_ROW_THREADS)
        self._point_batch = Booster(point_model_ubj, threads=batch_threads)
        self._quantile_batch = Booster(quantile_model_ubj, threads=batch_threads)
        self._rollup = feature_to_raw_matrix(encoder.feature_names)
        n_features = len(encoder.feature_names)
        for booster in (self._point_single, self._quantile_single):
            if booster.num_features != n_features:
                raise ValueError(
                    f"Booster expects {booster.num_features} features, encoder gives {n_features}."
                )
        self._forest: OneRowForest | None = None
        try:
            self._forest = OneRowForest.build(self._point_single, self._quantile_single)
        except UnsupportedForest as exc:
            logger.warning("single rows are served through libxgboost (slower): %s", exc)
            # One throw-away row at load: the first request then pays no one-off library
            # set-up (the walk's check rows have already done that when it is used).
            _one_row_outputs(
                self._point_single, self._quantile_single, np.zeros((1, n_features), np.float32)
            )

    @classmethod
    def from_bundle(
        cls,
        bundle: ModelBundle,
        *,
        metadata: dict | None = None,
        batch_threads: int | None = None,
    ) -> Predictor:
        """A predictor for a trained model (``artifacts.load_predictor`` is the audited path)."""
        return cls(
            FeatureEncoder.from_spec(bundle.preprocessing_spec),
            bundle.point_model_ubj,
            bundle.quantile_model_ubj,
            bundle.conformal_offset,
            bundle.interval_level,
            metadata,
            linear=LinearComponent.from_spec(bundle.linear_spec),
            linear_weight=bundle.linear_weight,
            group_offsets=(bundle.calibration or {}).get("group_offsets"),
            batch_threads=batch_threads,
        )

    @property
    def batch_threads(self) -> int:
        """libxgboost threads used for many rows at once."""
        return self._batch_threads

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.encoder.feature_names)

    def predict_one(self, profile: SalaryProfile) -> PointPrediction:
        """Estimate, interval and per-input dollar contributions for one profile.

        Bit-for-bit the numbers of :meth:`predict_many` with contributions on a one-row batch,
        but on the hot path of the API, so: the trees walked in numpy (the same float32
        operations as libxgboost, :mod:`mlmodel.core.forest`) and plain floats instead of
        (1, n) array plumbing afterwards (:meth:`_one_from_outputs`).
        """
        row = self.encoder.encode_one(profile)
        terms = self.linear.terms_one(profile) if self.linear is not None else None
        title_match = self.title_reading(profile.job_title)
        offset = self.group_offsets[self.calibration_group(profile.job_title)]
        outputs = self._one_row(row)
        fast = self._one_from_outputs(outputs, terms, title_match, offset)
        if fast is not None:
            return fast
        # Non-finite or huge values: let the vectorised code decide what they become.
        log_point, quantile_a, quantile_b, contribs = outputs
        log_point = self._blend(np.array([log_point]), terms)
        log_quantiles = np.array([[quantile_a, quantile_b]])
        per_raw, log_bias = self._log_contributions(np.array([contribs]), terms)
        unknown = np.array([title_match.kind == MATCH_UNKNOWN])
        weights = np.array([title_match.weight])
        log_point, log_quantiles = _shrink_title_effect(
            unknown, weights, per_raw, log_point, log_quantiles
        )
        estimate, low, high = bound_predictions(log_point, log_quantiles, offset)
        baseline, usd = _raw_usd(per_raw, log_bias, estimate)
        return self._point_prediction(
            int(estimate[0]),
            int(low[0]),
            int(high[0]),
            float(baseline[0]),
            usd[0].tolist(),
            title_match,
        )

    def _one_row(self, row: np.ndarray) -> OneRowOutputs:
        """The boosters' raw outputs for one row: numpy's walk, or libxgboost without it."""
        if self._forest is not None:
            return self._forest.outputs(row)
        return _one_row_outputs(self._point_single, self._quantile_single, row)

    def title_reading(self, title: str) -> TitleMatch:
        """:func:`match_title`, with the weight the estimate keeps of a rule-mapped title's
        effect: all of it once the training rows had the title (imported rows, approved
        feedback), whose own statistic then backs it."""
        match = match_title(title)
        if (
            match.kind == MATCH_FAMILY_RULE
            and match.weight < 1.0
            and self.encoder.title_seen(title)
        ):
            return dataclasses.replace(match, weight=1.0)
        return match

    def calibration_group(self, title: str) -> str:
        """Which conformal offset a title's interval gets (one of CALIBRATION_GROUPS)."""
        if match_title(title).kind == MATCH_UNKNOWN:
            return GROUP_UNKNOWN_TITLE
        return GROUP_SEEN_TITLE if self.encoder.title_seen(title) else GROUP_UNSEEN_TITLE

    def _point_prediction(
        self,
        estimate: int,
        low: int,
        high: int,
        baseline: float,
        usd: list[float],
        title_match: TitleMatch,
    ) -> PointPrediction:
        ranked = sorted(zip(RAW_INPUTS, usd, strict=True), key=lambda item: -abs(item[1]))
        return PointPrediction(
            estimate_usd=estimate,
            interval_low_usd=low,
            interval_high_usd=high,
            interval_level=self.interval_level,
            baseline_usd=round(baseline, CONTRIBUTION_DECIMALS),
            contributions=[(name, round(value, CONTRIBUTION_DECIMALS)) for name, value in ranked],
            title_match=title_match,
        )

    def _one_from_outputs(
        self,
        outputs: OneRowOutputs,
        terms: np.ndarray | None,
        title_match: TitleMatch,
        offset: float,
    ) -> PointPrediction | None:
        """One-row version of ``_blend`` + ``bound_predictions`` + ``_to_raw_usd``.

        Every step is the same IEEE operation in the same order as the vectorised code (the
        elementwise arithmetic on Python floats, the matrix products, sums and ``np.exp`` still
        on numpy arrays of the same shapes), so the result is identical. Returns None when a
        value is non-finite or too large for exact float → int conversion; the caller then
        falls back to the vectorised code.
        """
        log_point, quantile_a, quantile_b, raw_contribs = outputs
        contribs = np.array([raw_contribs], dtype=np.float64)
        per_raw_input = contribs[:, :-1] @ self._rollup
        log_bias = raw_contribs[-1]
        linear = self.linear
        if linear is not None and terms is not None:
            weight = self.linear_weight
            linear_log = linear.intercept + float(terms.sum(axis=1)[0])
            log_point = (1.0 - weight) * log_point + weight * linear_log
            linear_per_raw = linear.centred(terms) @ self._linear_rollup
            per_raw_input = (1.0 - weight) * per_raw_input + weight * linear_per_raw
            log_bias = (1.0 - weight) * log_bias + weight * linear.bias
        if title_match.kind == MATCH_UNKNOWN or title_match.weight < 1.0:
            # _shrink_title_effect, one row
            title_log = float(per_raw_input[0, _TITLE_INPUT])
            if title_match.kind == MATCH_UNKNOWN:
                excess = max(title_log, 0.0)
            else:
                excess = (1.0 - title_match.weight) * title_log
            per_raw_input[0, _TITLE_INPUT] -= excess
            log_point -= excess
            quantile_a -= excess
            quantile_b -= excess
        log_estimate = log_bias + float(per_raw_input.sum(axis=1)[0])
        if quantile_b < quantile_a:
            quantile_a, quantile_b = quantile_b, quantile_a
        logs = (log_point, quantile_a - offset, quantile_b + offset, log_bias, log_estimate)
        if not math.isfinite(sum(logs)):
            return None
        point_exp, low_exp, high_exp, baseline, estimate_exp = np.exp(logs).tolist()
        if not point_exp + high_exp + baseline + estimate_exp < _EXACT_INT_LIMIT:
            return None
        # bound_predictions: rint (half to even, like round), floor, ceil, then the ordering.
        estimate = round(point_exp)
        low = max(min(math.floor(low_exp), estimate), 0)
        high = max(math.ceil(high_exp), estimate)
        # log_contributions_to_usd
        log_gap = log_estimate - log_bias
        if abs(log_gap) < LOG_EQUALITY_TOLERANCE:
            scale = estimate_exp
        else:
            scale = (estimate_exp - baseline) / log_gap
        usd = per_raw_input * scale
        # residual spreading, as in _to_raw_usd
        residual = float(estimate) - baseline - float(usd.sum(axis=1)[0])
        weights = np.abs(usd)
        total = float(weights.sum(axis=1)[0])
        if total > 0:
            usd += weights / total * residual
        else:
            baseline = baseline + residual
        return self._point_prediction(estimate, low, high, baseline, usd[0].tolist(), title_match)

    def predict_many(
        self,
        profiles: Sequence[SalaryProfile] | object,
        *,
        with_contributions: bool = False,
    ) -> BatchPrediction:
        """Vectorised estimates and intervals; contributions only on request (slower)."""
        if len(profiles) == 0:
            empty = np.empty(0, dtype=np.int64)
            return BatchPrediction(empty, empty, empty, self.interval_level)
        columns = profile_columns(profiles)
        features = self.encoder.encode_columns(columns)
        terms = self.linear.terms_columns(columns) if self.linear is not None else None
        title_codes, titles = factorise(columns["job_title"])
        matches = [self.title_reading(title) for title in titles]
        kinds = np.array([m.kind for m in matches], dtype=object)[title_codes]
        treated_as = np.array([m.treated_as for m in matches], dtype=object)[title_codes]
        offsets = np.array([self.group_offsets[self.calibration_group(t)] for t in titles])[
            title_codes
        ]
        unknown = kinds == MATCH_UNKNOWN
        weights = np.array([m.weight for m in matches], dtype=np.float64)[title_codes]
        shrunk = unknown | (weights < 1.0)
        log_point = self._blend(self._point_batch.predict(features).reshape(-1), terms)
        log_quantiles = self._quantile_batch.predict(features).reshape(len(log_point), 2)
        baseline = contributions = None
        if with_contributions:
            with DenseMatrix(features, threads=self._batch_threads) as matrix:
                raw_contribs = self._point_batch.predict_matrix(matrix, contributions=True)
            per_raw, log_bias = self._log_contributions(raw_contribs, terms)
            log_point, log_quantiles = _shrink_title_effect(
                unknown, weights, per_raw, log_point, log_quantiles
            )
            estimate, low, high = bound_predictions(log_point, log_quantiles, offsets)
            baseline, contributions = _raw_usd(per_raw, log_bias, estimate)
        else:
            if shrunk.any():
                rows = np.flatnonzero(shrunk)
                with DenseMatrix(features[rows], threads=self._batch_threads) as matrix:
                    raw_contribs = self._point_batch.predict_matrix(matrix, contributions=True)
                per_raw, _ = self._log_contributions(
                    raw_contribs, None if terms is None else terms[rows]
                )
                capped_point, capped_quantiles = _shrink_title_effect(
                    unknown[rows], weights[rows], per_raw, log_point[rows], log_quantiles[rows]
                )
                log_point = log_point.copy()
                log_quantiles = np.array(log_quantiles, dtype=np.float64)
                log_point[rows] = capped_point
                log_quantiles[rows] = capped_quantiles
            estimate, low, high = bound_predictions(log_point, log_quantiles, offsets)
        return BatchPrediction(
            estimate_usd=estimate,
            interval_low_usd=low,
            interval_high_usd=high,
            interval_level=self.interval_level,
            baseline_usd=baseline,
            contributions_usd=contributions,
            title_match_kind=kinds,
            title_treated_as=treated_as,
        )

    def _blend(self, booster_log: np.ndarray, terms: np.ndarray | None) -> np.ndarray:
        if self.linear is None or terms is None:
            return np.asarray(booster_log, dtype=np.float64)
        return blend_log(booster_log, self.linear.predict_terms(terms), self.linear_weight)

    def _log_contributions(
        self, raw_contribs: np.ndarray, terms: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Booster (n, n_features + 1) and ridge (n, n_groups) log contributions → (n, 8)
        raw-input log contributions and the log baseline, blended like the estimate."""
        raw_contribs = np.asarray(raw_contribs, dtype=np.float64)
        per_raw_input = raw_contribs[:, :-1] @ self._rollup
        log_bias = raw_contribs[:, -1]
        if self.linear is not None and terms is not None:
            weight = self.linear_weight
            linear_per_raw = self.linear.centred(terms) @ self._linear_rollup
            per_raw_input = (1.0 - weight) * per_raw_input + weight * linear_per_raw
            log_bias = (1.0 - weight) * log_bias + weight * self.linear.bias
        return per_raw_input, log_bias


def _shrink_title_effect(
    unknown: np.ndarray,
    weights: np.ndarray,
    per_raw_input: np.ndarray,
    log_point: np.ndarray,
    log_quantiles: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Take out of the estimate and the interval (and ``per_raw_input``, in place) the part of
    the job-title log contribution a title's match does not back: an unknown title may not
    raise the estimate above the overall mean (its positive part goes); a title mapped by rule
    keeps ``weight`` of its effect, whatever the trees made of its family and seniority words
    (a generic title as much as the data backs its family, an out-of-field one half).
    A title in the data (weight 1) keeps all of it."""
    title = per_raw_input[:, _TITLE_INPUT]
    # A weight-1 row multiplies 0 by 0, not by its title (which may be inf): it loses +0.0.
    unbacked = (1.0 - weights) * np.where(weights < 1.0, title, 0.0)
    excess = np.where(unknown, np.maximum(title, 0.0), unbacked)
    per_raw_input[:, _TITLE_INPUT] = title - excess
    log_quantiles = np.asarray(log_quantiles, dtype=np.float64) - excess[:, None]
    return np.asarray(log_point, dtype=np.float64) - excess, log_quantiles


def _raw_usd(
    per_raw_input: np.ndarray, log_bias: np.ndarray, estimate_usd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log contributions → baseline and (n, 8) raw-input dollars that add up exactly to the
    reported (rounded) estimate."""
    log_estimate = log_bias + per_raw_input.sum(axis=1)
    baseline, usd = log_contributions_to_usd(per_raw_input, log_bias, log_estimate)
    # float32 rounding inside XGBoost and rounding the estimate leave a few cents to a few
    # dollars; spread that residual in proportion to each contribution's size.
    residual = np.asarray(estimate_usd, dtype=np.float64) - baseline - usd.sum(axis=1)
    weights = np.abs(usd)
    totals = weights.sum(axis=1)
    has_weight = totals > 0
    usd[has_weight] += weights[has_weight] / totals[has_weight, None] * residual[has_weight, None]
    baseline = np.where(has_weight, baseline, baseline + residual)
    return baseline, usd
