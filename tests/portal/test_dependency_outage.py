"""Unreachable dependencies (Redis, the database) are a clear 503 naming them, never a 500.

The one exception is the rate limiter of predictions and feedback: with the cache down they
are limited by a per-process fallback and keep answering (``portal/ratelimit_fallback.py``).
"""

import os
import time

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from tests.conftest import _test_database_url
from tests.predictions.conftest import GOOD_ROW, PROFILE_DATA, csv_bytes
from tests.processes import run_django_script

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
SUBPROCESS_TIMEOUT_SECONDS = 120
QUICK_503_SECONDS = 2.0


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    return settings


@pytest.fixture
def _isolated_cache():
    """This module breaks the cache on purpose: skip the shared clearing fixture."""
    yield


@pytest.mark.django_db
def test_login_post_with_redis_down_is_a_503_page(client, user, password, redis_down):
    # when a rate-limited form is posted while the cache is unreachable
    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    # then the user sees a 503 page saying to retry, with Retry-After
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Temporarily unavailable" in response.content


@pytest.mark.django_db
def test_a_csp_report_with_redis_down_is_a_503(client, redis_down):
    # when a browser sends a violation report while the cache (its rate limit) is unreachable
    started = time.monotonic()
    response = client.post(
        "/csp-report",
        data='{"csp-report": {"violated-directive": "script-src"}}',
        content_type="application/csp-report",
    )

    # then it fails closed, quickly, like the log-in: an anonymous endpoint is never unlimited
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert time.monotonic() - started < QUICK_503_SECONDS


@pytest.mark.django_db
def test_signup_post_with_redis_down_is_a_503_page(client, redis_down):
    # when the sign-up form is posted while the cache is unreachable
    response = client.post(reverse("accounts:signup"), {"username": "carol"})

    # then it fails closed, like the log-in
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


@pytest.mark.django_db
def test_prediction_form_with_redis_down_still_answers(
    auth_client, redis_down, active_model_version
):
    # when the prediction form is posted while the cache is unreachable
    response = auth_client.post(reverse("predictions:create"), PROFILE_DATA)

    # then the per-process fallback limiter lets it through to the new prediction
    assert response.status_code == 302


@pytest.mark.django_db
def test_batch_page_with_redis_down_is_a_quick_503_page(auth_client, redis_down):
    # when a batch is uploaded while the cache is unreachable
    upload = SimpleUploadedFile("rows.csv", csv_bytes([GOOD_ROW]), content_type="text/csv")
    started = time.monotonic()
    response = auth_client.post(reverse("predictions:batch"), {"file": upload})

    # then it is a 503 page at once (the batch limiter fails closed)
    assert response.status_code == 503
    assert time.monotonic() - started < QUICK_503_SECONDS


# A web process whose database is a closed port: the token check, the HTML pages and the health
# check all answer 503 naming the database, never a 500 or a traceback.
DATABASE_DOWN_SCRIPT = """
import json
from portal.wsgi import application
from django.test import Client

client = Client()
api = client.post(
    "/api/v1/predictions/", data="{}", content_type="application/json",
    HTTP_AUTHORIZATION="Token abc",
)
token = client.post(
    "/api/v1/auth/token/", data=json.dumps({"username": "a", "password": "b", "name": "n"}),
    content_type="application/json",
)
page = client.post("/accounts/login/", {"username": "a", "password": "b"})
print(json.dumps({
    "api": [api.status_code, api.json(), api.get("Retry-After")],
    "token": [token.status_code, token.json()],
    "page": [page.status_code, "The database is unavailable" in page.content.decode()],
}))
"""
DATABASE_DOWN_MESSAGE = "The database is unavailable right now. Please try again shortly."


@pytest.mark.postgres
def test_a_database_on_a_closed_port_is_a_503_naming_it_everywhere():
    # given a process whose database does not answer
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "DB_CONNECT_TIMEOUT": "2",
    }

    # when it is asked for a prediction, a token and to sign in on the HTML page
    report = run_django_script(DATABASE_DOWN_SCRIPT, env=env)

    # then each is a 503 that names the database
    assert report["api"] == [503, {"errors": {"detail": [DATABASE_DOWN_MESSAGE]}}, "30"]
    assert report["token"] == [503, {"errors": {"detail": [DATABASE_DOWN_MESSAGE]}}]
    assert report["page"] == [503, True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_terminated_database_connection_in_token_authentication_is_a_503(
    api_client, active_model_version
):
    # given the database connection this process uses was killed (pg_terminate_backend)
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    with psycopg.connect(_test_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    # when a token client asks for a prediction
    try:
        response = api_client.post("/api/v1/predictions/", {}, format="json")
    finally:
        connection.close()  # as Django does at the end of a request whose connection broke

    # then it is a 503 naming the database, not a 500
    assert response.status_code == 503
    assert response.json() == {"errors": {"detail": [DATABASE_DOWN_MESSAGE]}}
