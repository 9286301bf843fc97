"""Error views: 429 for rate limits, and the 404/500 handlers.

Under ``/api/`` every error is the API's JSON shape (``{"errors": {"detail": [...]}}``), so an
API client never has to parse an HTML page; elsewhere the site's own error pages are rendered.
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
API_PATH_PREFIX = "/api/"
RATE_LIMITED_MESSAGE = "Too many requests. Please wait a minute and try again."
NOT_FOUND_MESSAGE = "Not found."
SERVER_ERROR_MESSAGE = "Something went wrong on our side. Please try again later."

# A backing service is down or too slow: the request may succeed later, so 503, not 500.
DEPENDENCY_UNAVAILABLE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionInterrupted,
    BrokerUnavailable,
)
DEPENDENCY_RETRY_AFTER_SECONDS = 30
DEPENDENCY_UNAVAILABLE_MESSAGE = (
    "A service the portal depends on is unavailable right now. Please try again shortly."
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def _api_error(message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"errors": {"detail": [message]}}, status=status)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit raises Ratelimited; answer 429 with a clear message, not a 403."""
    if _is_api(request):
        response: HttpResponse = _api_error(RATE_LIMITED_MESSAGE, status=429)
    else:
        response = render(request, "429.html", status=429)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(NOT_FOUND_MESSAGE, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _api_error(SERVER_ERROR_MESSAGE, status=500)
    return render(request, "500.html", status=500)


class DependencyUnavailableMiddleware:
    """HTML pages: an unreachable Redis or broker (e.g. under a rate-limited form) is a 503 page.

    The API answers the same through its exception handler; this covers Django views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DEPENDENCY_UNAVAILABLE_ERRORS):
            return None
        logger.error("dependency unavailable: %s", exception, exc_info=exception)
        if _is_api(request):
            response: HttpResponse = _api_error(DEPENDENCY_UNAVAILABLE_MESSAGE, status=503)
        else:
            response = render(
                request, "503.html", {"message": DEPENDENCY_UNAVAILABLE_MESSAGE}, status=503
            )
        response["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
        return response
