"""Model registry writes (register, export/import) and serving (``predict``).

Which version serves whom (champion, experiments, rollback) is ``mlmodel.rollout.services``;
training lives in ``mlmodel.training_services``. Every change writes a ``ModelEvent``."""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mlmodel import loading
from mlmodel.core.artifacts import ArtifactIntegrityError, load_predictor, sha256_hex, short_sha256
from mlmodel.core.profile import EXAMPLE_PROFILE, SalaryProfile
from mlmodel.core.taxonomy import MATCH_FAMILY_RULE
from mlmodel.events import model_event
from mlmodel.models import ModelAction, ModelStatus, ModelVersion, ServingError
from mlmodel.rollout.services import champion_replace
from portal.exceptions import InvalidInput, NotFound, Unavailable

logger = logging.getLogger(__name__)

MAX_VERSION_NUMBER_ATTEMPTS = 5
GIT_TIMEOUT_SECONDS = 5
EXPORT_FORMAT = "mlpaygrade-model-export/1"
# A profile every artifact must answer before it is stored: "it loads" includes "it predicts".
SMOKE_TEST_PROFILE = EXAMPLE_PROFILE
# ModelVersion fields a registration may set, with the JSON type each must have.
METADATA_FIELDS: dict[str, type] = {
    "artifact_format": str,
    "metrics": dict,
    "training_data": dict,
    "hyperparameters": dict,
    "library_versions": dict,
    "git_revision": str,
    "is_demo": bool,
    "notes": str,
}


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServedPrediction:
    """One answer of the served model, with which version and experiment arm gave it."""

    estimate_usd: int
    interval_low_usd: int
    interval_high_usd: int
    interval_level: float
    contributions: list[dict[str, object]]
    baseline_usd: int
    model_version_id: int
    model_version_number: int
    is_demo: bool
    experiment_id: int | None = None
    arm_id: int | None = None
    experiment_phase: int | None = None
    experiment_slot: int | None = None
    has_shadows: bool = False
    # How the job title was read (mlmodel.core.taxonomy.MATCH_KINDS) and what it was taken as.
    title_match: str = ""
    title_treated_as: str = ""
    # Share of a rule-mapped title's effect the estimate kept (None for other titles).
    title_weight: float | None = None


def _route(*, version: int | None, unit: str | None) -> loading.Route:
    registry = loading.registry()
    if version is not None:
        try:
            return loading.Route(registry.version(version))
        except loading.ModelUnavailable as exc:
            raise Unavailable(str(exc)) from exc
    route = registry.route(unit)
    if route is None:
        raise Unavailable(loading.unavailable_message())
    return route


def _answer_failed(route: loading.Route, exc: Exception) -> Unavailable:
    """A loaded version that raises while answering: counted per version, then a 503."""
    logger.exception(
        "model v%s failed to answer",
        route.model.version_number,
        extra={"model_version": route.model.version_number},
    )
    serving_error_record(
        model_version_id=route.model.version_id, arm_id=route.arm_id, kind=type(exc).__name__
    )
    return Unavailable(f"Model v{route.model.version_number} could not answer; try again later.")


def serving_error_record(*, model_version_id: int, arm_id: int | None, kind: str) -> None:
    """Count a failed answer for the per-version error rate (best effort: never raises)."""
    try:
        ServingError.objects.create(
            model_version_id=model_version_id, arm_id=arm_id, kind=kind[:64]
        )
    except DatabaseError:
        logger.exception("could not record a serving error")


def predict(
    profile: SalaryProfile, *, version: int | None = None, unit: str | None = None
) -> ServedPrediction:
    """Estimate one profile: the unit's arm of the running experiment, else the champion.

    ``unit`` (``"user:<pk>"``) decides the arm with a hash and the cached slot map: no write,
    no query. Recording the assignment is the worker's job (``predictions.services``).
    """
    route = _route(version=version, unit=unit)
    model = route.model
    try:
        point = model.predictor.predict_one(profile)
    except Exception as exc:
        raise _answer_failed(route, exc) from exc
    title = point.title_match
    return ServedPrediction(
        estimate_usd=point.estimate_usd,
        interval_low_usd=point.interval_low_usd,
        interval_high_usd=point.interval_high_usd,
        interval_level=point.interval_level,
        contributions=[{"feature": name, "usd": round(usd)} for name, usd in point.contributions],
        baseline_usd=round(point.baseline_usd),
        model_version_id=model.version_id,
        model_version_number=model.version_number,
        is_demo=model.is_demo,
        experiment_id=route.experiment_id,
        arm_id=route.arm_id,
        experiment_phase=route.phase,
        experiment_slot=route.slot,
        has_shadows=route.has_shadows,
        title_match=title.kind if title is not None else "",
        title_treated_as=title.treated_as if title is not None else "",
        title_weight=title.weight
        if title is not None and title.kind == MATCH_FAMILY_RULE
        else None,
    )


