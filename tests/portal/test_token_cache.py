"""API token rows answered from memory only while PostgreSQL can announce every change to them:
a revoked token or a deactivated user is refused by the next request, whatever made the change."""

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from portal.accounts import token_cache
from portal.accounts.authentication import token_lookup
from portal.accounts.models import ApiToken, hash_token_key
from portal.accounts.services import api_token_create, api_token_revoke, api_tokens_revoke
from portal.accounts.token_cache import TokenChangeListener, TokenRowCache
from tests.concurrency import wait_until

ME_URL = "/api/v1/me/"
CHANGE_SEEN_SECONDS = 5.0
CONNECT_SECONDS = 10.0


def _token_queries(queries) -> int:
    return sum('FROM "accounts_apitoken"' in query["sql"] for query in queries)


SENTINEL_USER_ID = -1


@pytest.fixture
def listener(monkeypatch):
    """This process's cache with its listener connected (as a gunicorn worker runs it); the
    users whose change it has seen are listed in ``listener.seen``."""
    if connection.vendor != "postgresql":
        pytest.skip("notifications need PostgreSQL; without them nothing is cached")
    cache = token_cache.token_rows
    seen: list[int | None] = []
    user_changed = cache.user_changed

    def observed(user_id):
        user_changed(user_id)
        seen.append(user_id)

    monkeypatch.setattr(cache, "user_changed", observed)
    running = TokenChangeListener(cache)
    running.seen = seen
    running.start()
    assert running.connected.wait(CONNECT_SECONDS)
    yield running
    running.stop()
    token_cache.token_rows.listening(False)


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _settled(listener) -> None:
    """Wait until the listener has handled every change made so far (they arrive in order)."""
    _another_process_runs("SELECT pg_notify(%s, %s)", token_cache.CHANNEL, str(SENTINEL_USER_ID))
    assert _wait_until(lambda: SENTINEL_USER_ID in listener.seen)
    listener.seen.clear()


def _fresh_token(user, listener) -> tuple[ApiToken, str]:
    """A token whose last use is recent, so no request writes ``last_used_at``; the
    notifications of setting it up are handled before the test goes on."""
    token, key = api_token_create(user=user, name="laptop")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    _settled(listener)
    return token, key


def _wait_until(condition) -> bool:
    return wait_until(condition, seconds=CHANGE_SEEN_SECONDS)


def _status_once_cached(client: APIClient) -> list[int]:
    """Two requests: the first looks the token up, the second must not."""
    statuses = []
    for expected_queries in (1, 0):
        with CaptureQueriesContext(connection) as queries:
            statuses.append(client.get(ME_URL).status_code)
        assert _token_queries(queries.captured_queries) == expected_queries
    return statuses


@pytest.mark.django_db(transaction=True)
def test_a_token_is_looked_up_once_then_answered_from_memory(user, listener):
    _token, key = _fresh_token(user, listener)
    assert _status_once_cached(_client(key)) == [200, 200]


def _another_process_runs(sql: str, *params) -> None:
    """The change as another process (or psql) makes it, on a connection of its own."""
    with psycopg.connect(**token_cache.own_connection_params(), autocommit=True) as other:
        other.execute(sql, params)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change",
    [
        "revoke through the service",
        "the admin's bulk revoke (QuerySet.update)",
        "revoke with SQL from another process",
        "token deleted",
        "user deactivated (QuerySet.update)",
        "user deleted",
    ],
)
def test_a_change_to_a_cached_token_or_its_user_refuses_the_next_request(user, listener, change):
    # given a token this process answers from memory
    token, key = _fresh_token(user, listener)
    client = _client(key)
    assert _status_once_cached(client) == [200, 200]

    # when the token or its user changes, by whatever path
    if change == "revoke through the service":
        api_token_revoke(user=user, token_id=token.pk)
    elif change == "the admin's bulk revoke (QuerySet.update)":
        assert api_tokens_revoke(token_ids=[token.pk]) == 1
    elif change == "revoke with SQL from another process":
        _another_process_runs(
            "UPDATE accounts_apitoken SET revoked_at = now() WHERE id = %s", token.pk
        )
    elif change == "token deleted":
        ApiToken.objects.filter(pk=token.pk).delete()
    elif change == "user deactivated (QuerySet.update)":
        type(user).objects.filter(pk=user.pk).update(is_active=False)
    else:
        user.delete()

    # then the notification empties the process's rows for that user, and the token is refused
    assert _wait_until(lambda: token_cache.token_rows.get(hash_token_key(key)) is None)
    assert client.get(ME_URL).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_another_users_change_keeps_this_users_row(user, django_user_model, listener):
    _token, key = _fresh_token(user, listener)
    assert _status_once_cached(_client(key)) == [200, 200]
    other = django_user_model.objects.create_user(username="other", password="pw-123456789")

    other.save()  # a notification for the other user only

    assert _wait_until(lambda: other.pk in listener.seen)
    assert token_cache.token_rows.get(hash_token_key(key)) is not None


