"""The README's commands, run as written on a fresh clone: `make run` to its first answer, then
the staff command (``createsuperuser``, answered at a terminal as a person would).

The clone reuses this checkout's virtualenv, so the test does not spend minutes in
``pip install`` (``tests/load/first_answer.py`` measures that for docs/benchmarks.md); the rest
is the newcomer's path: no .env, no database, no model, no DATABASE_URL or REDIS_URL.
"""

from __future__ import annotations

import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.fresh_clone import (
    REPO_ROOT,
    free_port,
    fresh_tree,
    newcomer_env,
    start_make_run,
    wait_for_answer,
)

FIRST_ANSWER_TIMEOUT_SECONDS = 600
PROMPT_TIMEOUT_SECONDS = 60
STAFF_COMMAND = ".venv/bin/python manage.py createsuperuser"
STAFF_USERNAME = "newcomer"
STAFF_EMAIL = "newcomer@example.com"
STAFF_PASSWORD = "a-long-enough-passphrase-42"


def _readme() -> str:
    return (REPO_ROOT / "README.md").read_text()


def _answer_prompts(command: str, cwd: Path, env: dict, answers: list[tuple[str, str]]) -> str:
    """Run ``command`` at a pseudo-terminal, typing each answer after its prompt appears."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, as a shell would run the README's line
        os.chdir(cwd)
        os.execvpe("bash", ["bash", "-c", command], env)  # noqa: S606 - the README's line
    output = ""
    try:
        for prompt, answer in answers:
            deadline = time.monotonic() + PROMPT_TIMEOUT_SECONDS
            while not re.search(prompt, output, re.I):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no prompt {prompt!r} in:\n{output}")
                ready, _, _ = select.select([fd], [], [], 1)
                if ready:
                    output += os.read(fd, 4096).decode(errors="replace")
            os.write(fd, f"{answer}\n".encode())
            output += "\n"
        while True:
            ready, _, _ = select.select([fd], [], [], PROMPT_TIMEOUT_SECONDS)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk.decode(errors="replace")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    return output


def test_the_readme_names_the_commands_this_test_runs():
    readme = _readme()
    assert "make run " in readme or "make run\n" in readme
    assert STAFF_COMMAND in readme
    assert "PORT" in readme and "HOST" in readme


READY_LINE_TIMEOUT_SECONDS = 15


def test_make_run_on_a_fresh_clone_answers_then_the_staff_command_works(tmp_path):
    # given a fresh clone (with this checkout's virtualenv) and a newcomer's environment
    tree = fresh_tree(tmp_path / "clone", venv=Path(sys.prefix))
    env = newcomer_env()
    port = free_port()

    # when the README's first command runs
    run = start_make_run(tree, port=port, env=env)
    try:
        seconds = wait_for_answer(
            run, f"http://127.0.0.1:{port}/", timeout=FIRST_ANSWER_TIMEOUT_SECONDS
        )
        # the "Ready" lines follow the first answer the script itself saw (it polls each second)
        deadline = time.monotonic() + READY_LINE_TIMEOUT_SECONDS
        while run.seconds_to(STAFF_COMMAND) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        output = run.text()
    finally:
        run.stop()

    # then it said what it did, one line per step, and where to go next
    steps = [line for _, line in run.lines if line.startswith("==> ")]
    assert any("Migrating" in step for step in steps), output
    assert any("Making sure a model is active" in step for step in steps), output
    assert f"==> Ready: http://127.0.0.1:{port}/" in output, output
    assert STAFF_COMMAND in output.split("==> Ready")[1], output
    assert "still " in output or "Done in" in output, output  # progress while it trained
    assert "Traceback" not in output, output
    assert (tree / ".env").is_file()
    print(f"first answer after {seconds:.1f} s")

    # when the README's staff command runs, as written, at a terminal
    transcript = _answer_prompts(
        STAFF_COMMAND,
        tree,
        env,
        [
            (r"username", STAFF_USERNAME),
            (r"email", STAFF_EMAIL),
            (r"password:", STAFF_PASSWORD),
            (r"again", STAFF_PASSWORD),
        ],
    )

    # then a staff superuser exists in the clone's database
    assert "Superuser created successfully" in transcript, transcript
    with sqlite3.connect(tree / "var" / "db.sqlite3") as db:
        row = db.execute(
            "SELECT is_staff, is_superuser FROM accounts_user WHERE username = ?",
            (STAFF_USERNAME,),
        ).fetchone()
    assert row == (1, 1)


def test_make_help_lists_run_with_host_and_port():
    # `make help` is what a newcomer types after the README
    completed = subprocess.run(
        ["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    run_line = next(
        line for line in completed.stdout.splitlines() if line.strip().startswith("run")
    )
    assert "HOST" in run_line and "PORT" in run_line