def predict_many(
    profiles: Sequence[SalaryProfile],
    *,
    version: int | None = None,
    version_id: int | None = None,
    unit: str | None = None,
) -> tuple[int, list[dict[str, object]]]:
    """Estimate many profiles with ONE model version; returns ``(model_version_id, rows)``.

    Each row holds ``estimate_usd``, ``interval_low_usd``, ``interval_high_usd``,
    ``interval_level``, ``title_match`` and ``title_treated_as``, in the order of ``profiles``.
    A batch goes to the unit's arm, like the unit's single predictions.
    """
    if version_id is not None:  # a shadow arm, scored by the worker
        route = loading.Route(loading.registry().version_by_id(version_id))
    else:
        route = _route(version=version, unit=unit)
    try:
        batch = route.model.predictor.predict_many(list(profiles))
    except Exception as exc:
        raise _answer_failed(route, exc) from exc
    level = batch.interval_level
    count = len(profiles)
    kinds = batch.title_match_kind.tolist() or [""] * count
    treated = batch.title_treated_as.tolist() or [""] * count
    rows = [
        {
            "estimate_usd": int(estimate),
            "interval_low_usd": int(low),
            "interval_high_usd": int(high),
            "interval_level": level,
            "title_match": str(kind),
            "title_treated_as": str(treated_as),
        }
        for estimate, low, high, kind, treated_as in zip(
            batch.estimate_usd.tolist(),
            batch.interval_low_usd.tolist(),
            batch.interval_high_usd.tolist(),
            kinds,
            treated,
            strict=True,
        )
    ]
    return route.model.version_id, rows


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
def _next_version_number() -> int:
    return (ModelVersion.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1


def _trained_at(value: object) -> datetime.datetime:
    if value is None or value == "":
        return timezone.now()
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise InvalidInput({"trained_at": [f"'{value}' is not an ISO 8601 date-time."]})
    else:
        raise InvalidInput({"trained_at": ["Expected an ISO 8601 date-time."]})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


def _verified_predictor_sha256(artifact: bytes, metadata: Mapping[str, object]) -> str:
    """Refuse to store anything that does not load and predict: never store a broken model."""
    if not isinstance(artifact, bytes | bytearray | memoryview) or not artifact:
        raise InvalidInput({"artifact": ["The artifact is empty."]})
    sha256 = sha256_hex(bytes(artifact))
    claimed = metadata.get("artifact_sha256")
    if claimed and claimed != sha256:
        raise InvalidInput(
            {"artifact": [f"sha256 mismatch: metadata says {claimed}, the bytes hash to {sha256}."]}
        )
    try:
        predictor = load_predictor(bytes(artifact), sha256)
        predictor.predict_one(SMOKE_TEST_PROFILE)
    except ArtifactIntegrityError as exc:
        raise InvalidInput({"artifact": [f"The artifact does not load: {exc}"]}) from exc
    except Exception as exc:
        logger.exception("artifact failed to load or predict; not stored")
        raise InvalidInput(
            {"artifact": [f"The artifact does not load or predict: {type(exc).__name__}: {exc}"]}
        ) from exc
    return sha256


def _metadata_fields(metadata: Mapping[str, object]) -> dict[str, object]:
    """The ModelVersion fields from ``metadata``, type- and length-checked (imports are input)."""
    fields: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for name, expected in METADATA_FIELDS.items():
        value = metadata.get(name)
        if value is None:
            continue
        if not isinstance(value, expected):
            errors[name] = [f"Expected {expected.__name__}, got {type(value).__name__}."]
            continue
        max_length = getattr(ModelVersion._meta.get_field(name), "max_length", None)
        if max_length and isinstance(value, str) and len(value) > max_length:
            errors[name] = [f"At most {max_length} characters (got {len(value)})."]
            continue
        fields[name] = value
    if not fields.get("artifact_format"):
        errors.setdefault("artifact_format", ["The metadata must name the artifact format."])
    if errors:
        raise InvalidInput(errors)
    return fields


def _create_version(artifact: bytes, sha256: str, metadata: Mapping[str, object]) -> ModelVersion:
    """Insert with the next free number; a concurrent insert of the same number is retried."""
    fields = _metadata_fields(metadata)
    for attempt in range(1, MAX_VERSION_NUMBER_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    **fields,
                    version=_next_version_number(),
                    status=ModelStatus.CANDIDATE,
                    trained_at=_trained_at(metadata.get("trained_at")),
                    artifact=bytes(artifact),
                    artifact_sha256=sha256,
                    artifact_size=len(artifact),
                )
        except IntegrityError:
            if attempt == MAX_VERSION_NUMBER_ATTEMPTS:
                raise
            logger.info("version number taken concurrently; retrying (attempt %s)", attempt)
    raise AssertionError("unreachable")


def model_version_register(
    *,
    artifact: bytes,
    metadata: Mapping[str, object],
    activate: bool = False,
    actor=None,
    action: str = ModelAction.REGISTERED,
    event_details: Mapping[str, object] | None = None,
) -> ModelVersion:
    """Store a verified artifact as the next version (a candidate unless ``activate``)."""
    _metadata_fields(metadata)
    sha256 = _verified_predictor_sha256(artifact, metadata)
    with transaction.atomic():
        model_version = _create_version(artifact, sha256, metadata)
        model_event(
            model_version=model_version,
            action=action,
            actor=actor,
            after={"status": model_version.status},
            sha256=sha256,
            **dict(event_details or {}),
        )
        if activate:
            champion_replace(model_version, actor=actor, action=ModelAction.ACTIVATED)
    logger.info(
        "model v%s registered (sha256 %s, %s bytes%s)",
        model_version.version,
        short_sha256(sha256),
        len(artifact),
        ", active" if activate else "",
    )
    return model_version


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
def git_revision() -> str:
    """GIT_REVISION from the environment (images), else ``git rev-parse HEAD``, else ""."""
    revision = os.environ.get("GIT_REVISION", "").strip()
    if revision:
        return revision
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH is the point
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return completed.stdout.strip() if completed.returncode == 0 else ""


# --------------------------------------------------------------------------------------------
# Export / import
# --------------------------------------------------------------------------------------------
def model_version_export(*, version: int) -> dict[str, object]:
    """A JSON-able document: metadata, the artifact in base64 and its sha256."""
    model_version = ModelVersion.objects.filter(version=version).first()
    if model_version is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    artifact = bytes(model_version.artifact)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "version": model_version.version,
        "artifact_sha256": model_version.artifact_sha256,
        "artifact_size": len(artifact),
        "artifact_base64": base64.b64encode(artifact).decode("ascii"),
        "metadata": {
            "trained_at": model_version.trained_at.isoformat(),
            **{name: getattr(model_version, name) for name in METADATA_FIELDS},
        },
    }


