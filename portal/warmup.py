"""What a web process would otherwise do during its first request, done at start-up instead.

gunicorn imports the app once in its master (``preload_app``): :func:`import_request_path`
runs there, so the imports are shared by every forked worker. Each worker then runs
:func:`open_worker_resources` (``post_fork``): its own database connection, cache client and
loaded models, because connections and libxgboost's threads must not cross a fork.
"""

import importlib
import logging

from django.conf import settings
from django.core.cache import cache, caches
from django.urls import get_resolver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

WARM_UP_CACHE_KEY = "portal:warm-up"


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
