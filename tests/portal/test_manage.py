"""`manage.py` as the README shows it: a missing setting is one clear line, and the local `.env`
that `make run` writes is enough for commands to work outside make."""

import os
import subprocess
import sys

from tests.processes import REPO_ROOT

COMMAND_TIMEOUT_SECONDS = 120


def _manage(*args: str, env_file: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env["ENV_FILE"] = env_file
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def test_a_missing_secret_key_is_one_line_not_a_traceback(tmp_path):
    # when a command runs in production mode without SECRET_KEY and without a .env
    completed = _manage("check", env_file=str(tmp_path / "missing.env"))

    # then
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("Configuration error: SECRET_KEY is not set.")
    assert "Traceback" not in completed.stderr


def test_the_local_env_file_is_enough_for_commands(tmp_path):
    # given the file `make run` writes
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\n")

    # when
    completed = _manage("check", env_file=str(env_file))

    # then
    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues" in completed.stdout
