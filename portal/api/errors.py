"""One JSON error shape for the whole API: ``{"errors": {"field": ["message", ...]}}``.

Errors that belong to no field use the key ``detail``. Rate limits become 429 with
``Retry-After``; our own ``ServiceError`` gets the status of its kind
(``portal.errors.HTTP_STATUS``) with its field errors. An unreachable Redis (cache, rate-limit
counters) or broker becomes 503 with ``Retry-After``: rate limiting fails closed, with a
message, never an anonymous 500.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.errors import (
    DEPENDENCY_RETRY_AFTER_SECONDS,
    DEPENDENCY_UNAVAILABLE_ERRORS,
    RATE_LIMITED_MESSAGE,
    RETRY_AFTER_SECONDS,
    dependency_unavailable_message,
    http_status,
)
from portal.exceptions import ServiceError, Unavailable

logger = logging.getLogger(__name__)


def _as_field_errors(detail: object) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    return {"detail": _flatten(detail)}


def _flatten(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        messages: list[str] = []
        for item in value:
            messages.extend(_flatten(item))
        return messages
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, sub in value.items() for message in _flatten(sub)]
    return [str(value)]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Ratelimited):
        response = Response(
            {"errors": {"detail": [RATE_LIMITED_MESSAGE]}},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, DEPENDENCY_UNAVAILABLE_ERRORS):
        view = context.get("view")
        logger.error(
            "dependency unavailable: %s",
            exc,
            exc_info=exc,
            extra={"view": type(view).__name__ if view is not None else None},
        )
        response = Response(
            {"errors": {"detail": [dependency_unavailable_message(exc)]}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"errors": {"detail": ["The request body is too large."]}},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ServiceError):
        response = Response({"errors": exc.errors}, status=http_status(exc))
        if isinstance(exc, Unavailable):
            response["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"errors": _as_field_errors(response.data)}
    return response
