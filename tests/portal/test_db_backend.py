"""The PostgreSQL backend's health check polls the socket: no query, and a dead connection is
noticed and replaced before the request's first query (portal/db/postgresql/base.py)."""

import time

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.conftest import _test_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MARKER_QUERY = "SELECT 'health-check-marker'"
NOTICE_SECONDS = 5.0


def _last_query_of(backend_pid: int) -> str:
    with psycopg.connect(_test_database_url(), autocommit=True) as other:
        row = other.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid]
        ).fetchone()
    return row[0]


def test_the_health_check_of_a_live_connection_sends_no_query():
    # given a connection whose last query is known
    with connection.cursor() as cursor:
        cursor.execute(MARKER_QUERY)
    backend_pid = connection.connection.info.backend_pid

    # when Django checks its health (as before the first query of a request)
    usable = connection.is_usable()

    # then it is usable, and the server saw no SELECT 1
    assert usable is True
    assert _last_query_of(backend_pid) == MARKER_QUERY


def test_a_terminated_connection_is_noticed_and_replaced_before_the_next_query():
    # given the process's connection, killed by the server (pg_terminate_backend)
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(_test_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    # then the health check says so once the server's goodbye arrives
    deadline = time.monotonic() + NOTICE_SECONDS
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection.is_usable() is False

    # and a request's first query (health check due) runs on a new connection
    connection.health_check_enabled, connection.health_check_done = True, False
    assert get_user_model().objects.count() == 0
    assert connection.connection.info.backend_pid != backend_pid
