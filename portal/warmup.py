"""What a web process would otherwise do during its first request, done at start-up instead.

gunicorn imports the app once in its master (``preload_app``): :func:`import_request_path`
runs there, so the imports are shared by every forked worker. Each worker then runs
:func:`open_worker_resources` (``post_fork``): its own database connection, cache client and
loaded models, because connections and libxgboost's threads must not cross a fork; and
:func:`answer_warm_up_requests`: a few requests the worker answers itself, so its first
client does not pay the first runs of the request path (measured: ≈ 11 ms → ≈ 7 ms, against
≈ 5 ms for later requests; docs/benchmarks.md).
"""

import importlib
import io
import json
import logging
import os
from wsgiref.util import setup_testing_defaults

from django.conf import settings
from django.core.cache import cache, caches
from django.urls import get_resolver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

WARM_UP_CACHE_KEY = "portal:warm-up"
# A prediction request with a token that cannot exist: it runs the middleware, DRF's dispatch,
# the token look-up, the error handler and the JSON renderer, and stores nothing (a 401).
WARM_UP_PATH = "/api/v1/predictions/"
WARM_UP_TOKEN = "warm-up-not-a-token"  # noqa: S105 - a deliberately invalid credential
WARM_UP_ROUNDS = 3
UNAUTHORIZED = 401


def import_request_path() -> None:
    """Import every URL pattern and view, the cache backend, and the session and message
    storage classes (Django imports each lazily, on first use)."""
    get_resolver().reverse_dict  # noqa: B018  (building it imports every URLconf and view)
    caches["default"]
    importlib.import_module(settings.SESSION_ENGINE)
    import_string(settings.SESSION_SERIALIZER)
    import_string(settings.MESSAGE_STORAGE)


def open_worker_resources() -> None:
    """Load the serving models (which opens the database connection), let each answer one
    example profile, and reach the cache.

    Never raises: a dependency that is down at start-up is met again by the first request,
    which answers 503 as usual.
    """
    from mlmodel.core.profile import EXAMPLE_PROFILE
    from mlmodel.loading import warm

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


def answer_warm_up_requests(application, *, rounds: int = WARM_UP_ROUNDS) -> list[int]:
    """Send ``rounds`` refused prediction requests through ``application`` (plain WSGI over
    HTTPS, request id ``warm-up-<pid>`` in the logs); returns their statuses. Never raises."""
    from mlmodel.core.profile import EXAMPLE_PROFILE

    body = json.dumps(EXAMPLE_PROFILE.as_dict()).encode()
    host = _warm_up_host()
    statuses: list[int] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(int(status.split()[0]))
        return lambda data: None

    for _ in range(rounds):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": WARM_UP_PATH,
            "SERVER_NAME": host,
            "HTTP_HOST": host,
            "HTTP_AUTHORIZATION": f"Token {WARM_UP_TOKEN}",
            "HTTP_X_REQUEST_ID": f"warm-up-{os.getpid()}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "https",
        }
        setup_testing_defaults(environ)
        try:
            result = application(environ, start_response)
            for _chunk in result:
                pass
            getattr(result, "close", lambda: None)()
        except Exception:
            logger.warning("a warm-up request failed", exc_info=True)
    return statuses
