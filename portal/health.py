"""Liveness and readiness probes (JSON, 200 or 503)."""

from django.http import HttpRequest, JsonResponse


def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> JsonResponse:
    from portal.readiness import readiness_report

    report = readiness_report(include_worker=request.GET.get("deep") == "1")
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
