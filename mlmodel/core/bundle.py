"""What one trained model is, as plain data: the neutral type between training and serving.

Training fills it, the artifact format turns it into bytes and back, and the predictor is built
from it, so neither side has to import the other. No pickles: JSON-ready specs and UBJSON bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelBundle:
    """Everything needed to serve and to audit one trained model."""

    preprocessing_spec: dict
    point_model_ubj: bytes
    quantile_model_ubj: bytes
    linear_spec: dict
    linear_weight: float
    conformal_offset: float
    interval_level: float
    feature_names: tuple[str, ...]
    hyperparameters: dict
    calibration: dict
    fingerprint: dict
    library_versions: dict
    training_seconds: float
    evaluation: dict | None = None