def model_version_import(
    *, payload: Mapping[str, object], activate: bool = False, actor=None
) -> ModelVersion:
    """Register an exported model under a new version number, after checking its sha256 and
    that it loads; the original number is kept in the notes and the audit log."""
    if not isinstance(payload, Mapping) or payload.get("format") != EXPORT_FORMAT:
        raise InvalidInput({"format": [f"Not a model export (expected format {EXPORT_FORMAT})."]})
    metadata = payload.get("metadata")
    encoded = payload.get("artifact_base64")
    claimed = payload.get("artifact_sha256")
    if not isinstance(metadata, Mapping) or not isinstance(encoded, str) or not claimed:
        raise InvalidInput(
            {"payload": ["The export lacks metadata, artifact_base64 or artifact_sha256."]}
        )
    try:
        artifact = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput({"artifact_base64": ["The artifact is not valid base64."]}) from exc
    if sha256_hex(artifact) != claimed:
        raise InvalidInput(
            {"artifact_sha256": ["The artifact does not match its sha256: the file is corrupt."]}
        )
    source_version = payload.get("version")
    note = f"Imported from v{source_version} (sha256 {short_sha256(claimed)}…)."
    existing_notes = str(metadata.get("notes") or "").strip()
    merged = {
        **metadata,
        "artifact_sha256": claimed,
        "notes": f"{note}\n{existing_notes}" if existing_notes else note,
    }
    return model_version_register(
        artifact=artifact,
        metadata=merged,
        activate=activate,
        actor=actor,
        action=ModelAction.IMPORTED,
        event_details={"source_version": source_version},
    )
