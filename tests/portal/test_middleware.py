"""Request bodies Django would misread are refused: a chunked body is a 411, not "empty", and a
malformed Content-Length a 400, not a 500."""

import http.client
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.processes import REPO_ROOT

SERVER_START_SECONDS = 30
PROFILE_JSON = b'{"job_title": "Data Scientist"}'


def test_a_chunked_api_body_is_a_411_with_the_json_error_shape(client):
    # when
    response = client.generic(
        "POST",
        "/api/v1/predictions/",
        PROFILE_JSON,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    # then
    assert response.status_code == 411
    assert "Content-Length" in response.json()["errors"]["detail"][0]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "\u00b2"])
def test_a_malformed_content_length_is_a_400_not_a_500(client, length):
    # when a body comes with a length that is not a whole number of bytes (runserver passes it on)
    response = client.generic(
        "POST",
        "/api/v1/predictions/",
        PROFILE_JSON,
        content_type="application/json",
        CONTENT_LENGTH=length,
    )

    # then it is refused with the API's error shape, and a page gets the 400 page
    assert response.status_code == 400
    assert "Content-Length" in response.json()["errors"]["detail"][0]
    page = client.generic("POST", "/csp-report", b"{}", CONTENT_LENGTH=length)
    assert page.status_code == 400


def test_a_get_without_a_body_length_is_served(client):
    assert client.get("/healthz", CONTENT_LENGTH="").status_code == 200


def test_a_chunked_form_post_is_a_411_page(client):
    # when
    response = client.generic(
        "POST", "/accounts/login/", b"username=a&password=b", HTTP_TRANSFER_ENCODING="chunked"
    )

    # then
    assert response.status_code == 411
    assert b"Content-Length" in response.content


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_url(tmp_path):
    """The app under a real gunicorn (which de-chunks bodies but sends no Content-Length)."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-b", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_chunked_body_through_gunicorn_is_refused(gunicorn_url):
    # given
    host, port = gunicorn_url
    connection = http.client.HTTPConnection(host, port, timeout=10)

    # when a client streams its JSON body in chunks
    connection.request(
        "POST",
        "/api/v1/predictions/",
        body=iter([PROFILE_JSON]),
        headers={"Content-Type": "application/json", "Authorization": "Token x"},
        encode_chunked=True,
    )
    response = connection.getresponse()

    # then it is told to send a length, instead of the body being read as empty
    assert response.status == 411
    assert b"Content-Length" in response.read()
