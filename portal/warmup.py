"""What a web process would otherwise do during its first requests, done at start-up instead.

gunicorn imports the app once in its master (``preload_app``): :func:`import_request_path`
runs there, so the imports are shared by every forked worker. Each worker then runs
:func:`open_worker_resources` (``post_fork``): its own database connection, cache client and
loaded models, because connections and libxgboost's threads must not cross a fork; and
:func:`answer_warm_up_requests`: requests the worker answers itself before its first client.

Those requests matter because a fresh process pays once for much more than imports
(docs/benchmarks.md, "First request after a worker starts"): Django's and DRF's lazily built
caches (model metadata, serializer fields, URL reversing regexes, the time zone), psycopg's
query conversion, prometheus label sets, the first runs of every function before Python 3.11
specialises its bytecode, and on the PostgreSQL side a new backend's catalog caches for the
tables, indexes and foreign-key checks an INSERT touches. So the warm-up is the real thing:

- a few refused requests (a token that cannot exist: a 401 each) through the whole WSGI
  application, middleware and error renderer included;
- then :data:`WARM_UP_PREDICTIONS` authenticated predictions through the same middleware and
  view, answered and stored like any other, by a user and token created for the purpose, all
  inside one transaction that is rolled back: nothing stays in the database, the predictions
  are not counted in the business metrics (``portal.metrics.uncounted``), and foreign keys are
  checked at each INSERT (``SET CONSTRAINTS ALL IMMEDIATE``) so those checks are warm too.

They cost 1.0–1.4 s per worker start on the shared 2-core machine while four test suites ran
beside it (most of it the first runs they exist for); meanwhile the worker accepts no
connection (``post_fork`` runs before its loop), so the other workers answer, and leave gaps in
the id sequences of users, tokens and predictions. django-prometheus's HTTP counters include
them (they are requests).
"""

import importlib
import io
import json
import logging
import os
import secrets
import time
from wsgiref.util import setup_testing_defaults

from django.conf import settings
from django.core.cache import cache, caches
from django.core.handlers.wsgi import WSGIRequest
from django.urls import get_resolver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

WARM_UP_CACHE_KEY = "portal:warm-up"
WARM_UP_PATH = "/api/v1/predictions/"
# A prediction request with a token that cannot exist: it runs the middleware, DRF's dispatch,
# the token look-up, the error handler and the JSON renderer, and stores nothing (a 401).
WARM_UP_TOKEN = "warm-up-not-a-token"  # noqa: S105 - a deliberately invalid credential
WARM_UP_ROUNDS = 3
# Python 3.11 specialises a function's bytecode only after it has run several times; measured
# (docs/benchmarks.md), the first ~10 answers of a fresh worker are slower than the rest.
WARM_UP_PREDICTIONS = 12
WARM_UP_USER_PREFIX = "warm-up-"
UNAUTHORIZED = 401
CREATED = 201


def import_request_path() -> None:
    """Import every URL pattern and view, the cache backend, and the session and message
    storage classes (Django imports each lazily, on first use)."""
    get_resolver().reverse_dict  # noqa: B018  (building it imports every URLconf and view)
    caches["default"]
    importlib.import_module(settings.SESSION_ENGINE)
    import_string(settings.SESSION_SERIALIZER)
    import_string(settings.MESSAGE_STORAGE)


def open_worker_resources() -> None:
    """Start the API token listener, load the serving models (which opens the database
    connection), let each answer one example profile, and reach the cache.

    Never raises: a dependency that is down at start-up is met again by the first request,
    which answers 503 as usual.
    """
    from mlmodel.core.profile import EXAMPLE_PROFILE
    from mlmodel.loading import warm
    from portal.accounts.token_cache import listener_start

    listener_start()
    for model in warm():
        # First runs of the encoder and of numpy's code paths are slower than later ones.
        model.predictor.predict_one(EXAMPLE_PROFILE)
    try:
        cache.get(WARM_UP_CACHE_KEY)
    except Exception:
        logger.warning("the cache is not reachable at worker start", exc_info=True)


def _warm_up_host() -> str:
    """A host name the site answers to (the first allowed one that is not a pattern)."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*":
            return host.lstrip(".")
    return "localhost"


def _prediction_environ(token: str) -> dict:
    """A WSGI environ for one API prediction of the example profile (over HTTPS, request id
    ``warm-up-<pid>`` in the logs)."""
    from mlmodel.core.profile import EXAMPLE_PROFILE

    body = json.dumps(EXAMPLE_PROFILE.as_dict()).encode()
    host = _warm_up_host()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": WARM_UP_PATH,
        "SERVER_NAME": host,
        "HTTP_HOST": host,
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_X_REQUEST_ID": f"warm-up-{os.getpid()}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "https",
    }
    setup_testing_defaults(environ)
    return environ


def answer_warm_up_requests(
    application, *, rounds: int = WARM_UP_ROUNDS, predictions: int = WARM_UP_PREDICTIONS
) -> list[int]:
    """Send ``rounds`` refused prediction requests through ``application``, then answer
    ``predictions`` real ones and roll them back (:func:`answer_rolled_back_predictions`);
    returns every status in order. Never raises. Their log lines below ERROR are silenced (the
    401s would each log a warning); a failure is logged once they are over."""
    statuses: list[int] = []
    failures: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(int(status.split()[0]))
        return lambda data: None

    started = time.perf_counter()
    logging.disable(logging.WARNING)
    try:
        for _ in range(rounds):
            try:
                result = application(_prediction_environ(WARM_UP_TOKEN), start_response)
                for _chunk in result:
                    pass
                getattr(result, "close", lambda: None)()
            except Exception as exc:
                failures.append(repr(exc))
        try:
            statuses.extend(answer_rolled_back_predictions(application, count=predictions))
        except Exception as exc:
            failures.append(repr(exc))
    finally:
        logging.disable(logging.NOTSET)
    for failure in failures:
        logger.warning("a warm-up request failed: %s", failure)
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info("warm-up requests answered in %.0f ms: statuses %s", elapsed_ms, statuses)
    return statuses


def answer_rolled_back_predictions(application, *, count: int) -> list[int]:
    """Answer ``count`` authenticated API predictions through ``application``'s middleware and
    view, inside one transaction that is rolled back; returns their statuses.

    The requests go to the handler's ``get_response``, not through ``application(...)``: the
    request signals would close the database connection this transaction is open on.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from portal import metrics
    from portal.accounts.services import api_token_create

    statuses: list[int] = []
    with transaction.atomic(), metrics.uncounted():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        user = get_user_model().objects.create_user(
            username=f"{WARM_UP_USER_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        )
        _token, key = api_token_create(user=user, name="warm-up")
        for _ in range(count):
            response = application.get_response(WSGIRequest(_prediction_environ(key)))
            statuses.append(response.status_code)
        transaction.set_rollback(True)
    return statuses
