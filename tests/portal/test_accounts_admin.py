"""Admin for users and API tokens: staff can inspect and revoke tokens, never see secrets."""

import pytest
from django.urls import reverse

from portal.accounts.models import ApiToken
from portal.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_user_admin_pages_render(admin_client, user):
    assert admin_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_user_add")).status_code == 200
    assert (
        admin_client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200
    )


def test_admin_can_add_a_user_without_an_email(admin_client, django_user_model):
    # when
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "henry",
            "email": "",
            "usable_password": "true",
            "password1": "yet-another-passphrase-71",
            "password2": "yet-another-passphrase-71",
        },
    )

    # then
    assert response.status_code == 302
    assert django_user_model.objects.get(username="henry").email is None


def test_staff_revoke_tokens_from_the_admin(admin_client, user):
    # given
    token, key = api_token_create(user=user, name="leaked")

    # when
    page = admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    response = admin_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
        follow=True,
    )

    # then
    assert page.status_code == 200
    assert key not in page.content.decode()
    assert "Revoked 1 token(s)." in response.content.decode()
    assert not ApiToken.objects.get(pk=token.pk).is_active
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
