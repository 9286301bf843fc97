"""Account reads."""

from django.db.models import QuerySet

from portal.accounts.models import ApiToken, User


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """All of the user's tokens, newest first; active and revoked alike (never the secret)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
