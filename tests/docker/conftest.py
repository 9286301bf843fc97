"""Helpers for the deployment-kit tests: external tools (nginx, promtool, kubectl) and paths.

A test whose tool is missing is skipped with the reason; under ``REQUIRE_SERVICES=1`` (CI, where
``make test-tools`` installs nginx and promtool) a missing nginx or promtool is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# Debian installs daemons' binaries in /usr/sbin, which a non-root PATH often lacks.
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin")


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in EXTRA_BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_tool(name: str, *, install_hint: str, required_in_ci: bool = True) -> str:
    """The tool's path; else skip with the reason (a failure in CI when ``required_in_ci``)."""
    path = find_tool(name)
    if path:
        return path
    reason = f"needs {name}: {install_hint}"
    if REQUIRE_SERVICES and required_in_ci:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
    pytest.skip(reason)
