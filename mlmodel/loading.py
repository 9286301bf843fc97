"""The per-process model loader: an artifact cache and a routing snapshot, kept apart.

* :class:`ArtifactCache` maps ``(version id, sha256)`` to a loaded predictor. It is bounded by
  the artifacts' size (``settings.MLMODEL_CACHE_MAX_BYTES``) and never evicts a version the
  current routing needs; a refused artifact (failed integrity check) is retried after a
  back-off or as soon as its row changes (a new sha256 is a new key).
* :class:`RoutingSnapshot` is which versions serve and with what share, as last read from the
  database with one small query at most every ``settings.MLMODEL_RELOAD_CHECK_SECONDS``.
  Experiments (arms, shadow roles) change what routing holds, never how the cache works.

No database call is made while a lock is held: one thread claims a refresh, reads and loads
without the lock, then publishes the new snapshot; the others keep answering with the snapshot
they have (only the very first load is waited for). :func:`warm` loads the serving set at
process start (gunicorn ``post_fork``, Celery ``worker_process_init``) so no request pays it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError

from mlmodel import selectors
from mlmodel.core.artifacts import ArtifactIntegrityError, load_predictor
from mlmodel.core.predictor import Predictor
from mlmodel.selectors import ServingEntry
from portal import metrics
from portal.exceptions import NotFound

logger = logging.getLogger(__name__)

SHA256_DISPLAY_LENGTH = 12
NEVER = -math.inf
# How long the first request of a process waits for the first snapshot another thread loads.
FIRST_LOAD_WAIT_SECONDS = 30.0

ArtifactKey = tuple[int, str]


class ModelUnavailable(RuntimeError):
    """No version can serve (none active, or none of the active ones loads)."""


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A routed version and its loaded predictor."""

    entry: ServingEntry
    predictor: Predictor

    @property
    def version_id(self) -> int:
        return self.entry.version_id

    @property
    def version_number(self) -> int:
        return self.entry.version_number

    @property
    def artifact_sha256(self) -> str:
        return self.entry.artifact_sha256

    @property
    def traffic_share(self) -> int:
        return self.entry.traffic_share

    @property
    def is_demo(self) -> bool:
        return self.entry.is_demo

    @property
    def short_sha256(self) -> str:
        return self.artifact_sha256[:SHA256_DISPLAY_LENGTH]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an artifact was not loaded, and when (for the back-off and for messages)."""

    version_number: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class _Cached:
    predictor: Predictor
    size_bytes: int


def _key(entry: ServingEntry) -> ArtifactKey:
    return entry.version_id, entry.artifact_sha256


class ArtifactCache:
    """Loaded predictors by ``(version id, sha256)``, least recently used evicted first."""

    def __init__(self, *, max_bytes: int, refused_retry_seconds: float) -> None:
        self.max_bytes = max_bytes
        self.refused_retry_seconds = refused_retry_seconds
        self._lock = threading.Lock()  # guards the dicts only; never held across I/O
        self._entries: OrderedDict[ArtifactKey, _Cached] = OrderedDict()
        self._refused: dict[ArtifactKey, Refusal] = {}

    def get(self, entry: ServingEntry) -> Predictor | None:
        """The predictor for ``entry``, loading it if needed; None when it is refused."""
        key = _key(entry)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached.predictor
            refusal = self._refused.get(key)
            if refusal and time.monotonic() - refusal.at < self.refused_retry_seconds:
                return None
        loaded = self._load(entry)  # outside the lock: reads the database
        if loaded is None:
            return None
        with self._lock:
            self._refused.pop(key, None)
            self._entries[key] = loaded
            self._entries.move_to_end(key)
        return loaded.predictor

    def _load(self, entry: ServingEntry) -> _Cached | None:
        try:
            data = selectors.model_version_artifact(version_id=entry.version_id)
            predictor = load_predictor(data, entry.artifact_sha256)
        except ArtifactIntegrityError as exc:
            metrics.MODEL_INTEGRITY_FAILURES.inc()
            self._refuse(entry, f"its artifact failed the integrity check ({exc})")
            logger.error(
                "refusing model v%s (id %s): its artifact failed the integrity check (%s)",
                entry.version_number,
                entry.version_id,
                exc,
                extra={"model_version": entry.version_number},
            )
            return None
        except (DatabaseError, NotFound) as exc:
            metrics.MODEL_LOAD_FAILURES.inc()
            logger.exception(
                "could not read model v%s (id %s); will retry at the next check",
                entry.version_number,
                entry.version_id,
                extra={"model_version": entry.version_number},
            )
            self._refuse(entry, f"its artifact could not be read ({type(exc).__name__})")
            return None
        logger.info(
            "loaded model v%s (sha256 %s)",
            entry.version_number,
            entry.artifact_sha256[:SHA256_DISPLAY_LENGTH],
            extra={"model_version": entry.version_number},
        )
        return _Cached(predictor=predictor, size_bytes=len(data))

    def _refuse(self, entry: ServingEntry, reason: str) -> None:
        with self._lock:
            self._refused[_key(entry)] = Refusal(entry.version_number, reason, time.monotonic())

    def refusals(self, entries: tuple[ServingEntry, ...]) -> list[Refusal]:
        """Why each of ``entries`` that is not loaded was refused (for 503s and readiness)."""
        with self._lock:
            return [self._refused[_key(e)] for e in entries if _key(e) in self._refused]

    def retain(self, required: set[ArtifactKey]) -> None:
        """Evict least recently used artifacts beyond the budget, never one in ``required``."""
        with self._lock:
            total = sum(cached.size_bytes for cached in self._entries.values())
            for key in list(self._entries):
                if total <= self.max_bytes:
                    break
                if key in required:
                    continue
                total -= self._entries.pop(key).size_bytes

    def loaded_keys(self) -> list[ArtifactKey]:
        with self._lock:
            return list(self._entries)


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    """Which versions serve now (as last read) and when that was checked."""

    entries: tuple[ServingEntry, ...]
    models: tuple[LoadedModel, ...]
    checked_at: float

    def is_fresh(self, check_seconds: float) -> bool:
        return time.monotonic() - self.checked_at < check_seconds

    def required(self) -> set[ArtifactKey]:
        return {_key(model.entry) for model in self.models}


def _check_seconds() -> float:
    return float(settings.MLMODEL_RELOAD_CHECK_SECONDS)


def _serves_all(models: tuple[LoadedModel, ...], entries: tuple[ServingEntry, ...]) -> bool:
    return [_key(model.entry) for model in models] == [_key(entry) for entry in entries]


def _describe(models: tuple[LoadedModel, ...]) -> str:
    return ", ".join(f"v{model.version_number}" for model in models) or "nothing"


class ModelRegistry:
    """The routing snapshot of this process over its artifact cache."""

    def __init__(self) -> None:
        self.cache = ArtifactCache(
            max_bytes=int(settings.MLMODEL_CACHE_MAX_BYTES),
            refused_retry_seconds=float(settings.MLMODEL_REFUSED_RETRY_SECONDS),
        )
        self._snapshot: RoutingSnapshot | None = None
        self._claim = threading.Lock()  # held only to flip ``_refreshing``
        self._refreshing = False
        self._first_snapshot = threading.Event()
        self._pinned: dict[int, RoutingSnapshot] = {}

    # --- the serving set ---------------------------------------------------------------------
    def serving(self) -> tuple[LoadedModel, ...]:
        """The models serving now; refreshed from the database when the check interval passed."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.is_fresh(_check_seconds()):
            return snapshot.models
        if self._claim_refresh():
            try:
                self._snapshot = self._refresh(snapshot)
            finally:
                self._release_refresh()
        elif snapshot is None:
            self._first_snapshot.wait(FIRST_LOAD_WAIT_SECONDS)
        current = self._snapshot
        return current.models if current is not None else ()

    def _claim_refresh(self) -> bool:
        with self._claim:
            if self._refreshing:
                return False
            self._refreshing = True
            return True

    def _release_refresh(self) -> None:
        with self._claim:
            self._refreshing = False
        self._first_snapshot.set()

    def invalidate(self) -> None:
        """Make the next :meth:`serving` call re-read the routing (after a local change)."""
        snapshot = self._snapshot
        if snapshot is not None:
            self._snapshot = RoutingSnapshot(snapshot.entries, snapshot.models, NEVER)
        self._pinned.clear()

    def _refresh(self, current: RoutingSnapshot | None) -> RoutingSnapshot:
        previous = current.models if current is not None else ()
        try:
            entries = selectors.model_serving_entries()
        except DatabaseError:
            logger.exception(
                "could not read the active model versions; still serving %s", _describe(previous)
            )
            return RoutingSnapshot(current.entries if current else (), previous, time.monotonic())
        if current is not None and entries == current.entries and _serves_all(previous, entries):
            return RoutingSnapshot(entries, previous, time.monotonic())
        models = tuple(
            LoadedModel(entry, predictor)
            for entry in entries
            if (predictor := self.cache.get(entry)) is not None
        )
        if entries and not models and previous:
            logger.error(
                "none of the active model versions (%s) could be loaded; "
                "the last good model keeps serving: %s",
                ", ".join(f"v{entry.version_number}" for entry in entries),
                _describe(previous),
            )
            models = previous
        elif models != previous:
            logger.info(
                "serving model versions changed: %s -> %s", _describe(previous), _describe(models)
            )
        snapshot = RoutingSnapshot(entries, models, time.monotonic())
        self.cache.retain(snapshot.required() | self._pinned_keys())
        return snapshot

    def _pinned_keys(self) -> set[ArtifactKey]:
        return {key for pinned in self._pinned.values() for key in pinned.required()}

    def refusals(self) -> list[Refusal]:
        """Why active versions are not serving (empty when all of them load)."""
        snapshot = self._snapshot
        if snapshot is None:
            return []
        serving = {model.version_id for model in snapshot.models}
        missing = tuple(entry for entry in snapshot.entries if entry.version_id not in serving)
        return self.cache.refusals(missing)

    # --- one specific version ----------------------------------------------------------------
    def version(self, version_number: int) -> LoadedModel:
        """A specific version, loaded on demand; raises ModelUnavailable if refused."""
        pinned = self._pinned.get(version_number)
        if pinned is not None and pinned.is_fresh(_check_seconds()) and pinned.models:
            return pinned.models[0]
        entry = selectors.model_version_entry(version=version_number)
        predictor = self.cache.get(entry)
        if predictor is None:
            refusal = self.cache.refusals((entry,))
            reason = f": {refusal[0].reason}" if refusal else ""
            raise ModelUnavailable(f"Model version {version_number} cannot be loaded{reason}.")
        model = LoadedModel(entry, predictor)
        self._pinned[version_number] = RoutingSnapshot((entry,), (model,), time.monotonic())
        return model


