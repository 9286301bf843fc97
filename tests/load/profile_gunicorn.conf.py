"""docker/gunicorn.conf.py plus a profiler around each API prediction, for finding where a
worker's first request spends its time (docs/benchmarks.md, "First request after a worker
starts"):

    PROFILE_DIR=/tmp/prof gunicorn portal.wsgi:application \
        --config tests/load/profile_gunicorn.conf.py --workers 1

For every POST, the worker records its wall time, the SQL statements it ran (each timed) and a
cProfile; it writes them to ``$PROFILE_DIR/<pid>-<n>.json`` and ``.prof``. Nothing else differs
from the production configuration.
"""

import cProfile
import json
import os
import runpy
import time
from pathlib import Path

_base = runpy.run_path(str(Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"))
globals().update({name: value for name, value in _base.items() if not name.startswith("_")})

PROFILE_DIR = Path(os.environ.get("PROFILE_DIR", "var/profile"))
# PROFILE_CPU=0: time the requests and their SQL only (no cProfile, whose overhead is large).
PROFILE_CPU = os.environ.get("PROFILE_CPU", "1") == "1"
_state: dict = {"count": 0}


def pre_request(worker, req) -> None:
    if req.method != "POST":
        return
    from django.db import connection

    queries: list = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append({"ms": (time.perf_counter() - start) * 1000, "sql": sql[:120]})

    wrapper = connection.execute_wrapper(timed)
    wrapper.__enter__()
    profiler = cProfile.Profile() if PROFILE_CPU else None
    _state.update(
        queries=queries,
        wrapper=wrapper,
        profiler=profiler,
        start=time.perf_counter(),
        cpu_start=time.process_time(),
    )
    if profiler is not None:
        profiler.enable()


def post_request(worker, req, environ, resp) -> None:
    if req.method != "POST" or "profiler" not in _state:
        return
    profiler = _state.pop("profiler")
    if profiler is not None:
        profiler.disable()
    wall_ms = (time.perf_counter() - _state.pop("start")) * 1000
    cpu_ms = (time.process_time() - _state.pop("cpu_start")) * 1000
    _state.pop("wrapper").__exit__(None, None, None)
    _state["count"] += 1
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    stem = PROFILE_DIR / f"{os.getpid()}-{_state['count']}"
    if profiler is not None:
        profiler.dump_stats(f"{stem}.prof")
    record = {"status": resp.status, "wall_ms": wall_ms, "cpu_ms": cpu_ms}
    stem.with_suffix(".json").write_text(json.dumps({**record, "queries": _state.pop("queries")}))
