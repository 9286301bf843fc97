"""Shared fixtures and the rules for tests that need real services.

Tests marked ``postgres``, ``redis`` or ``celery_worker`` run only where those services are
configured (``DATABASE_URL`` / ``REDIS_URL``) and are skipped with the reason elsewhere. CI sets
``REQUIRE_SERVICES=1``, which turns each such skip into a failure: nothing is silently skipped.
"""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.processes import start_celery_worker

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _uses_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _missing_service_reason(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and not _uses_postgres():
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://…"
    if item.get_closest_marker("celery_worker") and not (settings.REDIS_URL and _uses_postgres()):
        return "needs a real Celery worker: set REDIS_URL and DATABASE_URL (Postgres)"
    if item.get_closest_marker("browser") and not Path(CHROMIUM_PATH).exists():
        return f"needs Chromium at {CHROMIUM_PATH}: apt-get install chromium"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing_service_reason(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate-limit counters and the like must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_routing():
    """Each test re-reads which versions serve: a change inside a test's transaction never
    commits, so the on-commit invalidation never runs, and a routing read by the previous test
    (under ``MLMODEL_RELOAD_CHECK_SECONDS`` ago) would otherwise still name its versions."""
    from mlmodel.loading import invalidate

    invalidate()


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-staple-42"


@pytest.fixture
def user(django_user_model, password):
    return django_user_model.objects.create_user(
        username="alice", email="alice@example.com", password=password
    )


@pytest.fixture
def other_user(django_user_model, password):
    return django_user_model.objects.create_user(
        username="bob", email="bob@example.com", password=password
    )


@pytest.fixture
def auth_client(client, user):
    """A Django test client signed in as ``user``."""
    client.force_login(user)
    return client


@pytest.fixture
def api_token_key(user) -> str:
    from portal.accounts.services import api_token_create

    _token, key = api_token_create(user=user, name="tests")
    return key


@pytest.fixture
def api_client(api_token_key):
    """A DRF client that authenticates with a real API token of ``user``."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key}")
    return client


@pytest.fixture
def staff_user(django_user_model, password):
    return django_user_model.objects.create_user(
        username="sam-staff",
        email="sam@example.com",
        password=password,
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def staff_client(staff_user):
    """A DRF client signed in (session) as a staff superuser."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(staff_user)
    return client


def start_experiment_of(arms: list[dict], *, name: str = "test experiment", actor=None):
    """Draft and start an experiment of the champion plus ``arms`` (rollout services)."""
    from mlmodel.rollout.services import experiment_create, experiment_start

    experiment = experiment_create(name=name, arms=arms, actor=actor)
    return experiment_start(experiment_id=experiment.pk, actor=actor)


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real ``celery worker`` process on the real broker, reading the test database.

    It inherits the session's private queue and cache prefix (``tests/settings.py``) and is
    stopped when the session ends.
    """
    if not (settings.REDIS_URL and _uses_postgres()):
        pytest.skip("needs a real Celery worker: set REDIS_URL and DATABASE_URL (Postgres)")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "TEST_CELERY_EAGER": "0",
    }
    process, log_path = start_celery_worker(queue=queue, name=queue, env=env)
    try:
        yield {"queue": queue, "process": process, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def real_celery(celery_worker):
    """Send tasks through the real broker to the real worker for this test (not eagerly)."""
    from portal.celery import app

    app.conf.task_always_eager = False
    try:
        yield celery_worker
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


# --- model fixtures (mlmodel) ---
# Small and single-threaded: a model in seconds, not the served model's quality.
FAST_TRAINING_PARAMS = {
    "point": {"n_estimators": 40, "nthread": 1},
    "quantile": {"n_estimators": 30, "nthread": 1},
}
TEST_MODEL_ROWS = 3_000
TEST_MODEL_SEED = 7


@pytest.fixture(scope="session")
def trained_demo_artifact() -> tuple[bytes, dict]:
    """A small model trained once per session on demo data: ``(artifact_bytes, metadata)``."""
    from mlmodel.core.artifacts import artifact_bytes
    from mlmodel.core.train.demo_data import make_demo_dataframe
    from mlmodel.core.train.production import train_production_model
    from mlmodel.training_services import trained_model_metadata

    frame = make_demo_dataframe(n_rows=TEST_MODEL_ROWS, seed=TEST_MODEL_SEED)
    trained = train_production_model(
        frame, seed=TEST_MODEL_SEED, params=FAST_TRAINING_PARAMS, evaluate=False
    )
    metadata = trained_model_metadata(
        trained, is_demo=True, notes="test fixture", training_data={"rows_raw": len(frame)}
    )
    return artifact_bytes(trained), metadata


@pytest.fixture
def active_model_version(db, trained_demo_artifact):
    """``trained_demo_artifact`` registered as the only active version (traffic 100%)."""
    from mlmodel.loading import reset_registry
    from mlmodel.services import model_version_register

    artifact, metadata = trained_demo_artifact
    reset_registry()
    model_version = model_version_register(artifact=artifact, metadata=metadata, activate=True)
    reset_registry()
    yield model_version
    reset_registry()
