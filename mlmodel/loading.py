"""The per-process model loader: an artifact cache and a routing snapshot, kept apart.

* :class:`ArtifactCache` maps ``(version id, sha256)`` to a loaded predictor. It is bounded by
  the artifacts' size (``settings.MLMODEL_CACHE_MAX_BYTES``) and never evicts a version the
  current routing needs; a refused artifact (failed integrity check) is retried after a
  back-off or as soon as its row changes (a new sha256 is a new key).
* :class:`RoutingSnapshot` is what serves: the champion and the running experiment's arms and
  slot map, as last read from the database. Each process polls two one-row reads (the champion,
  the running experiment's revision) at most every ``settings.MLMODEL_RELOAD_CHECK_SECONDS`` and
  reads the slot map only when that revision moved. Routing a request is a hash and a tuple
  lookup (``mlmodel.core.rollout``): no I/O, no lock.

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
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import DatabaseError

from mlmodel import selectors
from mlmodel.core.artifacts import ArtifactIntegrityError, load_predictor, short_sha256
from mlmodel.core.predictor import Predictor
from mlmodel.core.rollout import SLOTS, unit_slot
from mlmodel.models import ArmRole
from mlmodel.selectors import ExperimentRouting, RoutingHead, ServingEntry
from portal import metrics
from portal.exceptions import NotFound

logger = logging.getLogger(__name__)

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
    def is_demo(self) -> bool:
        return self.entry.is_demo

    @property
    def short_sha256(self) -> str:
        return short_sha256(self.artifact_sha256)


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
            predictor = load_predictor(
                data, entry.artifact_sha256, batch_threads=settings.MLMODEL_BATCH_THREADS or None
            )
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
            short_sha256(entry.artifact_sha256),
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
class Route:
    """Who answers one request: the model, and the experiment arm it belongs to (if any)."""

    model: LoadedModel
    experiment_id: int | None = None
    arm_id: int | None = None
    phase: int | None = None
    slot: int | None = None
    has_shadows: bool = False


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    """What serves now (as last read), the loaded models for it and when that was checked."""

    head: RoutingHead
    experiment: ExperimentRouting | None
    champion: LoadedModel | None
    arm_models: dict[int, LoadedModel]
    checked_at: float

    def is_fresh(self, check_seconds: float) -> bool:
        return time.monotonic() - self.checked_at < check_seconds

    def with_checked_at(self, checked_at: float) -> RoutingSnapshot:
        return replace(self, checked_at=checked_at)

    def entries(self) -> tuple[ServingEntry, ...]:
        """Every version this routing needs loaded: the champion, then each arm's."""
        entries = [self.head.champion] if self.head.champion else []
        if self.experiment is not None:
            entries += [arm.entry for arm in self.experiment.arms]
        return tuple(dict.fromkeys(entries))

    @property
    def models(self) -> tuple[LoadedModel, ...]:
        """The loaded models, champion first (one entry per version)."""
        models = [self.champion] if self.champion else []
        models += list(self.arm_models.values())
        unique: dict[int, LoadedModel] = {}
        for model in models:
            unique.setdefault(model.version_id, model)
        return tuple(unique.values())

    def required(self) -> set[ArtifactKey]:
        return {_key(model.entry) for model in self.models}

    def route(self, unit: str | None) -> Route | None:
        """The arm for ``unit``: its slot in the slot map, no I/O (None: nothing loads)."""
        experiment = self.experiment
        if experiment is None or unit is None or len(experiment.slot_map) != SLOTS:
            return Route(self.champion) if self.champion else None
        slot = unit_slot(unit, seed=experiment.seed)
        arm_id = experiment.slot_map[slot]
        model = self.arm_models.get(arm_id)
        if model is None:  # that arm's version does not load: the champion's arm answers
            arm_id = next(
                (arm.arm_id for arm in experiment.arms if arm.role == ArmRole.CHAMPION), None
            )
            model = self.arm_models.get(arm_id) if arm_id is not None else None
        if model is None:
            return Route(self.champion) if self.champion else None
        return Route(
            model=model,
            experiment_id=experiment.experiment_id,
            arm_id=arm_id,
            phase=experiment.phase,
            slot=slot,
            has_shadows=any(arm.arm_id in self.arm_models for arm in experiment.shadows),
        )

    def shadow_models(self) -> list[tuple[int, LoadedModel]]:
        """(arm id, model) of every loaded shadow arm."""
        if self.experiment is None:
            return []
        return [
            (arm.arm_id, self.arm_models[arm.arm_id])
            for arm in self.experiment.shadows
            if arm.arm_id in self.arm_models
        ]


def _check_seconds() -> float:
    return float(settings.MLMODEL_RELOAD_CHECK_SECONDS)


def _describe(models: tuple[LoadedModel, ...]) -> str:
    return ", ".join(f"v{model.version_number}" for model in models) or "nothing"


