"""API token rows kept in memory by each web process, dropped as soon as the database changes them.

Every API request authenticates its token. Under load the look-up's round trip to PostgreSQL
cost about 1 ms of the machine's CPU per request, a quarter of the whole (docs/benchmarks.md),
so each web process keeps the rows it looked up, by digest. That is only safe if a revoked
token or a deactivated user stops working everywhere at once, so:

- PostgreSQL triggers (migration ``accounts/0002``) ``pg_notify`` the user's id whenever a token
  or user row is updated or deleted, whatever did it (``QuerySet.update``, the admin, raw SQL);
  the notification leaves with the commit.
- A thread in each web process (:class:`TokenChangeListener`, started by the gunicorn worker)
  LISTENs on its own connection and drops that user's rows the moment one arrives.
- Nothing is cached, and every look-up queries as before, unless the listener is connected:
  whenever it is not (starting, the connection lost, PostgreSQL restarting) the cache is empty
  and off, so no row outlives a notification it could have missed. It pings every
  ``PING_SECONDS`` to notice a connection that died silently.
- A row read while a notification arrived is not stored (a generation counter): the read may
  predate the change. Rows read inside a transaction are not stored either (they may never
  commit).

The window left is the one any look-up has: a request authenticated an instant before the
revocation committed is answered. SQLite (the embedded default) has no notifications: no cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

CHANNEL = "api_token_changed"
PING_SECONDS = 1.0
RECONNECT_SECONDS = 2.0
MAX_ENTRIES = 10_000


class TokenRowCache:
    """Digest → (user id, row) while the listener is connected; thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[int, tuple]] = {}
        self._generation = 0
        self._listening = False
        self.max_entries = max_entries

    @property
    def enabled(self) -> bool:
        return self._listening

    def get(self, digest: str) -> tuple | None:
        entry = self._rows.get(digest) if self._listening else None
        return None if entry is None else entry[1]

    def generation(self) -> int | None:
        """Read before a look-up and hand to :meth:`put`; ``None``: do not cache now."""
        return self._generation if self._listening else None

    def put(self, digest: str, *, user_id: int, row: tuple, generation: int | None) -> bool:
        """Store a row read since ``generation``, unless a change arrived meanwhile."""
        with self._lock:
            if not self._listening or generation != self._generation:
                return False
            if len(self._rows) >= self.max_entries:
                self._rows.clear()  # rare (that many live tokens in one process): start over
            self._rows[digest] = (user_id, row)
            return True

    def user_changed(self, user_id: int | None) -> None:
        """A notification: drop the user's rows (all rows when the payload is unreadable)."""
        with self._lock:
            self._generation += 1
            if user_id is None:
                self._rows.clear()
            else:
                self._rows = {d: e for d, e in self._rows.items() if e[0] != user_id}

    def listening(self, connected: bool) -> None:
        """The listener (dis)connected: start empty either way."""
        with self._lock:
            self._generation += 1
            self._rows.clear()
            self._listening = connected

    def __len__(self) -> int:
        return len(self._rows)


token_rows = TokenRowCache()


def _user_id(payload: str) -> int | None:
    try:
        return int(payload)
    except ValueError:
        return None


class TokenChangeListener(threading.Thread):
    """LISTENs for token and user changes on a connection of its own and tells the cache."""

    def __init__(self, cache: TokenRowCache, *, alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(name="api-token-change-listener", daemon=True)
        self.cache = cache
        self.alias = alias
        self.stopped = threading.Event()
        self.connected = threading.Event()
        self.backend_pid: int | None = None

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()
        self.join(timeout)

    def run(self) -> None:
        failing = False
        while not self.stopped.is_set():
            try:
                self._listen()
            except Exception:
                # Logged once per outage, not every RECONNECT_SECONDS while the database is down.
                if self.connected.is_set() or not failing:
                    logger.warning("api token listener disconnected; caching off", exc_info=True)
                failing = True
            finally:
                self.cache.listening(False)
                self.connected.clear()
            self.stopped.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(**own_connection_params(self.alias), autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = connection.info.backend_pid
            # Only from here on can no change go unnoticed.
            self.cache.listening(True)
            self.connected.set()
            while not self.stopped.is_set():
                for notification in connection.notifies(timeout=PING_SECONDS):
                    self.cache.user_changed(_user_id(notification.payload))
                connection.execute("SELECT 1")  # a connection that died silently raises here


def own_connection_params(alias: str = DEFAULT_DB_ALIAS) -> dict:
    """``psycopg.connect`` arguments for a connection of our own to Django's database (without
    Django's cursor factory and adapters)."""
    params = dict(connections[alias].get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


_listener: TokenChangeListener | None = None


def listener_start(*, cache: TokenRowCache = token_rows) -> TokenChangeListener | None:
    """Start this process's listener (gunicorn's ``post_fork``) when the cache can be used:
    ``API_TOKEN_CACHE`` on and the database PostgreSQL. Returns it (``None``: no caching)."""
    global _listener
    if not settings.API_TOKEN_CACHE or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    if _listener is None or not _listener.is_alive():
        _listener = TokenChangeListener(cache)
        _listener.start()
    return _listener


def listener_stop() -> None:
    """Stop this process's listener (caching goes off with it)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def cached_row(
    digest: str,
    alias: str,
    query: Callable[[], tuple | None],
    user_id_of: Callable[[tuple], int],
) -> tuple | None:
    """The token row for ``digest``: from memory, else from ``query()`` (then kept when safe)."""
    if alias != DEFAULT_DB_ALIAS:
        return query()
    row = token_rows.get(digest)
    if row is not None:
        return row
    generation = token_rows.generation()
    row = query()
    if row is not None and generation is not None and not connections[alias].in_atomic_block:
        token_rows.put(digest, user_id=user_id_of(row), row=row, generation=generation)
    return row
