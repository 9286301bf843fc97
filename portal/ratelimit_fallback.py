"""Rate limits that keep limiting when the shared cache (Redis) is down.

django-ratelimit counts in the shared cache; when Redis is unreachable it raises, and the
portal answers 503 (``portal/errors.py``): the limiter *fails closed*. That is right for the
doors an attacker aims at (log-in, token, sign-up), and wrong for the portal's own work: one
Redis outage would stop every prediction.

:func:`ratelimit_with_fallback` is a drop-in for ``django_ratelimit.decorators.ratelimit``. While
the shared cache answers it is exactly django-ratelimit (same cache keys, same counters). When
the cache raises a connection or timeout error, the request is counted instead by a per-process
limiter: the same rate, per the same key (user or IP), in a bounded LRU of keys, thread-safe.
It is never unlimited: over the rate the usual ``Ratelimited`` is raised (429 + Retry-After).
With N web processes a client may get up to N times the rate during an outage, never more.

With Redis as the shared cache, a request is counted in one round trip, ``INCRBY key 1`` and
``EXPIRE key ttl`` pipelined without a transaction, on django-ratelimit's own cache keys and
windows. django-ratelimit itself needs two (``add``, then ``incr``), and between them a key
that vanished (a flush, an eviction) made ``incr`` find nothing, which it answered with a 429
for a client under its limit; here a vanished key is simply created again, with its expiry.
Other caches (the embedded server's file cache) go through django-ratelimit.

After a cache error the shared cache is left alone for :data:`SHARED_CACHE_RETRY_SECONDS`
(so a silent Redis does not cost every request a socket timeout), then tried again: when Redis
is back the shared counters are used again by themselves, without a restart.

Each fallback use is counted in ``mlpaygrade_ratelimit_fallback_total{group}`` (defined here:
``portal/metrics.py`` has no such counter) and logged as a warning at most once every
:data:`LOG_INTERVAL_SECONDS` per process, with the number of uses since the last warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django_ratelimit import ALL
from django_ratelimit.core import (
    _SIMPLE_KEYS,
    EXPIRATION_FUDGE,
    _get_window,
    _make_cache_key,
    _split_rate,
    is_ratelimited,
)
from django_ratelimit.exceptions import Ratelimited
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# The errors of an unreachable or silent shared cache; any other error is a bug and propagates.
SHARED_CACHE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionInterrupted,
)
# Distinct (group, key) counters kept in memory per process; the least recently used goes first.
MAX_KEYS = 10_000
# After a shared-cache error, requests go straight to the fallback for this long.
SHARED_CACHE_RETRY_SECONDS = 5.0
LOG_INTERVAL_SECONDS = 60.0

FALLBACK_USES = Counter(
    "mlpaygrade_ratelimit_fallback",
    "Rate-limit checks answered by the per-process fallback because the shared cache was down.",
    ["group"],
)


class FallbackLimiter:
    """Fixed-window counters per (group, key value), in a bounded LRU; thread-safe."""

    def __init__(self, max_keys: int = MAX_KEYS):
        self.max_keys = max_keys
        self._counts: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, group: str, value: str, limit: int, period: int) -> bool:
        """Count one request; True when it is over ``limit`` in the current window."""
        # The same windows as django-ratelimit (epoch-aligned, with its per-key jitter).
        window = _get_window(value, period)
        slot = (group, value)
        with self._lock:
            stored_window, count = self._counts.get(slot, (window, 0))
            count = count + 1 if stored_window == window else 1
            self._counts[slot] = (window, count)
            self._counts.move_to_end(slot)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
        return count > limit

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class _SharedCacheState:
    """When the shared cache last failed, and the rate-limited warning's bookkeeping."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failed_at: float | None = None
        self.last_logged_at: float | None = None
        self.uses_since_log = 0

    def should_try_shared(self) -> bool:
        with self._lock:
            failed_at = self.failed_at
        return failed_at is None or time.monotonic() - failed_at >= SHARED_CACHE_RETRY_SECONDS

    def failed(self) -> None:
        with self._lock:
            self.failed_at = time.monotonic()

    def recovered(self) -> None:
        if self.failed_at is None:
            return  # the usual case, without taking the lock
        with self._lock:
            was_down, self.failed_at = self.failed_at is not None, None
            uses, self.uses_since_log = self.uses_since_log, 0
            self.last_logged_at = None
        if was_down:
            logger.warning(
                "shared rate-limit cache is reachable again; back to shared counters "
                "(%d check(s) used the per-process fallback since the last warning)",
                uses,
            )

    def fallback_used(self, group: str, exc: BaseException | None) -> None:
        FALLBACK_USES.labels(group).inc()
        now = time.monotonic()
        with self._lock:
            self.uses_since_log += 1
            due = self.last_logged_at is None or now - self.last_logged_at >= LOG_INTERVAL_SECONDS
            if not due:
                return
            self.last_logged_at = now
            uses, self.uses_since_log = self.uses_since_log, 0
        logger.warning(
            "shared rate-limit cache unavailable (%s); per-process fallback limiter in use "
            "(%d check(s) since the last warning, group %s)",
            exc or "retrying it later",
            uses,
            group,
        )

    def reset(self) -> None:
        with self._lock:
            self.failed_at = None
            self.last_logged_at = None
            self.uses_since_log = 0


