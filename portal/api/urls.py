"""Everything under /api/v1/: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("portal.accounts.api_urls")),
    path("", include("predictions.api_urls")),
    path("", include("feedback.api_urls")),
    path("", include("mlmodel.api_urls")),
]
