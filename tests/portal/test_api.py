"""The shared API layer (portal/api): errors, content negotiation, pagination, the schema.

Each test here pins a bug the schema fuzzer (tests/fuzz) found.
"""

import json

import pytest
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.request import Request

from portal.api.errors import api_exception_handler
from portal.api.pagination import StandardPagination
from portal.errors import server_error

PREDICTIONS_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"
FEEDBACK_URL = "/api/v1/feedback/"
TOKEN_OBTAIN_URL = "/api/v1/auth/token/"


def _errors(response) -> dict:
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"errors"}, body
    return body["errors"]


@pytest.mark.django_db
def test_unknown_api_url_is_a_json_404_not_the_html_page(api_client):
    # when a path under /api/ matches no route (e.g. a non-numeric id)
    response = api_client.get(f"{PREDICTIONS_URL}null,null/")

    # then
    assert response.status_code == 404
    assert _errors(response) == {"detail": ["Not found."]}


def test_server_error_under_api_is_json_and_needs_no_database():
    # given
    request = RequestFactory().get(PREDICTIONS_URL)

    # when
    response = server_error(request)

    # then
    assert response.status_code == 500
    assert list(_errors(response)) == ["detail"]


@pytest.mark.parametrize(
    "outage",
    [
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        RedisTimeoutError("Timeout reading from socket"),
        OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    ],
)
def test_an_unreachable_redis_or_broker_is_a_503_with_retry_after(outage):
    # when a dependency outage reaches the API's exception handler
    response = api_exception_handler(outage, {})

    # then the client gets a clear, retryable answer (the outage details stay in the log)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    (message,) = response.data["errors"]["detail"]
    assert list(response.data["errors"]) == ["detail"]
    assert "unavailable" in message
    assert "127.0.0.1" not in message


@pytest.mark.django_db
def test_unknown_format_is_406_not_404(api_client):
    # when a client asks for a representation the endpoint does not offer
    response = api_client.get(BATCH_URL, {"format": "xml"})

    # then
    assert response.status_code == 406
    assert "'xml'" in _errors(response)["detail"][0]


@pytest.mark.django_db
def test_known_format_still_works(api_client):
    assert api_client.get(BATCH_URL, {"format": "json"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PREDICTIONS_URL, BATCH_URL, FEEDBACK_URL])
@pytest.mark.parametrize("page_size", ["null", "0", "-3", "1.5"])
def test_junk_page_size_is_a_400_field_error(api_client, url, page_size):
    # when
    response = api_client.get(url, {"page_size": page_size})

    # then
    assert response.status_code == 400
    assert list(_errors(response)) == ["page_size"]


@pytest.mark.parametrize(("page_size", "expected"), [("", 20), ("5", 5), ("100000", 100)])
def test_empty_page_size_is_the_default_and_large_ones_are_capped(
    api_client, rf, page_size, expected
):

    # given
    request = Request(rf.get(PREDICTIONS_URL, {"page_size": page_size}))

    # when / then
    assert StandardPagination().get_page_size(request) == expected


def test_schema_documents_what_the_api_really_answers():
    # when
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    # then every authenticated operation documents 401
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path != TOKEN_OBTAIN_URL:
                assert "401" in operation["responses"], f"{method.upper()} {path}"
    # pages out of range, unknown formats and empty query values are documented
    for path in (PREDICTIONS_URL, BATCH_URL, FEEDBACK_URL):
        listing = paths[path]["get"]
        assert {"400", "404"} <= set(listing["responses"]), path
        page_size = next(p for p in listing["parameters"] if p["name"] == "page_size")
        assert page_size["schema"]["minimum"] == 1
        assert page_size["allowEmptyValue"] is True
    assert "406" in paths[BATCH_URL]["post"]["responses"]
    # endpoints that touch the cache (rate limits) or the queue document the 503 of an outage
    for path in (
        PREDICTIONS_URL,
        BATCH_URL,
        TOKEN_OBTAIN_URL,
        f"{PREDICTIONS_URL}{{prediction_id}}/feedback/",
    ):
        assert "503" in paths[path]["post"]["responses"], path
    assert "406" in paths[f"{BATCH_URL}{{job_id}}/result/"]["get"]["responses"]
