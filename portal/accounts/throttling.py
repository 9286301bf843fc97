"""Rate-limit keys and rates for the account endpoints (django-ratelimit).

Rates are read from settings on every request, so they can be changed per environment (and per
test). The IP key goes through ``settings.RATELIMIT_IP_META_KEY`` (``portal.net.client_ip``), so
a client cannot choose its own bucket with a forged ``X-Forwarded-For``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit

from portal.net import client_ip

LOGIN_IP_GROUP = "accounts.login.ip"
LOGIN_USERNAME_AT_IP_GROUP = "accounts.login.username-at-ip"
LOGIN_USERNAME_GROUP = "accounts.login.username"
TOKEN_IP_GROUP = "accounts.token.ip"  # noqa: S105
TOKEN_USERNAME_AT_IP_GROUP = "accounts.token.username-at-ip"  # noqa: S105
TOKEN_USERNAME_GROUP = "accounts.token.username"  # noqa: S105
SIGNUP_IP_GROUP = "accounts.signup.ip"
PASSWORD_RESET_IP_GROUP = "accounts.password_reset.ip"  # noqa: S105
USERNAME_KEY_MAX_LENGTH = 150


def submitted_username(group: str, request: HttpRequest) -> str:
    """The username a login attempt targets, lower-cased, from a form or a JSON body."""
    data = getattr(request, "data", None)
    if not isinstance(data, Mapping):
        data = request.POST
    value = data.get("username", "")
    return str(value).strip().lower()[:USERNAME_KEY_MAX_LENGTH]


def username_at_address(group: str, request: HttpRequest) -> str:
    """One account tried from one address: the bucket a guesser fills, and only that one."""
    return f"{submitted_username(group, request)}@{client_ip(request)}"


def login_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_LOGIN


def token_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_TOKEN


def signup_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SIGNUP


def username_ceiling_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_USERNAME_CEILING


RateFunction = Callable[[str, HttpRequest], str]


@dataclass(frozen=True, slots=True)
class PasswordDoor:
    """The buckets of one way in by password (the django-axes model).

    Per address and per username-at-address at the door's rate, so a guesser is stopped
    without locking the owner out from their own address; and per username across all
    addresses at a much higher ceiling, so a botnet cannot guess one account forever.
    """

    ip_group: str
    username_at_ip_group: str
    username_group: str
    rate: RateFunction

    def limits(self) -> list[Callable]:
        return [
            ratelimit(group=self.ip_group, key="ip", rate=self.rate, method="POST"),
            ratelimit(
                group=self.username_at_ip_group,
                key=username_at_address,
                rate=self.rate,
                method="POST",
            ),
            ratelimit(
                group=self.username_group,
                key=submitted_username,
                rate=username_ceiling_rate,
                method="POST",
            ),
        ]

    def limit_view(self, view: Callable) -> Callable:
        for limit in reversed(self.limits()):
            view = limit(view)
        return view

    def limit_class(self, view_class: type) -> type:
        for limit in reversed(self.limits()):
            view_class = method_decorator(limit, name="post")(view_class)
        return view_class


# The site's and the admin's log-in forms share one set of buckets: a second door adds no tries.
LOGIN_DOOR = PasswordDoor(
    LOGIN_IP_GROUP, LOGIN_USERNAME_AT_IP_GROUP, LOGIN_USERNAME_GROUP, login_rate
)
TOKEN_DOOR = PasswordDoor(
    TOKEN_IP_GROUP, TOKEN_USERNAME_AT_IP_GROUP, TOKEN_USERNAME_GROUP, token_rate
)
