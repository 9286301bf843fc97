"""Liveness and readiness probes (JSON, 200 or 503)."""

import ipaddress

from django.http import HttpRequest, JsonResponse

from portal.net import client_ip


def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})


def _deep_check_allowed(request: HttpRequest) -> bool:
    """The deep check enqueues a task: only staff or a probe on this host may ask for it."""
    if request.GET.get("deep") != "1":
        return False
    user = getattr(request, "user", None)
    return bool(user and user.is_staff) or ipaddress.ip_address(client_ip(request)).is_loopback


def readiness(request: HttpRequest) -> JsonResponse:
    from portal.readiness import readiness_report

    report = readiness_report(include_worker=_deep_check_allowed(request))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
