"""DRF authentication with the portal's hashed, revocable API tokens.

Clients send ``Authorization: Token <key>`` (DRF's convention) or ``Authorization: Bearer <key>``.
"""

from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.accounts.models import ApiToken, hash_token_key

ACCEPTED_KEYWORDS = ("token", "bearer")
LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in ACCEPTED_KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Token <key>'."
            )
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token characters.") from exc
        # key_hash is unique: .get() needs no ORDER BY, unlike .first().
        try:
            token = (
                ApiToken.objects.active().select_related("user").get(key_hash=hash_token_key(key))
            )
        except ApiToken.DoesNotExist:
            token = None
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        self._touch(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'

    @staticmethod
    def _touch(token: ApiToken) -> None:
        """Record use at most once a minute, so hot clients do not write on every call."""
        now = timezone.now()
        last = token.last_used_at
        if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
