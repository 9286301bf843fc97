"""Model registry writes (register, activate, retire, roll back, export/import) and serving
(``predict``); training lives in ``mlmodel.training_services``. Every change to which model
serves writes a ``ModelEvent``."""

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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mlmodel import loading, selectors
from mlmodel.core.artifacts import ArtifactIntegrityError, load_predictor, sha256_hex
from mlmodel.core.profile import EXAMPLE_PROFILE, SalaryProfile
from mlmodel.core.rollout import SINGLE_ARM, Arm, choose_arm, split_traffic
from mlmodel.models import ModelAction, ModelEvent, ModelStatus, ModelVersion
from portal.exceptions import InvalidInput, NotFound, Unavailable

logger = logging.getLogger(__name__)

FULL_TRAFFIC = 100
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
    """One answer of the served model, with which version (and experiment arm) gave it."""

    estimate_usd: int
    interval_low_usd: int
    interval_high_usd: int
    interval_level: float
    contributions: list[dict[str, object]]
    baseline_usd: int
    model_version_id: int
    model_version_number: int
    is_demo: bool
    experiment_arm: str


def _serving_model(
    *, version: int | None, subject_key: str | None
) -> tuple[loading.LoadedModel, str]:
    registry = loading.registry()
    if version is not None:
        try:
            return registry.version(version), SINGLE_ARM
        except loading.ModelUnavailable as exc:
            raise Unavailable(str(exc)) from exc
    models = registry.serving()
    if not models:
        raise Unavailable(loading.unavailable_message())
    arms = [Arm(m.version_id, m.version_number, m.traffic_share) for m in models]
    assignment = choose_arm(arms, subject_key=subject_key)
    chosen = next(m for m in models if m.version_id == assignment.version_id)
    return chosen, assignment.experiment_arm


def predict(
    profile: SalaryProfile, *, version: int | None = None, subject_key: str | None = None
) -> ServedPrediction:
    """Estimate one profile with the serving model (sticky A/B arm per ``subject_key``)."""
    model, arm = _serving_model(version=version, subject_key=subject_key)
    point = model.predictor.predict_one(profile)
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
        experiment_arm=arm,
    )


def predict_many(
    profiles: Sequence[SalaryProfile],
    *,
    version: int | None = None,
    subject_key: str | None = None,
) -> tuple[int, list[dict[str, object]]]:
    """Estimate many profiles with ONE model version; returns ``(model_version_id, rows)``.

    Each row holds ``estimate_usd``, ``interval_low_usd``, ``interval_high_usd`` and
    ``interval_level``, in the order of ``profiles``.
    """
    model, _arm = _serving_model(version=version, subject_key=subject_key)
    batch = model.predictor.predict_many(list(profiles))
    level = batch.interval_level
    rows = [
        {
            "estimate_usd": int(estimate),
            "interval_low_usd": int(low),
            "interval_high_usd": int(high),
            "interval_level": level,
        }
        for estimate, low, high in zip(
            batch.estimate_usd.tolist(),
            batch.interval_low_usd.tolist(),
            batch.interval_high_usd.tolist(),
            strict=True,
        )
    ]
    return model.version_id, rows


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
def _event(model_version: ModelVersion, action: str, *, actor=None, **details: Any) -> ModelEvent:
    return ModelEvent.objects.create(
        model_version=model_version, action=action, actor=actor, details=details
    )


def _reload_after_commit() -> None:
    """This process sees its own change at once; other processes at their next check."""
    transaction.on_commit(loading.invalidate)


def _locked_version(version: int) -> ModelVersion:
    found = ModelVersion.objects.select_for_update().defer("artifact").filter(version=version)
    model_version = found.first()
    if model_version is None:
        raise NotFound({"version": [f"Model version {version} does not exist."]})
    return model_version


def _locked_actives(*, exclude_pk: int | None = None) -> list[ModelVersion]:
    actives = (
        ModelVersion.objects.select_for_update()
        .defer("artifact")
        .filter(status=ModelStatus.ACTIVE)
        .order_by("version")
    )
    if exclude_pk is not None:
        actives = actives.exclude(pk=exclude_pk)
    return list(actives)


def _retire(model_version: ModelVersion, *, actor, **details: Any) -> None:
    model_version.status = ModelStatus.RETIRED
    model_version.traffic_share = 0
    model_version.retired_at = timezone.now()
    model_version.save(update_fields=["status", "traffic_share", "retired_at"])
    _event(model_version, ModelAction.RETIRED, actor=actor, **details)


def _set_shares(versions: list[ModelVersion], total: int, *, actor, reason: str) -> None:
    """Give ``versions`` ``total`` percent in proportion to their current shares."""
    shares = split_traffic(total, [v.traffic_share for v in versions])
    for model_version, share in zip(versions, shares, strict=True):
        if share == 0:
            _retire(model_version, actor=actor, reason=reason, traffic_share=0)
        elif share != model_version.traffic_share:
            previous = model_version.traffic_share
            model_version.traffic_share = share
            model_version.save(update_fields=["traffic_share"])
            _event(
                model_version,
                ModelAction.TRAFFIC_CHANGED,
                actor=actor,
                reason=reason,
                traffic_share=share,
                previous_traffic_share=previous,
            )


