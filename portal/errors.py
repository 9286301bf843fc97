"""HTML error views: 429 for rate limits, and the 404/500 handlers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

RETRY_AFTER_SECONDS = 60


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit raises Ratelimited; answer 429 with a clear message, not a 403."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        response: HttpResponse = JsonResponse(
            {"errors": {"detail": ["Too many requests. Please wait a minute and try again."]}},
            status=429,
        )
    else:
        response = render(request, "429.html", status=429)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
