"""The README's commands, run as written on a fresh clone: `make run` to its first answer, then
the staff commands, from a second shell while it serves, and the accounts they make sign in to
the admin.

The staff commands are read from the README's text (the fenced ``createsuperuser`` line and the
inline ``create_demo_user …`` line), so a change of the README is what gets tested. The rest of
the newcomer's path is real: no .env, no database, no model, no DATABASE_URL or REDIS_URL.

Two departures from a newcomer's machine, both on purpose:

- The clone reuses this checkout's virtualenv (a symlink), so `make run` skips creating it and
  running ``pip install``: one to two minutes of the suite's ten, spent on pip rather than on
  our code (``tests/load/first_answer.py`` measures the full path for docs/benchmarks.md). The
  test first checks that make sees that virtualenv as up to date, so that ``pip install`` is the
  only step skipped and never runs into this checkout's virtualenv, and then that every other
  step of `make run` ran, in order.
- `make run PORT=<a free port>`, the README's own ``make run PORT=…`` form, because port 8000 may
  be taken where the suite runs (a developer's `make run`, another CI job); that a bare
  `make run` serves http://127.0.0.1:8000 is checked from make's plan (``make -n run``).

`make run` reads ``ENSURE_MODEL_PROGRESS_SECONDS`` (README's settings table); the test sets it
short so that the "… still …" progress lines must appear while the first model trains.
"""

from __future__ import annotations

import http.cookiejar
import os
import pty
import re
import select
import shlex
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

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
READY_LINE_TIMEOUT_SECONDS = 15
COMMAND_TIMEOUT_SECONDS = 120
HTTP_TIMEOUT_SECONDS = 10
# The README's text right before the staff commands; they are read from what follows it.
STAFF_STEP_INTRO = "The next step is a staff account"
DEMO_USER_COMMAND = re.compile(r"`(\.venv/bin/python manage\.py create_demo_user\b[^`]*)`")
OPTIONAL_PART = re.compile(r"\s*\[([^\]]*)\]")
STAFF_USERNAME = "newcomer"
STAFF_EMAIL = "newcomer@example.com"
STAFF_PASSWORD = "a-long-enough-passphrase-42"
PROGRESS_SECONDS_ENV_VAR = "ENSURE_MODEL_PROGRESS_SECONDS"
PROGRESS_SECONDS = "1"  # demo training takes ~20 s here: a "still" line is certain at 1 s
PROGRESS_LINE = re.compile(r"^\s+… still \S.* \(\d+ s\)$")
# `make run`'s steps on a fresh clone whose virtualenv is up to date, in order ("==> " lines).
STEPS_AFTER_INSTALL = (
    "Migrating",
    "Making sure a model is active",
    "Starting the web server",
    "Ready",
)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _readme() -> str:
    return (REPO_ROOT / "README.md").read_text()


