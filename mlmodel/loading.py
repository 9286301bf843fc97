"""The per-process registry of loaded models: which versions serve, kept fresh cheaply.

Each process (web worker, Celery worker) holds its loaded predictors in memory. The active set
(ids, sha256, traffic shares) is re-read with one small query at most every
``settings.MLMODEL_RELOAD_CHECK_SECONDS``; artifacts are fetched and loaded only when that set
changes. A version whose artifact fails its integrity check is refused (logged as an error) and
the last good models keep serving. Requests never wait on the database while a snapshot exists:
one thread refreshes, the others keep answering with the snapshot they have.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError

from mlmodel import selectors
from mlmodel.core.artifacts import ArtifactIntegrityError, load_predictor
from mlmodel.selectors import ServingEntry

if TYPE_CHECKING:
    from mlmodel.core.predictor import Predictor

logger = logging.getLogger(__name__)

# Versions loaded on demand (pinned requests) beyond the serving set are kept up to this many.
MAX_PINNED_VERSIONS = 4
SHA256_DISPLAY_LENGTH = 12
NEVER = -math.inf


class ModelUnavailable(RuntimeError):
    """No version can serve (none active, or none of the active ones loads)."""


@dataclass(frozen=True, slots=True)
class LoadedModel:
    version_id: int
    version_number: int
    artifact_sha256: str
    traffic_share: int
    is_demo: bool
    predictor: Predictor

    @property
    def short_sha256(self) -> str:
        return self.artifact_sha256[:SHA256_DISPLAY_LENGTH]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The active set as last read from the database, and the models actually serving it."""

    entries: tuple[ServingEntry, ...]
    models: tuple[LoadedModel, ...]
    checked_at: float


@dataclass(slots=True)
class _Pinned:
    model: LoadedModel
    checked_at: float


def _check_seconds() -> float:
    return float(settings.MLMODEL_RELOAD_CHECK_SECONDS)


def _describe(models: tuple[LoadedModel, ...]) -> str:
    return ", ".join(f"v{model.version_number}" for model in models) or "nothing"


