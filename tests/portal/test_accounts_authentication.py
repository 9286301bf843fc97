"""API token authentication: one query, compiled once, giving the same token and user as the ORM."""

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from portal.accounts.authentication import ApiTokenAuthentication, token_lookup
from portal.accounts.models import ApiToken, hash_token_key
from portal.accounts.services import api_token_create


def _request(key: str):
    return APIRequestFactory().get("/api/v1/predictions/", HTTP_AUTHORIZATION=f"Token {key}")


def _fields(instance) -> dict:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


@pytest.mark.django_db
def test_a_token_is_authenticated_in_one_query_as_the_orm_would_load_it(
    user, django_assert_num_queries
):
    # given a token used a moment ago (no last-used update due)
    token, key = api_token_create(user=user, name="laptop")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    expected = ApiToken.objects.select_related("user").get(pk=token.pk)

    # when
    with django_assert_num_queries(1):
        authenticated_user, authenticated_token = ApiTokenAuthentication().authenticate(
            _request(key)
        )

    # then both rows are complete model instances, equal to the ORM's, with no lazy loads left
    assert _fields(authenticated_token) == _fields(expected)
    assert _fields(authenticated_user) == _fields(expected.user)
    assert authenticated_token.user is authenticated_user
    assert authenticated_token._state.adding is False
    assert authenticated_user._state.db == authenticated_token._state.db == "default"
    with django_assert_num_queries(0):
        assert authenticated_user.username == user.username
    assert model_to_dict(authenticated_token) == model_to_dict(expected)


@pytest.mark.django_db
def test_first_use_records_when_the_token_was_used(user):
    # given a token never used
    token, key = api_token_create(user=user, name="laptop")

    # when
    ApiTokenAuthentication().authenticate(_request(key))

    # then
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["revoked", "inactive user", "unknown key"])
def test_a_revoked_unknown_or_inactive_users_token_is_refused(user, state):
    # given
    token, key = api_token_create(user=user, name="laptop")
    if state == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    elif state == "inactive user":
        user.is_active = False
        user.save(update_fields=["is_active"])
    else:
        key = key[:-1] + ("A" if key[-1] != "A" else "B")

    # when / then
    with pytest.raises(AuthenticationFailed):
        ApiTokenAuthentication().authenticate(_request(key))


def test_the_compiled_look_up_is_the_orm_query_with_the_digest_as_its_parameter():
    # given the ORM's own query for one digest
    digest = hash_token_key("some-key")
    queryset = ApiToken.objects.active().select_related("user").filter(key_hash=digest)
    sql, params = queryset.query.sql_with_params()

    # when
    lookup = token_lookup()
    compiled_params = list(lookup.params)
    compiled_params[lookup.digest_index] = digest

    # then
    assert lookup.sql == sql
    assert compiled_params == list(params)
