"""Model artifact: one zip blob of JSON + XGBoost UBJSON that cannot execute code on load.

Layout (stdlib ``zipfile``, fixed timestamps so identical models give identical bytes)::

    manifest.json        format, interval level, conformal offset, feature names, versions...
    preprocessing.json   fitted FeatureEncoder spec (target statistics learned on train rows)
    linear.json          fitted ridge coefficients per one-hot category (blended with point.ubj)
    point.ubj            XGBoost booster, log-salary point estimate
    quantile.ubj         XGBoost booster, two-output log quantiles

A :class:`~mlmodel.core.bundle.ModelBundle` goes in (:func:`artifact_bytes`) and comes back out
(:func:`read_bundle`). Reading verifies the sha256 first, then every structural expectation, and
turns any failure into :class:`ArtifactIntegrityError`. No pickle anywhere; no Django, no
training stack.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import math
import zipfile

from mlmodel.core.bundle import ModelBundle
from mlmodel.core.encoding import FEATURE_NAMES
from mlmodel.core.predictor import Predictor

logger = logging.getLogger(__name__)

ARTIFACT_FORMAT = "mlpaygrade-salary-model"
ARTIFACT_FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
PREPROCESSING_NAME = "preprocessing.json"
LINEAR_NAME = "linear.json"
POINT_MODEL_NAME = "point.ubj"
QUANTILE_MODEL_NAME = "quantile.ubj"
EXPECTED_MEMBERS = frozenset(
    {MANIFEST_NAME, PREPROCESSING_NAME, LINEAR_NAME, POINT_MODEL_NAME, QUANTILE_MODEL_NAME}
)
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ARTIFACT_BYTES = 128 * 1024 * 1024
FIXED_ZIP_TIMESTAMP = (2020, 1, 1, 0, 0, 0)
SHA256_HEX_LENGTH = 64
SHA256_SHORT_LENGTH = 12  # how much of a digest logs and pages show


class ArtifactIntegrityError(ValueError):
    """The blob is not the artifact we expected (wrong hash, corrupt, or not our format)."""


def short_sha256(digest: object) -> str:
    """The first characters of a digest (or git revision), as logs and pages show it."""
    return str(digest)[:SHA256_SHORT_LENGTH]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_bytes(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def build_manifest(trained: ModelBundle) -> dict:
    return {
        "format": ARTIFACT_FORMAT,
        "format_version": ARTIFACT_FORMAT_VERSION,
        "interval_level": trained.interval_level,
        "conformal_offset": trained.conformal_offset,
        "linear_weight": trained.linear_weight,
        "target": "log(salary_in_usd)",
        "feature_names": list(trained.feature_names),
        "hyperparameters": trained.hyperparameters,
        "calibration": trained.calibration,
        "training_data": trained.fingerprint,
        "library_versions": trained.library_versions,
        "training_seconds": trained.training_seconds,
        "evaluation": trained.evaluation,
        "members": {
            PREPROCESSING_NAME: sha256_hex(_json_bytes(trained.preprocessing_spec)),
            LINEAR_NAME: sha256_hex(_json_bytes(trained.linear_spec)),
            POINT_MODEL_NAME: sha256_hex(trained.point_model_ubj),
            QUANTILE_MODEL_NAME: sha256_hex(trained.quantile_model_ubj),
        },
    }


def artifact_bytes(trained: ModelBundle) -> bytes:
    """Serialise a trained model to the artifact blob (deterministic for the same model)."""
    members = {
        MANIFEST_NAME: _json_bytes(build_manifest(trained)),
        PREPROCESSING_NAME: _json_bytes(trained.preprocessing_spec),
        LINEAR_NAME: _json_bytes(trained.linear_spec),
        POINT_MODEL_NAME: trained.point_model_ubj,
        QUANTILE_MODEL_NAME: trained.quantile_model_ubj,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()


def _read_members(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArtifactIntegrityError(f"Artifact is not a valid zip archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(names) != len(set(names)) or set(names) != EXPECTED_MEMBERS:
            raise ArtifactIntegrityError(
                f"Artifact members {sorted(names)} differ from {sorted(EXPECTED_MEMBERS)}."
            )
        members: dict[str, bytes] = {}
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                raise ArtifactIntegrityError(f"Artifact member {info.filename} is too large.")
            try:
                members[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise ArtifactIntegrityError(f"Corrupt artifact member {info.filename}.") from exc
    return members


def _parse_json(raw: bytes, name: str) -> dict:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactIntegrityError(f"{name} is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise ArtifactIntegrityError(f"{name} must hold a JSON object.")
    return payload


def _check_manifest(manifest: dict, members: dict[str, bytes]) -> tuple[float, float, float]:
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactIntegrityError(f"Not an {ARTIFACT_FORMAT} artifact.")
    if manifest.get("format_version") != ARTIFACT_FORMAT_VERSION:
        raise ArtifactIntegrityError(
            f"Unsupported artifact format version {manifest.get('format_version')!r} "
            f"(this code reads version {ARTIFACT_FORMAT_VERSION})."
        )
    if manifest.get("feature_names") != list(FEATURE_NAMES):
        raise ArtifactIntegrityError("Artifact feature names do not match this code version.")
    declared = manifest.get("members")
    if not isinstance(declared, dict) or set(declared) != EXPECTED_MEMBERS - {MANIFEST_NAME}:
        raise ArtifactIntegrityError("Manifest lacks a checksum for every member.")
    for name, expected in declared.items():
        if name not in members or not hmac.compare_digest(str(expected), sha256_hex(members[name])):
            raise ArtifactIntegrityError(f"Checksum mismatch for artifact member {name}.")
    try:
        level = float(manifest["interval_level"])
        offset = float(manifest["conformal_offset"])
        linear_weight = float(manifest["linear_weight"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactIntegrityError("Manifest lacks a valid level/offset/weight.") from exc
    if not (0.0 < level < 1.0 and math.isfinite(offset) and 0.0 <= linear_weight <= 1.0):
        raise ArtifactIntegrityError("Manifest interval level/offset/weight out of range.")
    return level, offset, linear_weight


def read_manifest(data: bytes) -> dict:
    """Manifest of an artifact (no hash check): for display and audit, not for serving."""
    return _parse_json(_read_members(data)[MANIFEST_NAME], MANIFEST_NAME)


def read_bundle(data: bytes, expected_sha256: str) -> tuple[ModelBundle, dict]:
    """Verify an artifact and read it back: ``(bundle, manifest without member checksums)``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ArtifactIntegrityError(f"Artifact must be bytes, got {type(data).__name__}.")
    data = bytes(data)
    if len(data) > MAX_ARTIFACT_BYTES:
        raise ArtifactIntegrityError("Artifact is larger than any model we produce.")
    expected = str(expected_sha256 or "").strip().lower()
    actual = sha256_hex(data)
    if len(expected) != SHA256_HEX_LENGTH or not hmac.compare_digest(actual, expected):
        raise ArtifactIntegrityError(
            f"Artifact sha256 mismatch: expected {expected or '(none)'}, got {actual}."
        )
    members = _read_members(data)
    manifest = _parse_json(members[MANIFEST_NAME], MANIFEST_NAME)
    level, offset, linear_weight = _check_manifest(manifest, members)
    metadata = {key: manifest[key] for key in manifest if key != "members"}
    bundle = ModelBundle(
        preprocessing_spec=_parse_json(members[PREPROCESSING_NAME], PREPROCESSING_NAME),
        point_model_ubj=members[POINT_MODEL_NAME],
        quantile_model_ubj=members[QUANTILE_MODEL_NAME],
        linear_spec=_parse_json(members[LINEAR_NAME], LINEAR_NAME),
        linear_weight=linear_weight,
        conformal_offset=offset,
        interval_level=level,
        feature_names=tuple(manifest["feature_names"]),
        hyperparameters=manifest.get("hyperparameters") or {},
        calibration=manifest.get("calibration") or {},
        fingerprint=manifest.get("training_data") or {},
        library_versions=manifest.get("library_versions") or {},
        training_seconds=float(manifest.get("training_seconds") or 0.0),
        evaluation=manifest.get("evaluation"),
    )
    return bundle, metadata


def load_predictor(
    data: bytes, expected_sha256: str, *, batch_threads: int | None = None
) -> Predictor:
    """Verify and load an artifact; refuses anything whose sha256 or structure is off
    (``batch_threads``: see :class:`Predictor`)."""
    bundle, metadata = read_bundle(data, expected_sha256)
    try:
        predictor = Predictor.from_bundle(bundle, metadata=metadata, batch_threads=batch_threads)
    except Exception as exc:
        # libxgboost and the spec readers raise on malformed content; never let them leak.
        raise ArtifactIntegrityError(f"Artifact content could not be loaded: {exc}") from exc
    logger.info("Loaded model artifact %s", short_sha256(expected_sha256))
    return predictor