class ModelRegistry:
    """Loaded predictors keyed by version id, plus the snapshot of which ones serve."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._loaded: dict[int, LoadedModel] = {}
        self._pinned: dict[int, _Pinned] = {}
        # (version id, sha256) pairs whose artifact was refused: not re-read on every check.
        self._refused: set[tuple[int, str]] = set()

    # --- serving set -------------------------------------------------------------------------
    def serving(self) -> tuple[LoadedModel, ...]:
        """The models serving now; refreshed from the database when the check interval passed."""
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - snapshot.checked_at < _check_seconds():
            return snapshot.models
        # The first load must wait; later refreshes are done by whichever thread gets the lock.
        if self._lock.acquire(blocking=snapshot is None):
            try:
                current = self._snapshot
                if current is None or time.monotonic() - current.checked_at >= _check_seconds():
                    self._snapshot = self._refresh(current)
            finally:
                self._lock.release()
        return self._snapshot.models if self._snapshot is not None else ()

    def invalidate(self) -> None:
        """Make the next :meth:`serving` call re-read the active set (after a local change)."""
        snapshot = self._snapshot
        if snapshot is not None:
            self._snapshot = dataclasses.replace(snapshot, checked_at=NEVER)

    def _refresh(self, current: _Snapshot | None) -> _Snapshot:
        previous_models = current.models if current is not None else ()
        try:
            entries = selectors.model_serving_entries()
        except DatabaseError:
            logger.exception(
                "could not read the active model versions; still serving %s",
                _describe(previous_models),
            )
            if current is None:
                return _Snapshot(entries=(), models=(), checked_at=time.monotonic())
            return dataclasses.replace(current, checked_at=time.monotonic())
        if current is not None and entries == current.entries:
            return dataclasses.replace(current, checked_at=time.monotonic())

        models = tuple(model for entry in entries if (model := self._load(entry)) is not None)
        if entries and not models and previous_models:
            logger.error(
                "none of the active model versions (%s) could be loaded; "
                "the last good model keeps serving: %s",
                ", ".join(f"v{entry.version_number}" for entry in entries),
                _describe(previous_models),
            )
            models = previous_models
        elif models != previous_models:
            logger.info(
                "serving model versions changed: %s -> %s",
                _describe(previous_models),
                _describe(models),
            )
        self._forget_unused({model.version_id for model in models})
        return _Snapshot(entries=entries, models=models, checked_at=time.monotonic())

    def _load(self, entry: ServingEntry) -> LoadedModel | None:
        """The loaded model for ``entry`` (cached when the sha256 matches), or None if refused."""
        cached = self._loaded.get(entry.version_id)
        if cached is not None and cached.artifact_sha256 == entry.artifact_sha256:
            if (cached.traffic_share, cached.is_demo) != (entry.traffic_share, entry.is_demo):
                cached = dataclasses.replace(
                    cached, traffic_share=entry.traffic_share, is_demo=entry.is_demo
                )
                self._loaded[entry.version_id] = cached
            return cached
        if (entry.version_id, entry.artifact_sha256) in self._refused:
            return None
        try:
            data = selectors.model_version_artifact(version_id=entry.version_id)
            predictor = load_predictor(data, entry.artifact_sha256)
        except ArtifactIntegrityError as exc:
            self._refused.add((entry.version_id, entry.artifact_sha256))
            logger.error(
                "refusing model v%s (id %s): its artifact failed the integrity check (%s)",
                entry.version_number,
                entry.version_id,
                exc,
                extra={"model_version": entry.version_number},
            )
            return None
        except Exception:
            logger.exception(
                "could not load model v%s (id %s); will retry at the next check",
                entry.version_number,
                entry.version_id,
                extra={"model_version": entry.version_number},
            )
            return None
        model = LoadedModel(
            version_id=entry.version_id,
            version_number=entry.version_number,
            artifact_sha256=entry.artifact_sha256,
            traffic_share=entry.traffic_share,
            is_demo=entry.is_demo,
            predictor=predictor,
        )
        self._loaded[entry.version_id] = model
        logger.info(
            "loaded model v%s (sha256 %s)",
            model.version_number,
            model.short_sha256,
            extra={"model_version": model.version_number},
        )
        return model

    def _forget_unused(self, serving_ids: set[int]) -> None:
        keep = serving_ids | {pinned.model.version_id for pinned in self._pinned.values()}
        for version_id in list(self._loaded):
            if version_id not in keep:
                del self._loaded[version_id]

    # --- one specific version ----------------------------------------------------------------
    def version(self, version_number: int) -> LoadedModel:
        """A specific version, loaded on demand and cached; raises ModelUnavailable if refused."""
        pinned = self._pinned.get(version_number)
        if pinned is not None and time.monotonic() - pinned.checked_at < _check_seconds():
            return pinned.model
        with self._lock:
            entry = selectors.model_version_entry(version=version_number)
            model = self._load(entry)
            if model is None:
                raise ModelUnavailable(f"Model version {version_number} cannot be loaded.")
            self._pinned.pop(version_number, None)
            self._pinned[version_number] = _Pinned(model=model, checked_at=time.monotonic())
            while len(self._pinned) > MAX_PINNED_VERSIONS:
                del self._pinned[next(iter(self._pinned))]
            serving = self._snapshot.models if self._snapshot is not None else ()
            self._forget_unused({m.version_id for m in serving})
        return model


_registry = ModelRegistry()


def registry() -> ModelRegistry:
    return _registry


def reset_registry() -> None:
    """Forget every loaded model (tests; the next request loads from the database)."""
    global _registry
    _registry = ModelRegistry()


def invalidate() -> None:
    """Re-read the active set on the next request (called after this process changes it)."""
    _registry.invalidate()


def serving_models() -> tuple[LoadedModel, ...]:
    return _registry.serving()


def readiness_check() -> str:
    """Raise when no active model can serve; else e.g. ``v3 loaded (sha256 ab12…)``."""
    models = _registry.serving()
    if not models:
        raise ModelUnavailable(
            "no active model version is loaded (run `python manage.py ensure_active_model`)"
        )
    if len(models) == 1:
        model = models[0]
        return f"v{model.version_number} loaded (sha256 {model.short_sha256}…)"
    return ", ".join(
        f"v{model.version_number} {model.traffic_share}% loaded (sha256 {model.short_sha256}…)"
        for model in models
    )
