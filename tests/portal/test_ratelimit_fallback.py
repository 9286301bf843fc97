"""Issue 11: availability through a Redis outage, against a real redis-server of our own.

Predictions and feedback keep answering while the shared cache is down, limited per process at
the same rate; log-in, token and sign-up fail closed (503); a batch upload is a quick 503; and
when Redis returns the shared counters are used again, without a restart.

The Redis of these tests is started here on a free port and stopped (terminated) by the tests;
the shared Redis of the session is never touched.
"""

import logging
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django_ratelimit.core import EXPIRATION_FUDGE, get_usage
from prometheus_client import REGISTRY

from portal import ratelimit_fallback
from portal.ratelimit_fallback import FallbackLimiter
from predictions.models import BatchJob, Channel, Prediction
from predictions.ratelimits import PREDICT_GROUP, RATE_KEY
from predictions.services import prediction_create
from tests.predictions.conftest import GOOD_ROW, PROFILE, PROFILE_DATA, csv_bytes

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

PREDICTIONS_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"
TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
CREATE_URL = reverse("predictions:create")
SIGNUP_URL = reverse("accounts:signup")
TIGHT_RATE = "3/m"
TIGHT_LIMIT = 3
SOCKET_TIMEOUT_SECONDS = 0.5
QUICK_503_SECONDS = 2.0
START_TIMEOUT_SECONDS = 10
SHORT_RETRY_SECONDS = 0.2
RATE_LIMIT_KEY_PATTERN = "*rl:*"


class OwnRedis:
    """A redis-server on a free port that a test can stop and start again on the same port."""

    def __init__(self, directory):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.2).ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=SOCKET_TIMEOUT_SECONDS)


