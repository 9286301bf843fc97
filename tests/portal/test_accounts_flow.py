"""The whole journey: sign up, log in, issue a token on the account page, use it, revoke it."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from portal.accounts.models import ApiToken, hash_token_key

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase-17"
KEY_PATTERN = re.compile(r"mlp_[A-Za-z0-9_-]{40,}")


def _me(key: str):
    return Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")


def test_signup_login_token_call_revoke_then_401():
    browser = Client()

    # given a visitor who signs up (and is logged in by it), then logs out and in again
    response = browser.post(
        reverse("accounts:signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert browser.get(reverse("accounts:account")).status_code == 200
    browser.post(reverse("accounts:logout"))
    assert browser.get(reverse("accounts:account")).status_code == 302
    response = browser.post(
        reverse("accounts:login"), {"username": "carol", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302

    # when they create a token on the account page
    response = browser.post(reverse("accounts:token_create"), {"name": "laptop script"})

    # then the secret is shown on that response, and never again
    assert response.status_code == 200
    shown = KEY_PATTERN.findall(response.content.decode())
    assert len(set(shown)) == 1
    key = shown[0]
    assert "no-store" in response["Cache-Control"]
    reloaded = browser.get(reverse("accounts:account")).content.decode()
    assert key not in reloaded
    assert "laptop script" in reloaded
    assert key[:12] in reloaded

    # and the key authenticates API calls as that user
    response = _me(key)
    assert response.status_code == 200
    assert response.json()["username"] == "carol"
    assert response.json()["email"] == "carol@example.com"

    # when they revoke it with the button on the account page
    token = ApiToken.objects.get(key_hash=hash_token_key(key))
    revoke_url = reverse("accounts:token_revoke", args=[token.pk])
    assert f'action="{revoke_url}"' in reloaded
    response = browser.post(revoke_url, follow=True)
    assert response.status_code == 200
    assert "is revoked" in response.content.decode()

    # then the same call is refused
    response = _me(key)
    assert response.status_code == 401
    assert response.json()["errors"]["detail"] == ["Invalid or revoked API token."]
