"""Account services: sign-up rules and the API-token lifecycle."""

import pytest

from portal.accounts.models import ApiToken, hash_token_key
from portal.accounts.selectors import api_token_list_for_user
from portal.accounts.services import (
    MAX_ACTIVE_TOKENS_PER_USER,
    api_token_create,
    api_token_revoke,
    user_signup,
)
from portal.exceptions import NotFound, ServiceError

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "plenty-of-entropy-here-93"


def test_token_create_stores_only_a_digest(user):
    # when
    token, key = api_token_create(user=user, name="  nightly job  ")

    # then
    assert key.startswith("mlp_")
    assert token.prefix == key[:12]
    assert token.key_hash == hash_token_key(key)
    assert key not in {token.key_hash, token.prefix}
    assert token.name == "nightly job"
    assert token.is_active


def test_token_create_rejects_a_blank_name(user):
    with pytest.raises(ServiceError) as caught:
        api_token_create(user=user, name="   ")
    assert "name" in caught.value.errors
    assert not ApiToken.objects.exists()


def test_active_tokens_are_capped_and_revoked_ones_do_not_count(user):
    # given a user at the cap
    tokens = [
        api_token_create(user=user, name=f"t{i}")[0] for i in range(MAX_ACTIVE_TOKENS_PER_USER)
    ]

    # when they ask for one more, then a clear error names the limit
    with pytest.raises(ServiceError) as caught:
        api_token_create(user=user, name="one too many")
    assert str(MAX_ACTIVE_TOKENS_PER_USER) in caught.value.errors["name"][0]
    assert ApiToken.objects.filter(user=user).count() == MAX_ACTIVE_TOKENS_PER_USER

    # when one is revoked, then there is room again
    api_token_revoke(user=user, token_id=tokens[0].pk)
    api_token_create(user=user, name="replacement")
    assert ApiToken.objects.active().filter(user=user).count() == MAX_ACTIVE_TOKENS_PER_USER


def test_revoking_someone_elses_token_is_a_404(user, other_user):
    # given
    token, _key = api_token_create(user=other_user, name="theirs")

    # when / then
    with pytest.raises(NotFound):
        api_token_revoke(user=user, token_id=token.pk)
    token.refresh_from_db()
    assert token.is_active


def test_revoking_twice_keeps_the_first_time(user):
    # given
    token, _key = api_token_create(user=user, name="x")
    first = api_token_revoke(user=user, token_id=token.pk).revoked_at

    # when
    again = api_token_revoke(user=user, token_id=token.pk)

    # then
    assert again.revoked_at == first


def test_token_list_shows_only_the_users_tokens_newest_first(user, other_user):
    # given
    older, _ = api_token_create(user=user, name="older")
    newer, _ = api_token_create(user=user, name="newer")
    api_token_create(user=other_user, name="not mine")

    # when
    listed = list(api_token_list_for_user(user=user))

    # then
    assert listed == [newer, older]


def test_signup_rejects_usernames_and_emails_that_differ_only_in_case(user):
    with pytest.raises(ServiceError) as caught:
        user_signup(username="ALICE", email="ALICE@example.com", password=GOOD_PASSWORD)
    assert set(caught.value.errors) == {"username", "email"}


def test_signup_without_email_stores_null_so_many_can_skip_it(django_user_model):
    # when
    first = user_signup(username="dave", email="", password=GOOD_PASSWORD)
    second = user_signup(username="erin", email=None, password=GOOD_PASSWORD)

    # then
    assert first.email is None and second.email is None
    assert django_user_model.objects.filter(email__isnull=True).count() == 2


def test_signup_applies_the_password_validators():
    with pytest.raises(ServiceError) as caught:
        user_signup(username="frank", email=None, password="12345678")
    assert caught.value.errors["password"]