def readme_staff_commands() -> tuple[str, str]:
    """(the ``createsuperuser`` line, the ``create_demo_user`` line), as the README writes them."""
    readme = _readme()
    after = readme[readme.index(STAFF_STEP_INTRO) :]
    fence = re.search(r"```bash\n(.*?)```", after, re.S)
    assert fence, f"no ```bash block after {STAFF_STEP_INTRO!r} in README.md"
    lines = [line.strip() for line in fence.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one staff command in README.md, got {lines}"
    demo = DEMO_USER_COMMAND.search(after)
    assert demo, f"no `… create_demo_user …` command after {STAFF_STEP_INTRO!r} in README.md"
    return lines[0], " ".join(demo.group(1).split())  # the inline code wraps over two lines


def with_and_without_optional_parts(command: str) -> tuple[str, str]:
    """``a [--b]`` → (``a``, ``a --b``): the two commands a reader of the README can type."""
    return OPTIONAL_PART.sub("", command), OPTIONAL_PART.sub(r" \1", command)


def _run_in_shell(command: str, cwd: Path, env: dict) -> str:
    """``command`` as a shell in ``cwd`` runs it; fails with its output unless it exits 0."""
    completed = subprocess.run(  # the README's line, through bash as a person types it
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"{command}\n{output}"
    assert "Traceback" not in output, output
    return output


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


def _staff_flags(tree: Path, username: str) -> tuple[int, int] | None:
    with sqlite3.connect(tree / "var" / "db.sqlite3") as db:
        return db.execute(
            "SELECT is_staff, is_superuser FROM accounts_user WHERE username = ?", (username,)
        ).fetchone()


def _signs_in_to_the_admin(base_url: str, username: str, password: str) -> bool:
    """Log in through the admin's form, as a browser would; True when the admin index opens."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    login_url = f"{base_url}admin/login/?next=/admin/"
    with opener.open(login_url, timeout=HTTP_TIMEOUT_SECONDS) as response:
        token = CSRF_FIELD.search(response.read().decode())
    assert token, f"no CSRF field on {login_url}"
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": password,
            "next": "/admin/",
        }
    ).encode()
    headers = {"Referer": login_url}
    request = urllib.request.Request(login_url, data=form, headers=headers)  # noqa: S310 - http
    with opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return response.status == 200 and urllib.parse.urlsplit(response.url).path == "/admin/"


def test_the_readme_names_the_commands_this_test_runs():
    readme = _readme()
    assert "make run " in readme or "make run\n" in readme
    assert "PORT" in readme and "HOST" in readme
    superuser, demo_user = readme_staff_commands()
    assert superuser == ".venv/bin/python manage.py createsuperuser"
    plain, staff = with_and_without_optional_parts(demo_user)
    assert "[" not in plain and "--staff" not in plain, plain
    assert staff.endswith(" --staff"), staff
    assert {"--username", "--password"} <= set(shlex.split(plain)), plain


def test_make_run_on_a_fresh_clone_answers_then_the_staff_commands_work(tmp_path):
    # given a fresh clone whose virtualenv (this checkout's) make sees as installed
    tree = fresh_tree(tmp_path / "clone", venv=Path(sys.prefix))
    installed = subprocess.run(["make", "-q", ".venv/.installed"], cwd=tree, check=False)
    if installed.returncode != 0:
        pytest.fail(
            "this checkout's .venv is older than requirements.txt, so `make run` in the clone "
            "would pip install into it: run `make install-dev` first"
        )
    env = newcomer_env(**{PROGRESS_SECONDS_ENV_VAR: PROGRESS_SECONDS})
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    superuser_command, demo_user_command = readme_staff_commands()
    demo_plain, demo_staff = with_and_without_optional_parts(demo_user_command)
    demo_username = shlex.split(demo_plain)[shlex.split(demo_plain).index("--username") + 1]
    demo_password = shlex.split(demo_plain)[shlex.split(demo_plain).index("--password") + 1]

    # when the README's first command runs
    run = start_make_run(tree, port=port, env=env)
    try:
        seconds = wait_for_answer(run, url, timeout=FIRST_ANSWER_TIMEOUT_SECONDS)
        # the "Ready" lines follow the first answer the script itself saw (it polls each second)
        deadline = time.monotonic() + READY_LINE_TIMEOUT_SECONDS
        while run.seconds_to(superuser_command) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        output = run.text()

        # then it said what it did, one line per step, with progress, and where to go next
        steps = [line for _, line in run.lines if line.startswith("==> ")]
        assert len(steps) == len(STEPS_AFTER_INSTALL), output
        for step, expected in zip(steps, STEPS_AFTER_INSTALL, strict=True):
            assert step.startswith(f"==> {expected}"), output
        assert "Wrote .env" in output and (tree / ".env").is_file(), output
        training = output.split("==> Making sure a model is active")[1].split("Done in")[0]
        progress = [line for line in training.splitlines() if PROGRESS_LINE.match(line)]
        assert progress, f"no '… still … (N s)' line while the model trained:\n{output}"
        assert f"==> Ready: {url}" in output, output
        assert superuser_command in output.split("==> Ready")[1], output
        assert "Traceback" not in output, output
        print(f"first answer after {seconds:.1f} s; {len(progress)} progress lines")

        # when, from a second shell in the clone, the README's staff commands run as written:
        # createsuperuser answered at a terminal, then create_demo_user without and with --staff
        transcript = _answer_prompts(
            superuser_command,
            tree,
            env,
            [
                (r"username", STAFF_USERNAME),
                (r"email", STAFF_EMAIL),
                (r"password:", STAFF_PASSWORD),
                (r"again", STAFF_PASSWORD),
            ],
        )
        _run_in_shell(demo_plain, tree, env)
        demo_flags_before_staff = _staff_flags(tree, demo_username)
        _run_in_shell(demo_staff, tree, env)

        # then the accounts exist as asked and sign in to the running site's admin
        assert "Superuser created successfully" in transcript, transcript
        assert _staff_flags(tree, STAFF_USERNAME) == (1, 1)
        assert demo_flags_before_staff == (0, 0)
        assert _staff_flags(tree, demo_username) == (1, 0)
        assert _signs_in_to_the_admin(url, STAFF_USERNAME, STAFF_PASSWORD)
        assert _signs_in_to_the_admin(url, demo_username, demo_password)
    finally:
        run.stop()


def test_make_run_as_written_serves_on_127_0_0_1_port_8000():
    # given a shell without HOST or PORT; when make shows what a bare `make run` would do
    completed = subprocess.run(
        ["make", "-n", "run"],
        cwd=REPO_ROOT,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        check=True,
    )

    # then it serves where the README says
    assert "HOST=127.0.0.1 PORT=8000 scripts/serve" in completed.stdout, completed.stdout


def test_make_help_lists_run_with_host_and_port():
    # `make help` is what a newcomer types after the README
    completed = subprocess.run(
        ["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    run_line = next(
        line for line in completed.stdout.splitlines() if line.strip().startswith("run")
    )
    assert "HOST" in run_line and "PORT" in run_line
