"""A fresh clone of the working tree and `make run` in it, step by step, timed.

Used by ``tests/test_readme_commands.py`` (the README's commands, as written) and by
``tests/load/first_answer.py`` (the time to the first answer, for docs/benchmarks.md).

"Fresh" means what a newcomer has after ``git clone``: the tracked and not-ignored files of
this tree (so the test sees uncommitted work too), no ``.venv``, ``var/`` or ``.env``. A caller
may hand in an existing virtualenv to skip the ``pip install`` minutes (the test does; the
benchmark measures both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables of the machine or of pytest that a newcomer's shell would not have.
UNSET_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "ENV_FILE",
    "SALARIES_CSV",
    "PYTEST_CURRENT_TEST",
    "VIRTUAL_ENV",
    "HOST",
    "PORT",
    "ENSURE_MODEL_PROGRESS_SECONDS",
)
POLL_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 15


def fresh_tree(destination: Path, *, venv: Path | None = None) -> Path:
    """Copy the files ``git clone`` would give (tracked + untracked, not ignored) there."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if not source.is_file():  # deleted in the working tree
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)  # keeps mtimes: make sees .venv as up to date
    if venv is not None:
        (destination / ".venv").symlink_to(venv)
    return destination


def newcomer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET_VARIABLES}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MakeRun:
    """A running ``make run``: its output lines with the second each arrived."""

    process: subprocess.Popen
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def seconds_to(self, needle: str) -> float | None:
        for at, line in self.lines:
            if needle in line:
                return at
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_make_run(tree: Path, *, port: int, env: dict[str, str]) -> MakeRun:
    """``make run PORT=…`` in ``tree``, in its own process group (so stop() ends all of it)."""
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = MakeRun(process=process, started=time.monotonic())

    def read() -> None:
        for line in process.stdout:
            run.lines.append((time.monotonic() - run.started, line.rstrip("\n")))

    threading.Thread(target=read, daemon=True).start()
    return run


def wait_for_answer(run: MakeRun, url: str, *, timeout: float) -> float:
    """Seconds from ``make run`` to the first 200 from ``url``; fails with the output."""
    deadline = run.started + timeout
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            raise AssertionError(f"make run exited with {run.process.returncode}:\n{run.text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http only
                if response.status == 200:
                    return time.monotonic() - run.started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"no answer from {url} within {timeout:.0f} s:\n{run.text()}")