_EMPTY_HEAD = RoutingHead(champion=None, experiment=None)


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
        self._pinned: dict[int, tuple[LoadedModel, float]] = {}

    # --- the serving set ---------------------------------------------------------------------
    def snapshot(self) -> RoutingSnapshot | None:
        """The routing now; refreshed from the database when the check interval passed."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.is_fresh(_check_seconds()):
            return snapshot
        if self._claim_refresh():
            try:
                self._snapshot = self._refresh(snapshot)
            finally:
                self._release_refresh()
        elif snapshot is None:
            self._first_snapshot.wait(FIRST_LOAD_WAIT_SECONDS)
        return self._snapshot

    def serving(self) -> tuple[LoadedModel, ...]:
        """Every loaded model the routing uses (champion first)."""
        snapshot = self.snapshot()
        return snapshot.models if snapshot is not None else ()

    def route(self, unit: str | None) -> Route | None:
        snapshot = self.snapshot()
        return snapshot.route(unit) if snapshot is not None else None

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
        """Make the next :meth:`snapshot` call re-read the routing (after a local change)."""
        snapshot = self._snapshot
        if snapshot is not None:
            self._snapshot = snapshot.with_checked_at(NEVER)
        self._pinned.clear()

    def _refresh(self, current: RoutingSnapshot | None) -> RoutingSnapshot:
        previous = current.models if current is not None else ()
        try:
            head = selectors.routing_head()
            if current is not None and head == current.head and self._complete(current):
                return current.with_checked_at(time.monotonic())
            experiment = (
                selectors.experiment_routing(experiment_id=head.experiment[0])
                if head.experiment is not None
                else None
            )
        except DatabaseError:
            logger.exception(
                "could not read which model versions serve; still serving %s", _describe(previous)
            )
            if current is not None:
                return current.with_checked_at(time.monotonic())
            return RoutingSnapshot(_EMPTY_HEAD, None, None, {}, time.monotonic())
        champion = self._load(head.champion)
        arm_models: dict[int, LoadedModel] = {}
        if experiment is not None:
            for arm in experiment.arms:
                model = self._load(arm.entry)
                if model is not None:
                    arm_models[arm.arm_id] = model
        if champion is None and not arm_models and previous:
            logger.error(
                "no serving model version could be loaded; the last good model keeps serving: %s",
                _describe(previous),
            )
            return replace(current, head=head, checked_at=time.monotonic())
        snapshot = RoutingSnapshot(head, experiment, champion, arm_models, time.monotonic())
        if snapshot.models != previous:
            logger.info(
                "serving model versions changed: %s -> %s",
                _describe(previous),
                _describe(snapshot.models),
            )
        self.cache.retain(snapshot.required() | self._pinned_keys())
        return snapshot

    def _load(self, entry: ServingEntry | None) -> LoadedModel | None:
        if entry is None:
            return None
        predictor = self.cache.get(entry)
        return LoadedModel(entry, predictor) if predictor is not None else None

    def _complete(self, snapshot: RoutingSnapshot) -> bool:
        """Everything the routing needs is loaded (else retry refused ones after back-off)."""
        loaded = {_key(model.entry) for model in snapshot.models}
        return all(_key(entry) in loaded for entry in snapshot.entries())

    def _pinned_keys(self) -> set[ArtifactKey]:
        return {_key(model.entry) for model, _at in self._pinned.values()}

    def refusals(self) -> list[Refusal]:
        """Why versions the routing needs are not serving (empty when all of them load)."""
        snapshot = self._snapshot
        if snapshot is None:
            return []
        loaded = {model.version_id for model in snapshot.models}
        missing = tuple(entry for entry in snapshot.entries() if entry.version_id not in loaded)
        return self.cache.refusals(missing)

    # --- one specific version ----------------------------------------------------------------
    def version(self, version_number: int) -> LoadedModel:
        """A specific version, loaded on demand; raises ModelUnavailable if refused."""
        pinned = self._pinned.get(version_number)
        if pinned is not None and time.monotonic() - pinned[1] < _check_seconds():
            return pinned[0]
        entry = selectors.model_version_entry(version=version_number)
        predictor = self.cache.get(entry)
        if predictor is None:
            refusal = self.cache.refusals((entry,))
            reason = f": {refusal[0].reason}" if refusal else ""
            raise ModelUnavailable(f"Model version {version_number} cannot be loaded{reason}.")
        model = LoadedModel(entry, predictor)
        self._pinned[version_number] = (model, time.monotonic())
        return model

    def version_by_id(self, version_id: int) -> LoadedModel:
        """Like :meth:`version`, by primary key (shadow scoring and batch jobs store ids)."""
        snapshot = self._snapshot
        if snapshot is not None:
            for model in snapshot.models:
                if model.version_id == version_id:
                    return model
        return self.version(selectors.model_version_number(version_id=version_id))


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
    current = _registry
    if current is not None:  # nothing read yet: nothing to forget
        current.invalidate()


def serving_models() -> tuple[LoadedModel, ...]:
    return registry().serving()


def warm() -> tuple[LoadedModel, ...]:
    """Load the serving set now (process start), so the first request is as fast as the rest.

    Never raises: a process whose database is not reachable yet starts anyway and loads at its
    first request, as before. Shadow arms are part of the serving set: workers keep them loaded.
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
    """Why nothing serves, for a 503: no champion, or versions that do not load."""
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
    """Raise when no model can serve; else e.g. ``v3 loaded (sha256 ab12…)``."""
    snapshot = registry().snapshot()
    models = snapshot.models if snapshot is not None else ()
    if not models:
        raise ModelUnavailable(
            "no active model version is loaded (run `python manage.py ensure_active_model`)"
            if not registry().refusals()
            else unavailable_message()
        )
    described = ", ".join(
        f"v{model.version_number} loaded (sha256 {model.short_sha256}…)" for model in models
    )
    if snapshot is not None and snapshot.experiment is not None:
        described += f"; experiment {snapshot.experiment.experiment_id} running"
    return described
