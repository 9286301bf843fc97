"""gunicorn settings shared by the Docker image and the load benchmark.

The app is imported once in the master (``preload_app``) and its long-lived objects are moved
out of the garbage collector's view before the workers fork (forked pages stay shared). Each
worker then loads the serving models before its first request (``post_fork``).

Garbage collection never runs inside a request: a request leaves ~260 objects in reference
cycles (DRF binds fields to their serializer, Django's request to its stores) that only the
collector frees, and an automatic collection falls on whichever request is running when the
allocation count crosses its threshold: measured in-process (docs/benchmarks.md), with
threshold 50,000 one request in ~150 paid 20-80 ms to free 37,000 objects, with Python's
default 700 the generation-1 collections cost 6-12 ms. So each worker freezes what it loaded,
turns automatic collection off and collects the young generations itself after each answer is
sent (``post_request``), when no client waits on this worker.
"""

import gc
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Measured on 2 cores (docs/benchmarks.md): 3 sync workers edge out 2; 4 lose to contention.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# After each request the youngest generation is collected (it holds the request's cycles);
# every GC_MIDDLE_EVERY requests the middle one, every GC_FULL_EVERY requests all of them.
GC_MIDDLE_EVERY = 100
GC_FULL_EVERY = 10_000


def when_ready(server) -> None:
    # Nothing the master opened while importing the app may be shared by forked workers.
    from django.db import connections

    connections.close_all()
    gc.collect()
    gc.freeze()


def post_fork(server, worker) -> None:
    """Each worker opens its connections and loads the serving models before it accepts a
    request, so its first request is as fast as the rest (``portal/warmup.py``)."""
    from portal.warmup import answer_warm_up_requests, open_worker_resources
    from portal.wsgi import application

    open_worker_resources()
    answer_warm_up_requests(application)
    # The models and caches just loaded live as long as the worker.
    gc.collect()
    gc.freeze()
    gc.disable()


def post_request(worker, req, environ, resp) -> None:
    """The answer is sent: collect what requests left in cycles (automatic collection is off)."""
    handled = worker.nr
    if handled % GC_FULL_EVERY == 0:
        gc.collect()
    elif handled % GC_MIDDLE_EVERY == 0:
        gc.collect(1)
    else:
        gc.collect(0)


# Prometheus multiprocess mode (portal/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, each
# worker keeps its metrics in files in that directory and /metrics sums them. Files left by an
# earlier run would be summed too, so the master empties the directory when it starts (after
# preload_app imported the app: the master serves no request, its files are not needed); a dead
# worker's files are marked so its live gauges drop out while its counters stay in the sum.
def on_starting(server) -> None:
    import shutil
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
