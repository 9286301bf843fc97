"""Account API: obtain a token with a password, list and revoke tokens, /me."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"
ME_URL = "/api/v1/me/"
TIGHT_RATE = "2/h"  # an hour-long window: the test cannot straddle a window edge


def _obtain(client: APIClient, username: str, password: str, **extra):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password, "name": "ci"},
        format="json",
        **extra,
    )


def test_obtain_token_with_password(user, password):
    # when
    response = _obtain(APIClient(), "alice", password)

    # then
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("mlp_")
    assert body["prefix"] == body["token"][:12]
    assert body["name"] == "ci"
    assert ApiToken.objects.get(pk=body["id"]).user == user

    # and the token works
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get(ME_URL).json() == {
        "id": user.pk,
        "username": "alice",
        "email": "alice@example.com",
    }


def test_obtain_token_with_wrong_password_is_a_clear_400(user):
    response = _obtain(APIClient(), "alice", "not-the-password")
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"detail": ["Unable to log in with the provided username and password."]}
    }
    assert not ApiToken.objects.exists()


def test_obtain_token_field_errors(db):
    response = APIClient().post(TOKEN_URL, {"name": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_obtain_token_is_rate_limited_per_address(user, settings):
    # given
    settings.RATELIMIT_TOKEN = TIGHT_RATE
    client = APIClient()

    # when a third attempt comes from the same address, whatever the username
    _obtain(client, "alice", "wrong-1")
    _obtain(client, "someone", "wrong-2")
    response = _obtain(client, "somebody-else", "wrong-3")

    # then
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many requests" in response.json()["errors"]["detail"][0]


def test_guesses_from_other_addresses_do_not_lock_the_owner_out(user, password, settings):
    # given
    settings.RATELIMIT_TOKEN = TIGHT_RATE
    client = APIClient()

    # when a stranger fills the per-address buckets for this account (case does not matter)
    for attempt in range(3):
        _obtain(client, "ALICE" if attempt % 2 else "alice", "wrong", REMOTE_ADDR="198.51.100.1")
    stranger = _obtain(client, "alice", password, REMOTE_ADDR="198.51.100.1")

    # then the stranger waits, and the owner, from their own address, gets in
    assert stranger.status_code == 429
    assert "Retry-After" in stranger
    assert _obtain(client, "alice", password, REMOTE_ADDR="203.0.113.7").status_code == 201


def test_one_username_has_a_ceiling_across_all_addresses(user, password, settings):
    # given a tight ceiling on one username, whatever the address
    settings.RATELIMIT_USERNAME_CEILING = TIGHT_RATE
    client = APIClient()

    # when wrong passwords come from many addresses, one each
    _obtain(client, "alice", "wrong-1", REMOTE_ADDR="198.51.100.1")
    _obtain(client, "alice", "wrong-2", REMOTE_ADDR="198.51.100.2")
    response = _obtain(client, "alice", password, REMOTE_ADDR="198.51.100.3")

    # then that account waits
    assert response.status_code == 429


def test_token_list_is_own_tokens_without_secrets(api_client, user, other_user):
    # given
    api_token_create(user=other_user, name="not mine")

    # when
    response = api_client.get(TOKENS_URL)

    # then
    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["name"] for row in results] == ["tests"]
    assert set(results[0]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
        "is_active",
    }
    assert results[0]["last_used_at"] is not None


def test_revoke_token_via_api(api_client, user, other_user):
    # given
    spare, spare_key = api_token_create(user=user, name="spare")
    theirs, _ = api_token_create(user=other_user, name="theirs")

    # when / then: someone else's token is not found, one's own is revoked
    assert api_client.delete(f"{TOKENS_URL}{theirs.pk}/").status_code == 404
    assert api_client.delete(f"{TOKENS_URL}{spare.pk}/").status_code == 204
    spare_client = APIClient()
    spare_client.credentials(HTTP_AUTHORIZATION=f"Token {spare_key}")
    assert spare_client.get(ME_URL).status_code == 401
    assert api_client.get(ME_URL).status_code == 200


def test_me_without_credentials_is_401(db):
    response = APIClient().get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_openapi_schema_documents_the_account_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in (TOKEN_URL, TOKENS_URL, TOKENS_URL + "{token_id}/", ME_URL):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["ApiToken"]["name"] == "Authorization"
    assert "security" not in schema["paths"][TOKEN_URL]["post"]
    assert {"ApiToken": []} in schema["paths"][ME_URL]["get"]["security"]


@pytest.mark.parametrize("name", ["   ", "x" * 101], ids=["blank", "one character too long"])
def test_a_bad_token_name_gets_the_same_message_from_the_api_and_the_account_page(
    client, user, password, name
):
    # given
    client.force_login(user)

    # when
    api = APIClient().post(
        TOKEN_URL, {"username": "alice", "password": password, "name": name}, format="json"
    )
    page = client.post(reverse("accounts:token_create"), {"name": name})

    # then
    assert api.status_code == 400
    assert api.json()["errors"] == {"name": list(page.context["form"].errors["name"])}
    assert not ApiToken.objects.exists()


def test_a_token_name_up_to_the_documented_length_is_accepted(user, password):
    response = APIClient().post(
        TOKEN_URL, {"username": "alice", "password": password, "name": "n" * 99}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["name"] == "n" * 99


def test_a_token_name_that_is_not_text_is_a_400(user, password):
    response = APIClient().post(
        TOKEN_URL, {"username": "alice", "password": password, "name": 42}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"name": ["Expected text, got int."]}}
