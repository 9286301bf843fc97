"""Rate limits on log-in and sign-up, and the client address they key on."""

import time

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django_ratelimit.core import get_usage

from portal.accounts import throttling
from portal.net import client_ip

pytestmark = pytest.mark.django_db

# Short enough to wait out in a test, long enough that 11 requests fit in one window.
LOGIN_TEST_RATE = "10/5s"
LOGIN_LIMIT = 10
MIN_SECONDS_LEFT_TO_START = 2
WINDOW_EDGE_MARGIN_SECONDS = 1.1
SIGNUP_TEST_RATE = "2/h"  # an hour-long window: the test cannot straddle a window edge


def _seconds_left(group: str, key, username: str) -> int:
    """Whole seconds before the current window of this bucket ends (django-ratelimit's view)."""
    request = RequestFactory().post(reverse("accounts:login"), {"username": username})
    usage = get_usage(
        request, group=group, key=key, rate=throttling.login_rate(group, request), method="POST"
    )
    return usage["time_left"]


def _login(client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_eleventh_wrong_password_in_the_window_is_429_and_the_window_ends(
    client, user, password, settings
):
    # given a short window, and enough of it left for eleven quick attempts
    settings.RATELIMIT_LOGIN = LOGIN_TEST_RATE
    buckets = [
        (throttling.LOGIN_USERNAME_AT_IP_GROUP, throttling.username_at_address),
        (throttling.LOGIN_IP_GROUP, "ip"),
    ]
    left = _seconds_left(*buckets[0], "alice")
    if left < MIN_SECONDS_LEFT_TO_START:
        time.sleep(left + WINDOW_EDGE_MARGIN_SECONDS)

    # when ten wrong passwords are tried (the username's case varies: one bucket)
    for attempt in range(LOGIN_LIMIT):
        response = _login(client, "alice" if attempt % 2 else "ALICE", "wrong-password")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()

    # then the eleventh is refused with a clear message, even with the right password
    response = _login(client, "alice", "wrong-password")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert _login(client, "alice", password).status_code == 429

    # when both buckets' windows have ended
    wait = max(_seconds_left(group, key, "alice") for group, key in buckets)
    time.sleep(wait + WINDOW_EDGE_MARGIN_SECONDS)

    # then the right password works
    response = _login(client, "alice", password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def _signup_attempt(client, **meta):
    return client.post(reverse("accounts:signup"), {"username": ""}, **meta)


def test_forged_forwarded_for_cannot_pick_a_new_bucket_without_trusted_proxies(client, settings):
    # given no proxy in front of the app
    settings.TRUSTED_PROXY_COUNT = 0
    settings.RATELIMIT_SIGNUP = SIGNUP_TEST_RATE

    # when each attempt forges a different X-Forwarded-For
    statuses = [
        _signup_attempt(client, HTTP_X_FORWARDED_FOR=forged).status_code
        for forged in ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    ]

    # then they all count against the one real address
    assert statuses == [200, 200, 429]


def test_with_one_trusted_proxy_the_rightmost_forwarded_address_is_the_client(client, settings):
    # given one proxy that appends the address it saw
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATELIMIT_SIGNUP = SIGNUP_TEST_RATE
    proxy = {"REMOTE_ADDR": "10.0.0.5"}

    # when one client (203.0.113.7) forges different left-hand entries
    statuses = [
        _signup_attempt(client, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7", **proxy).status_code
        for forged in ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    ]
    other_client = _signup_attempt(client, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)

    # then only the right-most entry decides the bucket
    assert statuses == [200, 200, 429]
    assert other_client.status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.5"),
        (1, "192.0.2.1, 203.0.113.7", "203.0.113.7"),
        (2, "192.0.2.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.5"),
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.5")
    assert client_ip(request) == expected


ADMIN_LOGIN_TEST_RATE = "3/h"  # an hour-long window: the test cannot straddle a window edge


def _admin_login(client, username: str, password: str, **meta):
    return client.post(reverse("admin:login"), {"username": username, "password": password}, **meta)


def test_the_admin_login_form_has_the_same_limits_and_buckets(client, user, password, settings):
    # given
    settings.RATELIMIT_LOGIN = ADMIN_LOGIN_TEST_RATE
    user.is_staff = True
    user.save()

    # when wrong passwords are tried on the admin's form, then once on the site's
    for _ in range(2):
        assert _admin_login(client, "alice", "wrong").status_code == 200
    assert _login(client, "alice", "wrong").status_code == 200

    # then both doors are closed for this address, even to the right password
    refused = _admin_login(client, "alice", password)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert _login(client, "alice", password).status_code == 429


def test_the_owner_is_not_locked_out_by_guesses_from_elsewhere(client, user, password, settings):
    # given a stranger used up the limit for this account from their address
    settings.RATELIMIT_LOGIN = ADMIN_LOGIN_TEST_RATE
    for _ in range(3):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", password).status_code == 429

    # when the owner signs in from another address
    response = client.post(
        reverse("accounts:login"),
        {"username": "alice", "password": password},
        REMOTE_ADDR="203.0.113.7",
    )

    # then they are in
    assert response.status_code == 302
