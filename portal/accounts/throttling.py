"""Rate-limit keys and rates for the account endpoints (django-ratelimit).

Rates are read from settings on every request, so they can be changed per environment (and per
test). The IP key goes through ``settings.RATELIMIT_IP_META_KEY`` (``portal.net.client_ip``), so
a client cannot choose its own bucket with a forged ``X-Forwarded-For``.
"""

from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest

LOGIN_IP_GROUP = "accounts.login.ip"
LOGIN_USERNAME_GROUP = "accounts.login.username"
TOKEN_IP_GROUP = "accounts.token.ip"  # noqa: S105
TOKEN_USERNAME_GROUP = "accounts.token.username"  # noqa: S105
SIGNUP_IP_GROUP = "accounts.signup.ip"
PASSWORD_RESET_IP_GROUP = "accounts.password_reset.ip"  # noqa: S105
USERNAME_KEY_MAX_LENGTH = 150


def submitted_username(group: str, request: HttpRequest) -> str:
    """The username a login attempt targets, lower-cased, from a form or a JSON body.

    Attempts on one account share a bucket whatever address they come from.
    """
    data = getattr(request, "data", None)
    if not isinstance(data, Mapping):
        data = request.POST
    value = data.get("username", "")
    return str(value).strip().lower()[:USERNAME_KEY_MAX_LENGTH]


def login_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_LOGIN


def token_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_TOKEN


def signup_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SIGNUP
