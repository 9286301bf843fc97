"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis).

Whatever a client sends, the API answers a documented status with a documented body and never a
server error; a request the schema allows is accepted and one it forbids is refused (every
check is on, ``schemathesis.toml`` here). Twice: in-process against the WSGI app, and from
outside against a production-mode gunicorn. Both authenticate with a real token, against a real
model and real stored predictions and batch jobs.
"""

import os
import re
import subprocess
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlmodel.core.profile import PROFILE_FIELDS
from portal.wsgi import application
from tests.fuzz.conftest import FUZZ_CONFIG_PATH
from tests.predictions.conftest import GOOD_ROW

SCHEMA_PATH = "/api/schema/?format=json"
# Small: the whole file stays well under two minutes on two cores.
MAX_EXAMPLES = 100
SERVER_MAX_EXAMPLES = 30
SERVER_RUN_TIMEOUT_SECONDS = 150
PREDICTION_ID = "prediction_id"
JOB_ID = "job_id"
BATCH_URL = "/api/v1/predictions/batch/"
CSV_HEADER = ",".join(PROFILE_FIELDS)
# Each example uploads a file and runs the model; 30 cover the shapes of rows well enough.
CSV_EXAMPLES = 30

schema = schemathesis.openapi.from_wsgi(
    SCHEMA_PATH, application, config=schemathesis.Config.from_path(FUZZ_CONFIG_PATH)
)
schema.config.generation.update(max_examples=MAX_EXAMPLES)


def _onto(existing: tuple[int, ...], value: object) -> object:
    """A generated positive id becomes one of the stored ids, so deep code paths are reached."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return existing[value % len(existing)]
    return value


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
# The token, the model and the stored objects are meant to outlive each generated request.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_never_answers_a_server_error(case, api_auth_headers, fuzz_objects):
    # given a generated request (valid or not) aimed at real objects
    if case.path_parameters:
        if PREDICTION_ID in case.path_parameters:
            case.path_parameters[PREDICTION_ID] = _onto(
                fuzz_objects.prediction_ids, case.path_parameters[PREDICTION_ID]
            )
        if JOB_ID in case.path_parameters:
            case.path_parameters[JOB_ID] = _onto(fuzz_objects.job_ids, case.path_parameters[JOB_ID])

    # when it is sent / then the answer is documented and conforms to the published schema
    case.call_and_validate(headers=api_auth_headers)


# Any text a spreadsheet could hold; NUL makes the whole file a 400 by design, and quotes are
# left out so each cell can be written quoted without escaping.
CELL = st.text(st.characters(codec="utf-8", exclude_characters='\x00"'), max_size=12)
ROW = st.lists(CELL, max_size=len(PROFILE_FIELDS) + 2)


def _csv_file(rows: list[list[str]]) -> bytes:
    lines = [CSV_HEADER, GOOD_ROW, *(",".join(f'"{cell}"' for cell in row) for row in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=CSV_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(ROW, max_size=4))
def test_batch_csv_with_any_cells_is_answered_line_by_line(api_client, active_model_version, rows):
    # given a file with the right header, one good row and rows of arbitrary text
    body = _csv_file(rows)

    # when it is uploaded as a text/csv body
    response = api_client.post(
        BATCH_URL, data=body, content_type="text/csv", HTTP_ACCEPT="application/json"
    )

    # then every non-blank line is either predicted or reported with its errors, never a 500
    assert response.status_code == 200, response.content[:500]
    payload = response.json()
    answered = [row["line"] for row in payload["rows"]] + [e["line"] for e in payload["errors"]]
    non_blank = [row for row in rows if any(cell.strip() for cell in row)]
    assert sorted(answered)[0] == 2
    assert len(answered) == len(set(answered)) == 1 + len(non_blank)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_production_server_conforms_to_its_schema(
    api_token_key, fuzz_objects, production_server, tmp_path
):
    # given a production-mode server (DEBUG off, gunicorn) over stored predictions and jobs
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(FUZZ_CONFIG_PATH),
        "--no-color",
        "run",
        f"{production_server.url}{SCHEMA_PATH}",
        "--checks",
        "all",
        "--max-examples",
        str(SERVER_MAX_EXAMPLES),
        "--header",
        f"Authorization: Token {api_token_key}",
        "--workers",
        "2",
        # Staff-only operations answer this user 403 whatever it sends; the in-process run
        # above checks those answers against the schema.
        "--exclude-tag",
        "rollout",
        "--exclude-tag",
        "training",
        "--continue-on-failure",
    ]

    # when schemathesis runs every phase and every check against it, from outside
    result = subprocess.run(
        command,
        cwd=tmp_path,  # its crash cache stays out of the repository
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=SERVER_RUN_TIMEOUT_SECONDS,
        check=False,
    )

    # then every generated case passed every check
    report = f"{result.stdout[-20_000:]}{result.stderr[-5_000:]}"
    assert result.returncode == 0, f"{report}\nserver log: {production_server.log_path}"
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts and int(counts[1]) == int(counts[2]) > 0, report
