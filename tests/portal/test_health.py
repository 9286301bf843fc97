"""Liveness and readiness probes, and a task through the real broker to the real worker."""

import uuid

import pytest

from portal.tasks import health_ping_task

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens, connections are refused


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
def test_readiness_is_503_naming_the_cache_and_broker_when_redis_is_unreachable(client, settings):
    # given a cache and a broker on a closed port
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    # when
    response = client.get("/readyz")

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert {"cache", "broker"} <= set(body["failing"])
    assert "database" not in body["failing"]
    assert body["components"]["cache"]["status"] == "error"
    assert "onnection" in body["components"]["cache"]["detail"]


@pytest.mark.redis
@pytest.mark.django_db
def test_readiness_is_200_when_everything_is_up(client, active_model_version):
    # given Redis (cache and broker), the database and an active model

    # when
    response = client.get("/readyz")

    # then
    body = response.json()
    assert response.status_code == 200, body
    assert body["failing"] == []
    assert body["components"]["broker"]["detail"] == "reachable"
    assert body["components"]["cache"]["detail"] == "RedisCache"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_the_broker_runs_on_the_worker(real_celery, client):
    # given
    token = uuid.uuid4().hex

    # when
    answer = health_ping_task.delay(token).get(timeout=30)

    # then
    assert answer == token

    # and the deep readiness probe sees the worker too
    response = client.get("/readyz?deep=1")
    worker = response.json()["components"]["worker"]
    assert worker["status"] == "ok", worker
    assert worker["detail"] == "answered"
