"""Account API routes under /api/v1/ (plain list; included by portal/api/urls.py)."""

from django.urls import path

from portal.accounts import apis

urlpatterns = [
    path("auth/token/", apis.ApiTokenObtainApi.as_view(), name="api-auth-token"),
    path("auth/tokens/", apis.ApiTokenListApi.as_view(), name="api-auth-tokens"),
    path(
        "auth/tokens/<int:token_id>/",
        apis.ApiTokenRevokeApi.as_view(),
        name="api-auth-token-revoke",
    ),
    path("me/", apis.MeApi.as_view(), name="api-me"),
]
