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
    from portal.warmup import answer_warm_up_requests, open_worker_resources
    from portal.wsgi import application

    open_worker_resources()
    answer_warm_up_requests(application)


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
