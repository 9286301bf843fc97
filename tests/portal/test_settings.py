"""Production settings: refuse to start without a secret; pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SECRET = "prod-" + "x7Qm2Lp9Zr4Vt8Nw3Ks6Hd1Fb5Jc0Ya" * 2
SUBPROCESS_TIMEOUT_SECONDS = 120


def _production_env(**extra: str) -> dict[str, str]:
    """A clean environment: nothing inherited from the test settings (debug, secrets, TLS)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
    }
    env.update(extra)
    return env


def test_production_mode_without_secret_key_refuses_to_start():
    # when
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=_production_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
    )

    # then
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(SECRET_KEY=PRODUCTION_SECRET),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
    )

    # then
    assert result.returncode == 0, result.stdout + result.stderr
