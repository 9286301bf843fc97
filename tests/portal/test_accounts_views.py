"""Account pages: form errors next to fields, password change and reset, token page rules."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-58"


def _signup(client, **overrides):
    data = {"username": "gina", "email": "", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(reverse("accounts:signup"), {**data, **overrides})


def test_signup_pages_render(client):
    for name in ("accounts:signup", "accounts:login", "accounts:password_reset"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert b'<main id="main"' in response.content


def test_signup_without_email_logs_the_user_in(client, django_user_model):
    # when
    response = _signup(client)

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("pages:home")
    created = django_user_model.objects.get(username="gina")
    assert created.email is None
    assert client.session["_auth_user_id"] == str(created.pk)


def test_signup_errors_are_shown_next_to_their_fields(client, user):
    # when the username is taken (other case), the e-mail is malformed, passwords differ
    response = _signup(client, username="Alice", email="not-an-email", password2="different-one-1")

    # then nothing is created and each message sits in its field's error list
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="id_email_error"[^>]*>.*valid email', html, re.S)
    assert re.search(r'id="id_password2_error"[^>]*>.*do not match', html, re.S)
    assert 'aria-invalid="true"' in html


def test_signup_service_errors_land_on_the_form(client, user):
    # when only the business rule fails (the username exists, in another case)
    response = _signup(client, username="ALICE")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="id_username_error"[^>]*>.*already exists', html, re.S)


def test_logout_is_post_only(auth_client):
    assert auth_client.get(reverse("accounts:logout")).status_code == 405
    assert auth_client.post(reverse("accounts:logout")).status_code == 302
    assert auth_client.get(reverse("accounts:account")).status_code == 302


def test_account_page_requires_login(client):
    response = client.get(reverse("accounts:account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_token_create_with_blank_name_shows_the_error(auth_client):
    response = auth_client.post(reverse("accounts:token_create"), {"name": ""})
    assert response.status_code == 200
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_another_users_token_is_404(auth_client, other_user):
    # given
    token, _key = api_token_create(user=other_user, name="theirs")

    # when
    response = auth_client.post(reverse("accounts:token_revoke", args=[token.pk]))

    # then
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_password_change(auth_client, user, password):
    # when
    response = auth_client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_by_email_link(client, user):
    # when the user asks for a reset
    response = client.post(reverse("accounts:password_reset"), {"email": "ALICE@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")

    # then one e-mail carries a working link
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    assert response.context["validlink"]
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_for_unknown_address_sends_nothing_and_reveals_nothing(client, user):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.django_db
def test_reloading_the_page_that_showed_a_new_secret_creates_no_second_token(auth_client, user):
    # given the account page's form, with its one-time submission id
    page = auth_client.get(reverse("accounts:account"))
    submission = page.context["form"]["submission"].value()
    data = {"name": "laptop", "submission": submission}

    # when the form is sent, then the page that showed the secret is reloaded (same POST)
    first = auth_client.post(reverse("accounts:token_create"), data)
    again = auth_client.post(reverse("accounts:token_create"), data)

    # then one token exists, the reload says so and shows no secret
    assert first.context["new_token_key"]
    assert again.status_code == 200
    assert again.context["new_token_key"] is None
    assert "This form was already sent" in again.content.decode()
    assert ApiToken.objects.filter(user=user).count() == 1
    # and a fresh form can create another
    fresh = again.context["form"]["submission"].value()
    assert fresh != submission
    auth_client.post(reverse("accounts:token_create"), {"name": "ci", "submission": fresh})
    assert ApiToken.objects.filter(user=user).count() == 2


def test_a_form_refused_for_its_name_creates_the_token_once_corrected(auth_client, user):
    # given the account page's form, sent with a blank name
    page = auth_client.get(reverse("accounts:account"))
    submission = page.context["form"]["submission"].value()
    refused = auth_client.post(
        reverse("accounts:token_create"), {"name": "  ", "submission": submission}
    )
    assert not ApiToken.objects.filter(user=user).exists()

    # when the same form is sent again with a name
    corrected = auth_client.post(
        reverse("accounts:token_create"), {"name": "laptop", "submission": submission}
    )

    # then the refusal named the field, and the corrected form created one token
    assert "Give the token a name" in refused.content.decode()
    assert corrected.context["new_token_key"]
    assert list(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == ["laptop"]


def test_sending_the_sign_up_form_twice_creates_one_account(client, django_user_model, password):
    # given a filled sign-up form
    data = {
        "username": "carol",
        "email": "carol@example.com",
        "password1": password,
        "password2": password,
    }

    # when it is sent twice (a reload of its answer, or a double click)
    first = client.post(reverse("accounts:signup"), data)
    again = client.post(reverse("accounts:signup"), data)

    # then one account exists and the second post creates nothing
    assert first.status_code == 302
    assert again.status_code in (200, 302)
    assert django_user_model.objects.filter(username="carol").count() == 1
