"""Liveness and readiness probes, and a task through the real broker to the real worker."""

import os
import signal
import socket
import subprocess
import time
import uuid

import pytest

from portal.tasks import health_ping_task
from tests.processes import run_django_script

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, connections are refused
PROBE_SECRET = "probe-secret-for-tests-0123456789"
PROBE_HEADERS = {"HTTP_X_READINESS_SECRET": PROBE_SECRET}
# The budget plus what building the answer may add on a loaded 2-core machine.
BUDGET_MARGIN_SECONDS = 1.5
SUBPROCESS_TIMEOUT_SECONDS = 60


@pytest.fixture
def broker_override(settings):
    """Override only the broker the readiness check probes: the Celery app reads Django's
    settings once, at first use, and must keep the real broker for the tests after this one."""
    from portal.celery import app

    assert app.conf.broker_url  # loads the app's configuration before the override
    return settings


@pytest.fixture
def probe_secret(settings):
    settings.READINESS_SECRET = PROBE_SECRET
    return PROBE_HEADERS


def test_liveness_touches_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_reports_each_component(client):
    # when
    response = client.get("/readyz")

    # then the components we run on are up; the status follows all components
    body = response.json()
    components = body["components"]
    assert set(components) == {"database", "cache", "broker", "model"}
    for name in ("database", "cache", "broker"):
        assert components[name]["status"] == "ok", components[name]
    all_ok = all(component["status"] == "ok" for component in components.values())
    assert response.status_code == (200 if all_ok else 503)
    assert body["failing"] == [name for name, c in components.items() if c["status"] != "ok"]


@pytest.mark.django_db
def test_readiness_is_503_naming_the_cache_and_broker_when_redis_is_unreachable(
    client, broker_override, probe_secret
):
    settings = broker_override
    # given a cache and a broker on a closed port
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    # when a probe that knows the secret asks
    response = client.get("/readyz", **probe_secret)

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert {"cache", "broker"} <= set(body["failing"])
    assert "database" not in body["failing"]
    assert body["components"]["cache"]["status"] == "error"
    assert "onnection" in body["components"]["cache"]["detail"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_readiness_is_200_when_everything_is_up(client, active_model_version, probe_secret):
    # given Redis (cache and broker), the database and an active model

    # when
    response = client.get("/readyz", **probe_secret)

    # then
    body = response.json()
    assert response.status_code == 200, body
    assert body["failing"] == []
    assert body["components"]["broker"]["detail"] == "reachable"
    assert body["components"]["cache"]["detail"] == "RedisCache"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_the_broker_runs_on_the_worker(real_celery, client, probe_secret):
    # given
    token = uuid.uuid4().hex

    # when
    answer = health_ping_task.delay(token).get(timeout=30)

    # then
    assert answer == token

    # and the deep readiness probe sees the worker too
    response = client.get("/readyz?deep=1", **probe_secret)
    worker = response.json()["components"]["worker"]
    assert worker["status"] == "ok", worker
    assert worker["detail"] == "answered"


@pytest.mark.django_db
def test_anonymous_readiness_names_failing_parts_without_internals(client, settings):
    # given an unreachable cache
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }

    # when anyone asks, even from this host and for the deep check
    response = client.get("/readyz?deep=1", REMOTE_ADDR="127.0.0.1")

    # then the failing component is named, with no exception text and no worker round trip
    body = response.json()
    assert response.status_code == 503
    assert "cache" in body["failing"]
    assert "worker" not in body["components"]
    assert all("detail" not in component for component in body["components"].values())
    assert "127.0.0.1:1" not in response.content.decode()


@pytest.mark.django_db
def test_a_wrong_secret_gets_no_details(client, probe_secret):
    # when
    response = client.get("/readyz?deep=1", HTTP_X_READINESS_SECRET="guess")

    # then
    components = response.json()["components"]
    assert "worker" not in components
    assert all("detail" not in component for component in components.values())


@pytest.fixture
def stalled_redis(tmp_path):
    """A real redis-server of our own, frozen with SIGSTOP: it accepts connections (the kernel
    does) and never answers, like a Redis stuck in a long command or a dead network path."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        server.send_signal(signal.SIGSTOP)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)


# A web process whose Redis (cache, broker, results) never answers asks for the deep check.
STALLED_PROCESS_SCRIPT = """
import json, time
from portal.wsgi import application
from django.test import Client

client = Client()
started = time.monotonic()
deep = client.get("/readyz?deep=1", HTTP_X_READINESS_SECRET=%r)
deep_seconds = time.monotonic() - started
started = time.monotonic()
live = client.get("/healthz")
print(json.dumps({
    "deep": [deep.status_code, deep.json(), deep_seconds],
    "live": [live.status_code, time.monotonic() - started],
}))
"""


@pytest.mark.redis
def test_readiness_answers_within_its_budget_when_redis_hangs(stalled_redis, tmp_path):
    # given a process whose every Redis client points at a Redis that never answers
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": stalled_redis,
        "READINESS_SECRET": PROBE_SECRET,
        "READINESS_BUDGET_SECONDS": "1.0",
        "TEST_CELERY_EAGER": "0",
    }

    # when the deep check is asked for
    report = run_django_script(STALLED_PROCESS_SCRIPT % PROBE_SECRET, env=env)

    # then it answers within the budget, naming what hangs, and liveness is unaffected
    status, body, seconds = report["deep"]
    assert seconds < 1.0 + BUDGET_MARGIN_SECONDS
    assert status == 503
    assert {"cache", "broker", "worker"} <= set(body["failing"])
    assert body["components"]["cache"]["detail"] == "timed out"
    assert report["live"][0] == 200