@pytest.mark.django_db(transaction=True)
def test_while_the_listener_is_disconnected_nothing_is_cached(user, listener):
    # given a cached token
    _token, key = _fresh_token(user, listener)
    client = _client(key)
    assert _status_once_cached(client) == [200, 200]

    # when the listener's connection is cut (a restart, a network fault)
    _another_process_runs("SELECT pg_terminate_backend(%s)", listener.backend_pid)

    # then the rows are gone at once and every request queries until it is back
    assert _wait_until(lambda: not listener.connected.is_set())
    assert len(token_cache.token_rows) == 0
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200
    assert _token_queries(queries.captured_queries) == 1
    # and it reconnects by itself, and caching resumes
    assert listener.connected.wait(CONNECT_SECONDS)
    assert _status_once_cached(client) == [200, 200]


@pytest.mark.django_db
def test_rows_read_inside_a_transaction_are_not_kept(user, listener):
    # (the test itself runs in a transaction, as a request inside atomic() would)
    _token, key = api_token_create(user=user, name="laptop")
    assert connection.in_atomic_block
    with transaction.atomic():
        assert token_lookup().fetch(hash_token_key(key)) is not None
    assert len(token_cache.token_rows) == 0


def test_a_row_read_while_a_change_arrived_is_not_kept():
    cache = TokenRowCache()
    cache.listening(True)
    generation = cache.generation()
    cache.user_changed(7)  # arrives between the read and the store

    assert cache.put("digest", user_id=7, row=("row",), generation=generation) is False
    assert cache.get("digest") is None
    assert cache.put("digest", user_id=7, row=("row",), generation=cache.generation()) is True
    assert cache.get("digest") == ("row",)


def test_nothing_is_kept_or_answered_without_a_listener():
    cache = TokenRowCache()
    assert cache.generation() is None
    assert cache.put("digest", user_id=1, row=("row",), generation=None) is False
    cache.listening(True)
    cache.put("digest", user_id=1, row=("row",), generation=cache.generation())
    cache.listening(False)
    assert cache.get("digest") is None and len(cache) == 0


def test_a_change_drops_only_that_users_rows():
    cache = TokenRowCache()
    cache.listening(True)
    for digest, user_id in (("a", 1), ("b", 1), ("c", 2)):
        cache.put(digest, user_id=user_id, row=(digest,), generation=cache.generation())

    cache.user_changed(1)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, ("c",))
    cache.user_changed(None)  # an unreadable payload: everything goes
    assert len(cache) == 0


@pytest.mark.django_db
def test_with_the_setting_off_no_listener_starts(settings):
    settings.API_TOKEN_CACHE = False
    assert token_cache.listener_start() is None


@pytest.mark.django_db(transaction=True)
def test_a_worker_starts_its_listener_with_its_resources(settings):
    from portal.warmup import open_worker_resources

    if connection.vendor != "postgresql":
        pytest.skip("notifications need PostgreSQL; without them nothing is cached")
    settings.API_TOKEN_CACHE = True
    try:
        open_worker_resources()  # what gunicorn's post_fork runs
        started = token_cache.listener_start()  # the same one, not a second
        assert started is not None and started.connected.wait(CONNECT_SECONDS)
        assert token_cache.token_rows.enabled
    finally:
        token_cache.listener_stop()
    assert not token_cache.token_rows.enabled


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'api_token%%'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_notification_triggers_come_and_go_with_their_migration():
    from django.db.migrations.executor import MigrationExecutor

    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's")
    assert _triggers() == {"api_token_changed", "api_token_user_changed"}
    try:
        MigrationExecutor(connection).migrate([("accounts", "0001_initial")])
        assert _triggers() == set()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _triggers() == {"api_token_changed", "api_token_user_changed"}