@pytest.fixture
def own_redis(tmp_path, settings):
    """Our own Redis as the cache (short socket timeouts), with a tight prediction rate."""
    server = OwnRedis(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
    settings.RATELIMIT_PREDICT = TIGHT_RATE
    settings.RATELIMIT_FEEDBACK = TIGHT_RATE
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def _isolated_cache():
    """These tests stop their cache on purpose: skip the shared clearing fixture."""
    yield


def _fallback_uses(group: str) -> float:
    value = REGISTRY.get_sample_value("mlpaygrade_ratelimit_fallback_total", {"group": group})
    return value or 0.0


def _predict(api_client):
    return api_client.post(PREDICTIONS_URL, PROFILE_DATA, format="json")


def test_predictions_answer_through_an_outage_limited_then_shared_again(
    api_client, own_redis, active_model_version, monkeypatch, caplog
):
    monkeypatch.setattr(ratelimit_fallback, "SHARED_CACHE_RETRY_SECONDS", SHORT_RETRY_SECONDS)

    # given a prediction counted in the shared Redis
    assert _predict(api_client).status_code == 201
    assert own_redis.client().keys(RATE_LIMIT_KEY_PATTERN)

    # when Redis goes away
    own_redis.stop()
    uses_before = _fallback_uses("predictions.predict")
    with caplog.at_level(logging.WARNING, logger="portal.ratelimit_fallback"):
        answers = [_predict(api_client) for _ in range(TIGHT_LIMIT + 1)]

    # then predictions still answer, counted per process at the same rate: never unlimited
    assert [r.status_code for r in answers] == [201] * TIGHT_LIMIT + [429]
    assert answers[-1]["Retry-After"] == "60"
    assert Prediction.objects.count() == 1 + TIGHT_LIMIT
    assert _fallback_uses("predictions.predict") == uses_before + TIGHT_LIMIT + 1
    warnings = [r for r in caplog.records if "fallback limiter in use" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited logging: one warning, not one per request

    # when Redis is back on the same port (no restart of the portal)
    own_redis.start()
    own_redis.client().flushall()
    time.sleep(SHORT_RETRY_SECONDS * 2)
    responses = []
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not own_redis.client().keys(RATE_LIMIT_KEY_PATTERN) and time.monotonic() < deadline:
        responses.append(_predict(api_client))
        time.sleep(SHORT_RETRY_SECONDS)

    # then the shared counter is used again, with its own fresh budget
    assert own_redis.client().keys(RATE_LIMIT_KEY_PATTERN)
    assert responses[-1].status_code == 201
    assert ratelimit_fallback.shared_cache_state.failed_at is None


def _command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def test_the_shared_count_is_one_round_trip_on_django_ratelimits_keys_and_survives_a_flush(
    api_client, own_redis, active_model_version, user
):
    # given one prediction counted in Redis
    redis_client = own_redis.client()
    commands = ("incrby", "expire", "set", "multi", "exec", "eval", "evalsha")
    before = _command_calls(redis_client)
    assert _predict(api_client).status_code == 201
    after = _command_calls(redis_client)

    # then it was counted with INCRBY and EXPIRE (pipelined: no transaction, no Lua)
    counted = {name: after.get(name, 0) - before.get(name, 0) for name in commands}
    assert counted == {**dict.fromkeys(commands, 0), "incrby": 1, "expire": 1}
    # on django-ratelimit's own key and window, which expires with the window
    [key] = redis_client.keys(RATE_LIMIT_KEY_PATTERN)
    request = RequestFactory().post(PREDICTIONS_URL)
    request.user = user
    usage = get_usage(request, group=PREDICT_GROUP, key=RATE_KEY, rate=TIGHT_RATE, method="POST")
    assert usage["count"] == 1
    assert 0 < redis_client.ttl(key) <= 60 + EXPIRATION_FUDGE

    # when the counter vanishes mid-window (a flush, an eviction)
    redis_client.flushall()

    # then the next request is counted afresh, not refused
    assert _predict(api_client).status_code == 201
    assert redis_client.get(key) == b"1"
    assert redis_client.ttl(key) > 0


def test_the_web_form_answers_through_an_outage_and_is_still_limited(
    auth_client, own_redis, active_model_version
):
    # given Redis is down
    own_redis.stop()

    # when the form is posted past the rate
    answers = [auth_client.post(CREATE_URL, PROFILE_DATA) for _ in range(TIGHT_LIMIT + 1)]

    # then each prediction is made (302 to it) until the fallback limit, then the 429 page
    assert [r.status_code for r in answers] == [302] * TIGHT_LIMIT + [429]
    assert answers[-1]["Retry-After"] == "60"
    assert Prediction.objects.count() == TIGHT_LIMIT


def test_feedback_answers_through_an_outage_with_the_fallback(
    api_client, own_redis, active_model_version, user
):
    # given a prediction, then Redis is down
    prediction = prediction_create(user=user, profile=PROFILE, channel=Channel.API)
    own_redis.stop()
    url = f"/api/v1/predictions/{prediction.pk}/feedback/"

    # when
    answers = [
        api_client.post(url, {"rating": "too_low"}, format="json").status_code
        for _ in range(TIGHT_LIMIT + 1)
    ]

    # then feedback is saved (created, then updated) and still limited
    assert answers == [201] + [200] * (TIGHT_LIMIT - 1) + [429]


def test_login_token_and_signup_fail_closed_with_a_503(client, user, password, own_redis):
    # given Redis is down
    own_redis.stop()

    # when
    login = client.post(LOGIN_URL, {"username": user.username, "password": password})
    token = client.post(
        TOKEN_URL,
        {"username": user.username, "password": password, "name": "outage"},
        content_type="application/json",
    )
    signup = client.post(SIGNUP_URL, {"username": "carol", "email": "carol@example.com"})

    # then the doors an attacker aims at are refused rather than unlimited
    assert (login.status_code, login["Retry-After"]) == (503, "30")
    assert (token.status_code, token["Retry-After"]) == (503, "30")
    assert "unavailable" in token.json()["errors"]["detail"][0]
    assert signup.status_code == 503


def test_batch_upload_is_a_quick_503_during_the_outage(
    api_client, auth_client, own_redis, active_model_version
):
    # given Redis is down
    own_redis.stop()
    upload = csv_bytes([GOOD_ROW])

    # when a batch is uploaded through the API and the page
    started = time.monotonic()
    api = api_client.generic("POST", BATCH_URL, upload, content_type="text/csv")
    api_seconds = time.monotonic() - started
    started = time.monotonic()
    page = auth_client.post(
        reverse("predictions:batch"),
        {"file": SimpleUploadedFile("rows.csv", upload, content_type="text/csv")},
    )
    page_seconds = time.monotonic() - started

    # then both are a 503 at once, and no job is half-made
    assert api.status_code == 503
    assert "unavailable" in api.json()["errors"]["detail"][0]
    assert page.status_code == 503
    assert api_seconds < QUICK_503_SECONDS
    assert page_seconds < QUICK_503_SECONDS
    assert not BatchJob.objects.exists()


def test_a_silent_redis_costs_one_socket_timeout_then_the_fallback_answers_at_once(
    api_client, own_redis, active_model_version
):
    # given Redis is frozen: it accepts connections and never answers
    own_redis.process.send_signal(signal.SIGSTOP)
    try:
        # when predictions are asked for
        started = time.monotonic()
        first = _predict(api_client)
        first_seconds = time.monotonic() - started
        started = time.monotonic()
        second = _predict(api_client)
        second_seconds = time.monotonic() - started
    finally:
        own_redis.process.send_signal(signal.SIGCONT)

    # then the first waits for the socket timeout, the next skips the silent Redis
    assert (first.status_code, second.status_code) == (201, 201)
    assert first_seconds < QUICK_503_SECONDS
    assert second_seconds < SOCKET_TIMEOUT_SECONDS


# --- The fallback limiter on its own ----------------------------------------------------------


def test_the_fallback_limiter_is_bounded_and_evicts_the_least_recently_used():
    limiter = FallbackLimiter(max_keys=2)

    # given two keys, the first used again
    assert limiter.hit("g", "a", 1, 60) is False
    assert limiter.hit("g", "b", 1, 60) is False
    assert limiter.hit("g", "a", 1, 60) is True

    # when a third key arrives
    limiter.hit("g", "c", 1, 60)

    # then the least recently used ("b") went; "a" is still counted
    assert len(limiter) == 2
    assert limiter.hit("g", "b", 1, 60) is False
    assert limiter.hit("g", "c", 1, 60) is True


def test_the_fallback_limiter_counts_exactly_across_threads():
    limiter = FallbackLimiter()
    limit, threads, hits_each = 100, 8, 50
    limited = []
    lock = threading.Lock()

    def work():
        for _ in range(hits_each):
            result = limiter.hit("g", "k", limit, 3600)
            with lock:
                limited.append(result)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert limited.count(False) == limit
    assert limited.count(True) == threads * hits_each - limit
