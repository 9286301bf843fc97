"""Every environment variable the portal reads is documented in ``.env.example`` and the README.

The variables are found by reading the code, not by a hand-kept list: each env getter call in
``portal/settings.py`` (``env("NAME")``, ``env.str/int/bool/float/list/db_url/...("NAME")``) and
each ``os.environ.get("NAME")`` / ``os.environ["NAME"]`` / ``os.getenv("NAME")`` there and in the
container's Python and shell start files (``docker/gunicorn.conf.py``, ``docker/entrypoint``,
``docker/start-*``, where ``${NAME:-default}`` counts too). A new setting without a line in
``.env.example`` and a row in the README's "Environment variables" table fails here.
"""

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PY = REPO_ROOT / "portal" / "settings.py"
DOCKER_DIR = REPO_ROOT / "docker"
PYTHON_SOURCES = [SETTINGS_PY, DOCKER_DIR / "gunicorn.conf.py"]
SHELL_SOURCES = [*sorted(DOCKER_DIR.glob("start-*")), DOCKER_DIR / "entrypoint"]
ENV_EXAMPLE = REPO_ROOT / ".env.example"
README = REPO_ROOT / "README.md"
README_ENV_HEADING = "## Environment variables"

ENV_OBJECT_NAME = "env"  # the django-environ ``environ.Env()`` instance in settings.py
OS_ENV_CALLS = {"getenv"}  # os.getenv("NAME")
OS_ENVIRON_CALLS = {"get", "setdefault", "pop"}  # os.environ.get("NAME")
VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# ``NAME=value`` or ``#NAME=value`` / ``# NAME=value`` (documented but left at its default).
ENV_EXAMPLE_LINE = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
SHELL_DEFAULT = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?[-=?]")
SHELL_PY_ENVIRON = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
BACKTICKED_NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _first_string_argument(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_name(node.value, "os")


def _variables_read_by_python(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Call):
            func = node.func
            if _is_name(func, ENV_OBJECT_NAME):
                name = _first_string_argument(node)  # env("NAME", ...)
            elif isinstance(func, ast.Attribute):
                if _is_name(func.value, ENV_OBJECT_NAME):
                    name = _first_string_argument(node)  # env.int("NAME", ...)
                elif _is_os_environ(func.value) and func.attr in OS_ENVIRON_CALLS:
                    name = _first_string_argument(node)  # os.environ.get("NAME", ...)
                elif _is_name(func.value, "os") and func.attr in OS_ENV_CALLS:
                    name = _first_string_argument(node)  # os.getenv("NAME", ...)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                name = key.value  # os.environ["NAME"]
        if name and VARIABLE_NAME.match(name):
            names.add(name)
    return names


def _variables_read_by_shell(source: str) -> set[str]:
    return set(SHELL_DEFAULT.findall(source)) | set(SHELL_PY_ENVIRON.findall(source))


def variables_read() -> dict[str, set[str]]:
    """``{variable: {files reading it}}`` for every variable the portal and its container read."""
    found: dict[str, set[str]] = {}
    for path in PYTHON_SOURCES:
        for name in _variables_read_by_python(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(REPO_ROOT)))
    for path in SHELL_SOURCES:
        for name in _variables_read_by_shell(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def env_example_variables() -> set[str]:
    return set(ENV_EXAMPLE_LINE.findall(ENV_EXAMPLE.read_text()))


def readme_table_variables() -> set[str]:
    """Names in the first column of the README's "Environment variables" table."""
    text = README.read_text()
    start = text.index(README_ENV_HEADING) + len(README_ENV_HEADING)
    end = text.find("\n## ", start)
    names: set[str] = set()
    for line in text[start : end if end != -1 else None].splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names.update(BACKTICKED_NAME.findall(cells[1]))
    return names


def _missing_message(missing: set[str], found: dict[str, set[str]], where: str) -> str:
    lines = [f"{name} (read by {', '.join(sorted(found[name]))})" for name in sorted(missing)]
    return f"not documented in {where}:\n  " + "\n  ".join(lines)


def test_the_parser_finds_every_kind_of_read():
    # given
    source = (
        "import os\n"
        'A = env("ONE")\n'
        'B = env.bool("TWO", default=False)\n'
        "C = env.db_url_config(DATABASE_URL)\n"  # a variable, not a name: ignored
        'D = os.environ.get("THREE", "x")\n'
        'E = os.environ["FOUR"]\n'
        'F = os.getenv("FIVE")\n'
        'G = other.str("NOT_ENV")\n'
    )

    # when
    names = _variables_read_by_python(source)

    # then
    assert names == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}
    assert _variables_read_by_shell('x "${SIX:-2}" ${SEVEN:?} $EIGHT os.environ.get("NINE")') == {
        "SIX",
        "SEVEN",
        "NINE",
    }


def test_settings_reads_are_found():
    # given / when
    found = variables_read()

    # then: a sanity floor, so a parser that silently finds nothing cannot pass
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TRUSTED_PROXY_COUNT"} <= set(found)
    assert "WEB_CONCURRENCY" in found


@pytest.mark.parametrize(
    ("where", "documented"),
    [
        (".env.example", env_example_variables),
        ("the README's Environment variables table", readme_table_variables),
    ],
)
def test_every_variable_read_is_documented(where, documented):
    # given
    found = variables_read()

    # when
    missing = set(found) - documented()

    # then
    assert not missing, _missing_message(missing, found, where)
