"""Liveness and readiness probes (JSON, 200 or 503).

``/readyz`` names each component and the failing ones to anyone (a load balancer needs no
account); exception details and the deep check (a task round trip through a worker) are for
staff or a probe that sends ``READINESS_SECRET`` in the ``X-Readiness-Secret`` header. Behind a
same-host proxy every client is loopback, so the address proves nothing.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse

SECRET_HEADER = "HTTP_X_READINESS_SECRET"  # noqa: S105 - a header name


def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})


def _trusted(request: HttpRequest) -> bool:
    """Staff, or the configured probe secret (compared in constant time)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    secret = settings.READINESS_SECRET
    sent = request.META.get(SECRET_HEADER, "")
    return bool(secret) and hmac.compare_digest(sent.encode(), secret.encode())


def readiness(request: HttpRequest) -> JsonResponse:
    from portal.readiness import readiness_report

    trusted = _trusted(request)
    report = readiness_report(
        include_worker=trusted and request.GET.get("deep") == "1", with_details=trusted
    )
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
