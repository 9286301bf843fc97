"""JSON bodies: deep nesting is a 400 with the error shape on every endpoint, never a 500."""

import pytest

from portal.api.parsers import TOO_DEEP_MESSAGE

# A few KB of brackets: far deeper than the interpreter's recursion limit.
DEEP_JSON = '{"username": ' + "[" * 5_000 + "]" * 5_000 + "}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "authenticated"),
    [("/api/v1/auth/token/", False), ("/api/v1/predictions/", True)],
)
def test_deeply_nested_json_is_a_400(client, api_client, url, authenticated):
    # given
    caller = api_client if authenticated else client

    # when
    response = caller.post(url, DEEP_JSON, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json() == {"errors": {"detail": [TOO_DEEP_MESSAGE]}}


@pytest.mark.django_db
def test_ordinary_nesting_still_parses(client, user, password):
    # when a normal body arrives
    response = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": password, "name": "laptop"},
        content_type="application/json",
    )

    # then
    assert response.status_code == 201