_registry: ModelRegistry | None = None
_registry_lock = threading.Lock()


def registry() -> ModelRegistry:
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = ModelRegistry()
    return _registry


def reset_registry() -> None:
    """Forget every loaded model (tests; the next request loads from the database)."""
    global _registry
    with _registry_lock:
        _registry = None


def invalidate() -> None:
    """Re-read the routing on the next request (called after this process changes it)."""
    registry().invalidate()


def serving_models() -> tuple[LoadedModel, ...]:
    return registry().serving()


def warm() -> tuple[LoadedModel, ...]:
    """Load the serving set now (process start), so the first request is as fast as the rest.

    Never raises: a process whose database is not reachable yet starts anyway and loads at its
    first request, as before.
    """
    started = time.perf_counter()
    try:
        models = registry().serving()
    except Exception:
        logger.exception("could not warm the model registry; loading at the first request")
        return ()
    logger.info(
        "model registry warm: %s in %.0f ms",
        _describe(models),
        (time.perf_counter() - started) * 1000,
    )
    return models


def unavailable_message() -> str:
    """Why nothing serves, for a 503: no active version, or active ones that do not load."""
    refusals = registry().refusals()
    if refusals:
        return "No model can serve right now: " + "; ".join(
            f"v{refusal.version_number} is active but {refusal.reason}" for refusal in refusals
        )
    return (
        "No model is active yet. An administrator must train or activate one "
        "(python manage.py ensure_active_model)."
    )


def readiness_check() -> str:
    """Raise when no active model can serve; else e.g. ``v3 loaded (sha256 ab12…)``."""
    models = registry().serving()
    if not models:
        raise ModelUnavailable(
            "no active model version is loaded (run `python manage.py ensure_active_model`)"
            if not registry().refusals()
            else unavailable_message()
        )
    if len(models) == 1:
        model = models[0]
        return f"v{model.version_number} loaded (sha256 {model.short_sha256}…)"
    return ", ".join(
        f"v{model.version_number} {model.traffic_share}% loaded (sha256 {model.short_sha256}…)"
        for model in models
    )
