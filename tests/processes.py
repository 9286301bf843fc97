"""Processes the tests start: a Django script in a fresh interpreter, and Celery workers.

Both run from the repository root with the environment they are given, so a test controls
exactly which database, Redis and settings the other process sees.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT_TIMEOUT_SECONDS = 120
WORKER_START_TIMEOUT_SECONDS = 60
STDERR_SHOWN_CHARACTERS = 3000


def run_django_script(script: str, *args: str, env: Mapping[str, str]) -> dict:
    """Run ``python -c script args…``; it must succeed and print one JSON line last."""
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-STDERR_SHOWN_CHARACTERS:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_celery_worker(
    *, queue: str, name: str, env: Mapping[str, str]
) -> tuple[subprocess.Popen, Path]:
    """A ``celery worker --pool=solo`` on ``queue``, answering pings, and its log file."""
    from portal.celery import app

    log_path = REPO_ROOT / "var" / f"celery-worker-{name}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                queue,
                "-n",
                f"{name}@%h",
            ],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    node = f"{name}@{os.uname().nodename}"
    while not app.control.ping(destination=[node], timeout=1):
        if process.poll() is not None:
            pytest.fail(f"celery worker exited early; see {log_path}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"celery worker did not answer within {WORKER_START_TIMEOUT_SECONDS}s")
    return process, log_path
