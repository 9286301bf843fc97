"""Error views: 429 for rate limits, and the 404/500 handlers.

Under ``/api/`` every error is the API's JSON shape (``{"errors": {"detail": [...]}}``), so an
API client never has to parse an HTML page; elsewhere the site's own error pages are rendered.
"""

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portal.exceptions import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unavailable,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
API_PATH_PREFIX = "/api/"
RATE_LIMITED_MESSAGE = "Too many requests. Please wait a minute and try again."
NOT_FOUND_MESSAGE = "Not found."
SERVER_ERROR_MESSAGE = "Something went wrong on our side. Please try again later."

# A backing service is down or too slow: the request may succeed later, so 503, not 500. Each
# kind of failure names the dependency, so a user and an operator both know which one it is.
DATABASE = "The database"
CACHE = "The cache (Redis)"
TASK_QUEUE = "The task queue (Redis broker)"
DEPENDENCY_OF_ERROR: dict[type[BaseException], str] = {
    DatabaseOperationalError: DATABASE,
    DatabaseInterfaceError: DATABASE,
    RedisConnectionError: CACHE,
    RedisTimeoutError: CACHE,
    ConnectionInterrupted: CACHE,
    BrokerUnavailable: TASK_QUEUE,
}
DEPENDENCY_UNAVAILABLE_ERRORS = tuple(DEPENDENCY_OF_ERROR)
DEPENDENCY_RETRY_AFTER_SECONDS = 30
DEPENDENCY_UNAVAILABLE_MESSAGE = (
    "A service the portal depends on is unavailable right now. Please try again shortly."
)


def dependency_unavailable_message(exc: BaseException) -> str:
    """What the user reads: which dependency is down, and that retrying later may work."""
    for cls in type(exc).__mro__:
        if cls in DEPENDENCY_OF_ERROR:
            return f"{DEPENDENCY_OF_ERROR[cls]} is unavailable right now. Please try again shortly."
    return DEPENDENCY_UNAVAILABLE_MESSAGE


# The one mapping of application errors to HTTP, for the API and the HTML pages alike.
HTTP_STATUS: dict[type[ServiceError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    Unavailable: 503,
    ServiceError: 400,
}


def http_status(exc: ServiceError) -> int:
    """The status of an application error: its nearest class in :data:`HTTP_STATUS`."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    raise TypeError(f"{type(exc).__name__} is not a ServiceError")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def api_error(message: str, *, status: int) -> JsonResponse:
    """The API's one error shape for an error that belongs to no field."""
    return JsonResponse({"errors": {"detail": [message]}}, status=status)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit raises Ratelimited; answer 429 with a clear message, not a 403."""
    if _is_api(request):
        response: HttpResponse = api_error(RATE_LIMITED_MESSAGE, status=429)
    else:
        response = render(request, "429.html", status=429)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def request_body_refused(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """A body Django would misread (411 chunked, 400 a malformed length), refused unread."""
    if _is_api(request):
        return api_error(message, status=status)
    return render(request, "400.html", {"message": message}, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error(NOT_FOUND_MESSAGE, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, unless what failed was a dependency outside any view (a middleware reading the
    session or the user): then it is a 503 naming it, like everywhere else."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DEPENDENCY_UNAVAILABLE_ERRORS):
        logger.error("dependency unavailable: %s", exc, exc_info=exc)
        return dependency_unavailable_response(request, dependency_unavailable_message(exc))
    if _is_api(request):
        return api_error(SERVER_ERROR_MESSAGE, status=500)
    return render(request, "500.html", status=500)


def dependency_unavailable_response(request: HttpRequest, message: str) -> HttpResponse:
    """503 with ``Retry-After``: the API's JSON shape under ``/api/``, the 503 page elsewhere."""
    if _is_api(request):
        response: HttpResponse = api_error(message, status=503)
    else:
        response = render(request, "503.html", {"message": message}, status=503)
    response["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
    return response


# The page an application error that no view handled is shown on, by status.
ERROR_TEMPLATES: dict[int, str] = {404: "404.html", 503: "503.html"}
DEFAULT_ERROR_TEMPLATE = "400.html"


def _messages(exc: ServiceError) -> str:
    return " ".join(message for messages in exc.errors.values() for message in messages)


class ErrorPagesMiddleware:
    """HTML pages (and the API's non-DRF views): the same statuses the API handler gives.

    An unreachable Redis or broker (e.g. under a rate-limited form) is a 503 page; a
    ``ServiceError`` that no view turned into form errors is the page of its kind's status
    (:data:`HTTP_STATUS`), with its message. The API answers the same through its exception
    handler (``portal/api/errors.py``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ServiceError):
            return self._service_error(request, exception)
        if not isinstance(exception, DEPENDENCY_UNAVAILABLE_ERRORS):
            return None
        logger.error("dependency unavailable: %s", exception, exc_info=exception)
        return dependency_unavailable_response(request, dependency_unavailable_message(exception))

    def _service_error(self, request: HttpRequest, exc: ServiceError) -> HttpResponse:
        status = http_status(exc)
        if status == HTTP_STATUS[Unavailable]:
            return dependency_unavailable_response(request, _messages(exc))
        if _is_api(request):
            return JsonResponse({"errors": exc.errors}, status=status)
        template = ERROR_TEMPLATES.get(status, DEFAULT_ERROR_TEMPLATE)
        return render(request, template, {"message": _messages(exc)}, status=status)