def _check_traffic_total() -> None:
    """With several active versions their shares must add up to 100."""
    shares = list(
        ModelVersion.objects.filter(status=ModelStatus.ACTIVE).values_list(
            "traffic_share", flat=True
        )
    )
    if len(shares) > 1 and sum(shares) != FULL_TRAFFIC:
        raise InvalidInput(
            {
                "traffic_share": [
                    f"Active versions' traffic shares add up to {sum(shares)}, not 100."
                ]
            }
        )
    if len(shares) == 1 and shares[0] != FULL_TRAFFIC:
        raise InvalidInput({"traffic_share": ["The only active version must serve 100%."]})


def _activate(
    target: ModelVersion, *, actor, traffic_share: int, action: str, **details: Any
) -> ModelVersion:
    """Make ``target`` serve ``traffic_share`` percent; callers hold the transaction."""
    if not 1 <= traffic_share <= FULL_TRAFFIC:
        raise InvalidInput({"traffic_share": ["Traffic share must be between 1 and 100."]})
    others = _locked_actives(exclude_pk=target.pk)
    if target.status == ModelStatus.ACTIVE and traffic_share == FULL_TRAFFIC and not others:
        return target  # already the only active version: nothing changes, nothing to log
    if traffic_share == FULL_TRAFFIC:
        for other in others:
            _retire(other, actor=actor, replaced_by=target.version, **details)
    else:
        if not others:
            raise InvalidInput(
                {
                    "traffic_share": [
                        f"v{target.version} cannot serve only {traffic_share}%: no other "
                        "version is active to serve the rest."
                    ]
                }
            )
        _set_shares(
            others,
            FULL_TRAFFIC - traffic_share,
            actor=actor,
            reason=f"v{target.version} activated at {traffic_share}%",
        )
    previous_status = target.status
    target.status = ModelStatus.ACTIVE
    target.traffic_share = traffic_share
    if previous_status != ModelStatus.ACTIVE:
        target.activated_at = timezone.now()
    target.save(update_fields=["status", "traffic_share", "activated_at"])
    _event(
        target,
        action,
        actor=actor,
        traffic_share=traffic_share,
        previous_status=previous_status,
        previously_active=[other.version for other in others],
        **details,
    )
    _check_traffic_total()
    _reload_after_commit()
    return target


@transaction.atomic
def model_version_activate(
    *, version: int, actor=None, traffic_share: int = FULL_TRAFFIC
) -> ModelVersion:
    """Serve ``version``. At 100% it is the single active one (the others are retired);
    below 100% the versions already active share the rest in proportion (an experiment)."""
    target = _locked_version(version)
    activated = _activate(
        target, actor=actor, traffic_share=traffic_share, action=ModelAction.ACTIVATED
    )
    logger.info("model v%s activated at %s%%", version, traffic_share)
    return activated


@transaction.atomic
def model_version_retire(*, version: int, actor=None) -> ModelVersion:
    """Stop serving ``version``; the other active versions take over its share.

    The only active version cannot be retired: that would leave nothing to serve. Activate
    another version (or roll back) instead.
    """
    target = _locked_version(version)
    if target.status == ModelStatus.RETIRED:
        raise InvalidInput({"version": [f"v{version} is already retired."]})
    if target.status == ModelStatus.ACTIVE:
        others = _locked_actives(exclude_pk=target.pk)
        if not others:
            raise InvalidInput(
                {
                    "version": [
                        f"v{version} is the only active version; activate another version "
                        "or roll back instead of retiring it."
                    ]
                }
            )
        _set_shares(others, FULL_TRAFFIC, actor=actor, reason=f"v{version} retired")
    _retire(target, actor=actor)
    _check_traffic_total()
    _reload_after_commit()
    logger.info("model v%s retired", version)
    return target


@transaction.atomic
def model_version_rollback(*, actor=None) -> ModelVersion:
    """Re-activate the version that served before the current one (one-click rollback).

    Versions retired by a rollback are skipped, so rolling back twice goes further back
    instead of returning to the version just rolled back.
    """
    target = selectors.model_version_previous_for_rollback()
    if target is None:
        raise InvalidInput("Nothing to roll back to: no retired version has served before.")
    target = _locked_version(target.version)
    current = [v.version for v in _locked_actives(exclude_pk=target.pk)]
    rolled_back = _activate(
        target,
        actor=actor,
        traffic_share=FULL_TRAFFIC,
        action=ModelAction.ROLLED_BACK,
        rolled_back=True,
    )
    logger.warning("model rolled back from %s to v%s", current, target.version)
    return rolled_back


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
        _event(model_version, action, actor=actor, sha256=sha256, **dict(event_details or {}))
        if activate:
            _activate(
                model_version,
                actor=actor,
                traffic_share=FULL_TRAFFIC,
                action=ModelAction.ACTIVATED,
            )
    logger.info(
        "model v%s registered (sha256 %s, %s bytes%s)",
        model_version.version,
        sha256[:12],
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
    note = f"Imported from v{source_version} (sha256 {str(claimed)[:12]}…)."
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
