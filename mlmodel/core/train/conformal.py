"""Conformalised quantile regression (CQR): the offset that makes intervals cover.

Romano, Patterson & Candès (2019): score each calibration row by how far its salary falls
outside the predicted quantiles (negative inside), then widen every interval by the
finite-sample-corrected quantile of those scores. Symmetric score, in log space.
"""

from __future__ import annotations

import logging
import math

import numpy as np

logger = logging.getLogger(__name__)


def cqr_scores(log_quantiles: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Conformity score of CQR: how far y falls outside [q_low, q_high] (negative inside)."""
    ordered = np.sort(np.asarray(log_quantiles, dtype=np.float64), axis=1)
    return np.maximum(ordered[:, 0] - log_y, log_y - ordered[:, 1])


def conformal_offset(scores: np.ndarray, interval_level: float) -> float:
    """Split-conformal quantile with the finite-sample (n + 1) correction."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if n == 0:
        raise ValueError("Need calibration rows to compute a conformal offset.")
    rank = math.ceil((n + 1) * interval_level)
    if rank > n:
        logger.warning("Only %d calibration rows: interval falls back to the largest score.", n)
        rank = n
    return float(np.sort(scores)[rank - 1])
