"""``mlpaygrade_celery_worker_last_heartbeat_timestamp_seconds``: each Celery worker records its
heartbeat on the broker, and ``/metrics`` exports it, so the CeleryWorkerHeartbeatMissing alert
(docker/prometheus/alerts.yml) has data."""

import os
import socket
import time

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from portal import metrics

HEARTBEAT_METRIC = "mlpaygrade_celery_worker_last_heartbeat_timestamp_seconds"
TOKEN = "scrape-token-for-the-heartbeat-tests"
# The worker writes at most every HEARTBEAT_RECORD_SECONDS, on its event heartbeat (every 2 s).
ADVANCE_TIMEOUT_SECONDS = metrics.HEARTBEAT_RECORD_SECONDS + 20
POLL_SECONDS = 0.5


def _heartbeats() -> dict[str, float]:
    body = generate_latest(metrics.SCRAPE_TIME_REGISTRY).decode()
    for family in text_string_to_metric_families(body):
        if family.name == HEARTBEAT_METRIC:
            return {sample.labels["worker"]: sample.value for sample in family.samples}
    return {}


def _redis(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs a Redis broker: set REDIS_URL")
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)


@pytest.fixture
def own_heartbeat_hash(settings):
    """A heartbeat hash of this test alone (its own key prefix), emptied afterwards."""
    client = _redis(settings)
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"heartbeat-test-{os.getpid()}"}
    }
    metrics._last_heartbeat_recorded.clear()
    yield client, metrics.heartbeat_hash_key()
    client.delete(metrics.heartbeat_hash_key())
    metrics._last_heartbeat_recorded.clear()


# --- On a real worker -------------------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db
def test_a_running_worker_heartbeat_is_written_afresh_and_exported(celery_worker, client, settings):
    # given the tests' real Celery worker (same broker, same key prefix), a scraper, and a
    # broker emptied by this test's set-up (tests/conftest.py flushes the Redis database)
    settings.METRICS_TOKEN = TOKEN
    node = f"{celery_worker['queue']}@{os.uname().nodename}"
    test_started = time.time()

    def scraped() -> dict[str, float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.content.decode()):
            if family.name == HEARTBEAT_METRIC:
                return {sample.labels["worker"]: sample.value for sample in family.samples}
        return {}

    # when /metrics is scraped until the worker shows up
    deadline = time.monotonic() + ADVANCE_TIMEOUT_SECONDS
    while node not in (beats := scraped()):
        assert time.monotonic() < deadline, f"no heartbeat from {node}: {beats}"
        time.sleep(POLL_SECONDS)

    # then it is there with a heartbeat the live worker wrote during this test
    assert test_started - 1 <= beats[node] <= time.time()


# --- Recording and exporting ------------------------------------------------------------------


@pytest.mark.redis
def test_a_heartbeat_is_recorded_at_most_every_record_interval(own_heartbeat_hash):
    # given
    client, key = own_heartbeat_hash
    start = 1_000_000.0

    offsets = range(0, 40, 2)

    # when the signal fires every 2 s for a while
    writes = [metrics.worker_heartbeat_record(worker="w@host", now=start + t) for t in offsets]

    # then it wrote at 0, 16 and 32 s, and the hash holds the last of those
    assert [t for t, wrote in zip(offsets, writes, strict=True) if wrote] == [0, 16, 32]
    assert float(client.hget(key, "w@host")) == start + 32


@pytest.mark.redis
def test_each_worker_is_exported_and_long_silent_ones_are_forgotten(own_heartbeat_hash):
    # given two live workers and one silent for longer than the forget limit
    client, key = own_heartbeat_hash
    now = time.time()
    client.hset(key, "a@host", repr(now - 5))
    client.hset(key, "b@host", repr(now - 400))
    client.hset(key, "gone@host", repr(now - metrics.HEARTBEAT_FORGET_SECONDS - 60))

    # when
    beats = _heartbeats()

    # then the silent-for-minutes worker is still exported (the alert must see it go stale);
    # the one gone for a day is dropped, from the export and from the hash
    assert beats == pytest.approx({"a@host": now - 5, "b@host": now - 400})
    assert client.hexists(key, "gone@host") is False


def test_without_a_redis_broker_nothing_is_recorded_or_exported(settings):
    # given
    settings.CELERY_BROKER_URL = "memory://"

    # then
    assert metrics.worker_heartbeat_record(worker="w@host") is False
    assert _heartbeats() == {}


def test_an_unreachable_broker_fails_neither_the_worker_nor_a_scrape(settings):
    # given a broker address where nothing answers
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    metrics._last_heartbeat_recorded.clear()
    started = time.monotonic()

    # when
    recorded = metrics.worker_heartbeat_record(worker="w@host")
    beats = _heartbeats()

    # then both give up quickly and quietly
    assert recorded is False
    assert beats == {}
    assert time.monotonic() - started < 5 * metrics.QUEUE_LENGTH_TIMEOUT_SECONDS
