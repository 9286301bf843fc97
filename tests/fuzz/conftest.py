"""Fixtures for fuzzing the API: a real token, real objects, lifted rate limits, and a
production-mode server to fuzz from outside."""

import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from feedback.models import Rating
from feedback.services import feedback_upsert
from predictions.models import BatchJob, Channel, JobStatus
from predictions.services import batch_job_create, prediction_create
from tests.conftest import _test_database_url
from tests.predictions.conftest import (  # noqa: F401 - unreachable_broker is a fixture
    GOOD_ROW,
    PROFILE,
    csv_bytes,
    unreachable_broker,
)
from tests.processes import REPO_ROOT

FUZZ_CONFIG_PATH = Path(__file__).with_name("schemathesis.toml")
LIFTED_RATE = "100000/m"
LOOPBACK = "127.0.0.1"
SERVER_WORKERS = 2
SERVER_START_TIMEOUT_SECONDS = 60
SERVER_STOP_TIMEOUT_SECONDS = 20
HEALTH_PATH = "/healthz"
# The rate-limit groups the API uses (token exchange, predictions, batch files, feedback).
RATE_SETTINGS = ("RATELIMIT_TOKEN", "RATELIMIT_PREDICT", "RATELIMIT_BATCH", "RATELIMIT_FEEDBACK")


@pytest.fixture(autouse=True)
def lifted_rate_limits(settings):
    """Fuzzing sends hundreds of requests a minute; a 429 would hide everything after it."""
    for name in RATE_SETTINGS:
        setattr(settings, name, LIFTED_RATE)


@pytest.fixture
def api_auth_headers(api_token_key) -> dict[str, str]:
    return {"Authorization": f"Token {api_token_key}"}


@dataclasses.dataclass(frozen=True)
class FuzzObjects:
    """Ids the fuzzer's generated path ids are mapped onto: own ones first, then another's."""

    prediction_ids: tuple[int, ...]
    job_ids: tuple[int, ...]


@pytest.fixture
def fuzz_objects(user, other_user, active_model_version) -> FuzzObjects:
    """Predictions (one with feedback), a finished and a pending job, and someone else's."""
    mine = prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    with_feedback = prediction_create(
        user=user,
        profile=dataclasses.replace(PROFILE, experience_level="EN"),
        channel=Channel.WEB,
    )
    feedback_upsert(
        user=user,
        prediction_id=with_feedback.pk,
        actual_salary_usd=None,
        rating=Rating.ABOUT_RIGHT,
        comment="close enough",
    )
    theirs = prediction_create(user=other_user, profile=PROFILE, channel=Channel.API)
    finished = batch_job_create(user=user, file_name="two.csv", data=csv_bytes([GOOD_ROW] * 2))
    pending = BatchJob.objects.create(
        user=user,
        status=JobStatus.PENDING,
        file_name="queued.csv",
        input_csv=csv_bytes([GOOD_ROW]),
        row_count=1,
    )
    their_job = batch_job_create(user=other_user, file_name="x.csv", data=csv_bytes([GOOD_ROW]))
    return FuzzObjects(
        prediction_ids=(mine.pk, with_feedback.pk, theirs.pk),
        job_ids=(finished.pk, pending.pk, their_job.pk),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclasses.dataclass(frozen=True)
class ProductionServer:
    url: str
    log_path: Path


@pytest.fixture
def production_server(transactional_db, active_model_version):
    """gunicorn with the production settings (DEBUG off, the image's gunicorn config) on a free
    loopback port, over the test database and Redis, serving the active model (registered
    before it starts, as in a deployment).

    Only TLS is left to a proxy (SECURE_SSL_REDIRECT off: it is plain HTTP on loopback). Rate
    limits are lifted like in-process: fuzzing sends hundreds of requests a minute.
    """
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": LOOPBACK,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "WEB_CONCURRENCY": str(SERVER_WORKERS),
        **{name: LIFTED_RATE for name in RATE_SETTINGS},
    }
    log_path = REPO_ROOT / "var" / f"fuzz-server-{django_settings.CELERY_TASK_DEFAULT_QUEUE}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--config",
                str(REPO_ROOT / "docker" / "gunicorn.conf.py"),
                "--bind",
                f"{LOOPBACK}:{port}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not _answers(base_url + HEALTH_PATH):
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited early; see {log_path}")
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within {SERVER_START_TIMEOUT_SECONDS}s")
            time.sleep(0.2)
        yield ProductionServer(url=base_url, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
