"""Django's PostgreSQL backend with a health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before the first query of
each request by sending ``SELECT 1``: a round trip on every API request, ~8 % of a worker's
time under load (docs/benchmarks.md). The server sends nothing to an idle connection of ours
unless it is going away: a terminated backend or a server shutting down sends a FATAL error and
closes the socket, a crashed one just closes it. So the socket is polled instead: anything to
read, or a connection psycopg no longer holds open, means it is not usable and Django opens a
new one before the query. (Django's connections never LISTEN: the API token listener has its
own; a stray notice would only cost a reconnect.) A connection that silently stopped answering
is not caught by either check: its query fails and the request is a 503
(``portal/errors.py``), bounded by the connect timeout.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):  # psycopg: "the connection is lost"
            return False
        return not readable
