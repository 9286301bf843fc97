"""``/metrics``: readable with the bearer token or by staff only, the portal's own metrics, and
one sum over all gunicorn workers (multiprocess mode) instead of whichever worker answered."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery.signals import task_failure, task_retry, task_success
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from feedback.models import Rating
from feedback.services import feedback_upsert
from mlmodel import loading
from mlmodel.core.profile import EXAMPLE_PROFILE
from mlmodel.models import ModelVersion
from mlmodel.services import predict
from portal import metrics
from portal.exceptions import Unavailable
from predictions.models import Channel
from predictions.services import prediction_create
from tests.predictions.conftest import PROFILE_DATA
from tests.processes import REPO_ROOT

METRICS_URL = "/metrics"
TOKEN = "scrape-token-for-the-tests"
WORKERS = 2
SERVER_START_SECONDS = 60
HEALTHZ_REQUESTS = 40
SCRAPES = 6
REQUESTS_COUNTER = "django_http_requests_before_middlewares_total"


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _families(body: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(body)}


# --- Who may read it ----------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_without_credentials_gets_401(client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN

    # when
    response = client.get(METRICS_URL)

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"mlpaygrade_" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", "Bearer ", f"Token {TOKEN}", TOKEN, "Bearer ünïcode"],
)
def test_a_wrong_token_gets_403(client, settings, authorization):
    # given
    settings.METRICS_TOKEN = TOKEN

    # when
    response = client.get(METRICS_URL, HTTP_AUTHORIZATION=authorization)

    # then
    assert response.status_code == 403
    assert b"mlpaygrade_" not in response.content


@pytest.mark.django_db
def test_a_signed_in_user_who_is_not_staff_gets_403(auth_client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN

    # when
    response = auth_client.get(METRICS_URL)

    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_without_a_configured_token_no_bearer_is_accepted(client, settings):
    # given production mode with METRICS_TOKEN unset
    settings.DEBUG = False
    settings.METRICS_TOKEN = ""

    # when
    responses = [
        client.get(METRICS_URL, HTTP_AUTHORIZATION="Bearer "),
        client.get(METRICS_URL, HTTP_AUTHORIZATION="Bearer anything"),
    ]

    # then
    assert [response.status_code for response in responses] == [403, 403]


@pytest.mark.django_db
def test_the_right_bearer_token_reads_the_metrics(client, settings):
    # given
    settings.METRICS_TOKEN = TOKEN

    # when
    response = client.get(METRICS_URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for name in (
        "mlpaygrade_model_load_failures_total",
        "mlpaygrade_model_integrity_failures_total",
        "django_http_requests_before_middlewares_total",
    ):
        assert name in body
    for family in ("mlpaygrade_predictions_total", "mlpaygrade_prediction_latency_seconds"):
        assert f"# TYPE {family} " in body


@pytest.mark.django_db
def test_staff_reads_the_metrics_without_a_token(client, user, settings):
    # given METRICS_TOKEN unset: staff only
    settings.METRICS_TOKEN = ""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    # when
    response = client.get(METRICS_URL)

    # then
    assert response.status_code == 200
    assert b"mlpaygrade_model_integrity_failures_total" in response.content


# --- The portal's own metrics ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_prediction_through_the_api_is_counted_with_its_labels(api_client, active_model_version):
    # given
    labels = {
        "model_version": str(active_model_version.version),
        "experiment_arm": "",
        "channel": "api",
    }
    before = _sample("mlpaygrade_predictions_total", labels)
    latency_before = _sample("mlpaygrade_prediction_latency_seconds_count", {"channel": "api"})

    # when
    response = api_client.post("/api/v1/predictions/", PROFILE_DATA, format="json")

    # then
    assert response.status_code == 201
    assert _sample("mlpaygrade_predictions_total", labels) == before + 1
    assert (
        _sample("mlpaygrade_prediction_latency_seconds_count", {"channel": "api"})
        == latency_before + 1
    )


@pytest.mark.django_db
def test_feedback_is_counted_created_then_updated(user, active_model_version):
    # given a prediction of the user's
    prediction = prediction_create(user=user, profile=EXAMPLE_PROFILE, channel=Channel.WEB)
    before = {
        action: _sample("mlpaygrade_feedback_total", {"action": action})
        for action in ("created", "updated")
    }

    # when the user gives feedback, then changes it
    for rating in (Rating.TOO_LOW, Rating.ABOUT_RIGHT):
        feedback_upsert(
            user=user, prediction_id=prediction.pk, actual_salary_usd=None, rating=rating
        )

    # then
    assert {
        action: _sample("mlpaygrade_feedback_total", {"action": action}) - before[action]
        for action in before
    } == {"created": 1, "updated": 1}


@pytest.mark.django_db
def test_a_tampered_artifact_is_counted_as_an_integrity_failure(active_model_version, settings):
    # given an active version whose stored bytes no longer match its sha256
    settings.MLMODEL_RELOAD_CHECK_SECONDS = 0
    original = bytes(active_model_version.artifact)
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    ModelVersion.objects.filter(pk=active_model_version.pk).update(artifact=bytes(tampered))
    loading.reset_registry()
    integrity_before = _sample("mlpaygrade_model_integrity_failures_total")
    load_before = _sample("mlpaygrade_model_load_failures_total")

    # when
    with pytest.raises(Unavailable):
        predict(EXAMPLE_PROFILE)

    # then
    assert _sample("mlpaygrade_model_integrity_failures_total") == integrity_before + 1
    assert _sample("mlpaygrade_model_load_failures_total") == load_before


def test_celery_task_outcomes_are_counted_by_task_and_state():
    # given
    class FakeTask:
        name = "tests.metrics_probe"

    def count(state: str) -> float:
        return _sample("mlpaygrade_celery_tasks_total", {"task": FakeTask.name, "state": state})

    before = {state: count(state) for state in ("success", "failure", "retry")}

    # when the signals Celery sends around a task's run arrive
    task_success.send(sender=FakeTask(), result=None)
    task_retry.send(sender=FakeTask(), request=None, reason="again", einfo=None)
    task_failure.send(sender=FakeTask(), task_id="x", exception=ValueError("boom"))

    # then
    assert {state: count(state) - before[state] for state in before} == {
        "success": 1,
        "failure": 1,
        "retry": 1,
    }


# --- Queue depth, read from the broker at scrape time ----------------------------------------


def _queue_families() -> dict:
    return _families(generate_latest(metrics.SCRAPE_TIME_REGISTRY).decode())


def test_without_a_redis_broker_the_queue_length_is_absent(settings):
    # given
    settings.CELERY_BROKER_URL = "memory://"

    # then
    assert "mlpaygrade_celery_queue_length" not in _queue_families()


def test_an_unreachable_broker_neither_hangs_a_scrape_nor_fails_it(settings):
    # given a broker address where nothing answers
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    started = time.monotonic()

    # when
    families = _queue_families()

    # then
    assert "mlpaygrade_celery_queue_length" not in families
    assert time.monotonic() - started < 5 * metrics.QUEUE_LENGTH_TIMEOUT_SECONDS


def test_the_queue_length_is_read_from_the_broker(settings):
    # given messages waiting in the configured queue (one no worker of the tests consumes)
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs a Redis broker: set REDIS_URL")
    import redis

    queue = settings.CELERY_TASK_DEFAULT_QUEUE = f"metrics-probe-{os.getpid()}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    client.delete(queue)
    client.lpush(queue, "a", "b", "c")
    try:
        # when
        families = _queue_families()
    finally:
        client.delete(queue)

    # then
    [sample] = families["mlpaygrade_celery_queue_length"].samples
    assert sample.labels == {"queue": queue}
    assert sample.value == 3


# --- One sum over all gunicorn workers --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def multiprocess_gunicorn(tmp_path):
    """The app under the image's gunicorn config with 2 workers and a metrics directory that
    holds a stale file from an earlier run (which ``on_starting`` must remove)."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from an earlier run")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    env.pop("PORT", None)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--config",
                "docker/gunicorn.conf.py",
                "-b",
                f"127.0.0.1:{port}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = ("127.0.0.1", port)
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while True:
            try:
                if _get(base, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        # Both workers are up once each has written its counters (its start-up warm-up
        # requests are counted): on a loaded machine the second one can lag behind the first.
        while len(list(metrics_dir.glob("counter_*.db"))) < WORKERS:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"the workers did not all start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, metrics_dir
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _get(base: tuple[str, int], path: str, headers: dict | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection(*base, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _scrape_total(base: tuple[str, int]) -> float:
    status, body = _get(base, METRICS_URL, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    family = _families(body)[REQUESTS_COUNTER.removesuffix("_total")]
    return sum(sample.value for sample in family.samples if sample.name == REQUESTS_COUNTER)


def test_every_scrape_sums_all_gunicorn_workers(multiprocess_gunicorn):
    # given a server with 2 workers, its metrics directory emptied at start
    base, metrics_dir = multiprocess_gunicorn
    assert not (metrics_dir / "counter_999999.db").exists()
    assert _get(base, METRICS_URL)[0] == 401  # not without the token, even on its own port

    # when requests are spread over the workers, then scraped several times
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _get(base, "/healthz"), range(HEALTHZ_REQUESTS)))
    totals = [_scrape_total(base) for _ in range(SCRAPES)]

    # then every scrape counts every request so far, whichever worker answered it
    assert [status for status, _body in answers] == [200] * HEALTHZ_REQUESTS
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2  # both workers answered some
    assert all(total >= HEALTHZ_REQUESTS for total in totals), totals
    assert totals == sorted(totals), totals
    assert len(set(totals)) == len(totals), totals  # each scrape is itself a counted request