fallback_limiter = FallbackLimiter()
shared_cache_state = _SharedCacheState()


def reset() -> None:
    """Forget the fallback counters and the cache's state (tests; a process never needs it)."""
    fallback_limiter.clear()
    shared_cache_state.reset()


@receiver(setting_changed)
def _reset_on_cache_settings_change(*, setting: str, **kwargs) -> None:
    """A new cache configuration (tests override it) starts with a clean slate."""
    if setting in ("CACHES", "RATELIMIT_USE_CACHE"):
        reset()


def _method_matches(request: HttpRequest, method) -> bool:
    if method == ALL or method is None:
        return True
    methods = [method] if isinstance(method, str) else method
    return request.method in [m.upper() for m in methods]


def _key_value(key, group: str, request: HttpRequest) -> str:
    if callable(key):
        return str(key(group, request))
    if key in _SIMPLE_KEYS:
        return str(_SIMPLE_KEYS[key](request))
    if isinstance(key, str) and "." in key:
        return str(import_string(key)(group, request))
    raise ValueError(f"the fallback limiter does not support the rate-limit key {key!r}")


def _rate(rate, group: str, request: HttpRequest):
    if callable(rate):
        return rate(group, request)
    if isinstance(rate, str) and "." in rate:
        return import_string(rate)(group, request)
    return rate


def _applicable_rate(request: HttpRequest, *, group: str, rate, method) -> str | None:
    """The rate that applies to this request, or None when nothing limits it."""
    if not getattr(settings, "RATELIMIT_ENABLE", True) or not _method_matches(request, method):
        return None
    return _rate(rate, group, request)


def _fallback_is_limited(
    request: HttpRequest, *, group: str, key, rate, method, exc: BaseException | None
) -> bool:
    resolved = _applicable_rate(request, group=group, rate=rate, method=method)
    if resolved is None:
        return False
    limit, period = _split_rate(resolved)
    shared_cache_state.fallback_used(group, exc)
    return fallback_limiter.hit(group, _key_value(key, group, request), limit, period)


def _shared_is_limited(request: HttpRequest, *, group: str, key, rate, method) -> bool:
    """Count the request in the shared cache; True when it is over the rate."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if not isinstance(cache, RedisCache):
        return is_ratelimited(
            request, group=group, key=key, rate=rate, method=method, increment=True
        )
    resolved = _applicable_rate(request, group=group, rate=rate, method=method)
    if resolved is None:
        return False
    limit, period = _split_rate(resolved)
    value = _key_value(key, group, request)
    cache_key = cache.client.make_key(
        _make_cache_key(group, _get_window(value, period), resolved, value, method)
    )
    # One round trip, no transaction: INCRBY is atomic by itself, and the expiry is set with
    # it every time (the window is part of the key, so moving a live key's expiry is harmless)
    # instead of by a second trip that could fail and leave the key without one.
    pipeline = cache.client.get_client(write=True).pipeline(transaction=False)
    pipeline.incr(cache_key)
    pipeline.expire(cache_key, period + EXPIRATION_FUDGE)
    count, _expiry_set = pipeline.execute()
    return count > limit


def is_limited_with_fallback(request: HttpRequest, *, group: str, key, rate, method=ALL) -> bool:
    """The shared cache's count (incrementing), or the per-process one while Redis is down."""
    if shared_cache_state.should_try_shared():
        try:
            limited = _shared_is_limited(request, group=group, key=key, rate=rate, method=method)
        except SHARED_CACHE_ERRORS as exc:
            shared_cache_state.failed()
            return _fallback_is_limited(
                request, group=group, key=key, rate=rate, method=method, exc=exc
            )
        shared_cache_state.recovered()
        return limited
    return _fallback_is_limited(request, group=group, key=key, rate=rate, method=method, exc=None)


def ratelimit_with_fallback(*, group: str, key, rate, method=ALL) -> Callable:
    """Like ``django_ratelimit.decorators.ratelimit(block=True)``, but keeps limiting (per
    process) instead of failing when the shared cache is down. ``group`` is required."""

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def _wrapped(request: HttpRequest, *args, **kwargs):
            old_limited = getattr(request, "limited", False)
            limited = is_limited_with_fallback(
                request, group=group, key=key, rate=rate, method=method
            )
            request.limited = limited or old_limited
            if limited:
                raise Ratelimited()
            return fn(request, *args, **kwargs)

        return _wrapped

    return decorator
