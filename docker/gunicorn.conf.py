"""gunicorn settings shared by the Docker image and the load benchmark.

The app is imported once in the master (``preload_app``) and its long-lived objects are moved
out of the garbage collector's view before the workers fork, so per-request collections scan
only what requests allocate (and forked pages stay shared). Each worker then loads the serving
models before its first request (``post_fork``).
"""

import gc
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Measured on 2 cores (docs/benchmarks.md): 3 sync workers edge out 2; 4 lose to contention.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# Young-generation collections every 700 allocations dominate a request's GC cost.
GC_GEN0_THRESHOLD = int(os.environ.get("GC_GEN0_THRESHOLD", "50000"))


def when_ready(server) -> None:
    # Nothing the master opened while importing the app may be shared by forked workers.
    from django.db import connections

    connections.close_all()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)


def post_fork(server, worker) -> None:
    """Each worker opens its connections and loads the serving models before it accepts a
    request, so its first request is as fast as the rest (``portal/warmup.py``)."""
    from portal.warmup import open_worker_resources

    open_worker_resources()
