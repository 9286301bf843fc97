"""Top-level URL map: site pages, accounts, the HTML app pages, the API and operations."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import csp_reports, health, metrics
from portal.accounts.throttling import LOGIN_DOOR

handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"

urlpatterns = [
    path("", include("portal.pages.urls")),
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("csp-report", csp_reports.receive, name="csp-report"),
    path("accounts/", include("portal.accounts.urls")),
    path("predictions/", include("predictions.urls")),
    path("feedback/", include("feedback.urls")),
    path("api/v1/", include("portal.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/docs.html"),
        name="api-docs",
    ),
    # The admin's log-in form is a door like the site's: same buckets, same limits.
    path("admin/login/", LOGIN_DOOR.limit_view(admin.site.login)),
    path("admin/", admin.site.urls),
    # Bearer token or staff only (portal/metrics.py); the name is the one alerts.yml excludes.
    path("metrics", metrics.metrics_view, name="prometheus-django-metrics"),
]
