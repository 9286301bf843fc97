"""Request-id propagation (every request and every log line it causes carry one id) and the
refusal of request bodies Django would misread."""

import logging
import re
import threading
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.errors import length_required

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_local = threading.local()


def current_request_id() -> str:
    return getattr(_local, "request_id", "-")


class RequestIdMiddleware:
    """Accept a sane incoming X-Request-ID or make one; echo it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        _local.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _local.request_id = "-"
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


CHUNKED = "chunked"
LENGTH_REQUIRED_MESSAGE = (
    "Send the request body with a Content-Length header; chunked transfer encoding is not accepted."
)


class LengthRequiredMiddleware:
    """A chunked request body reaches Django with no Content-Length, and Django reads such a
    body as empty: a client would get answers to a request it did not send. Refuse it (411)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if CHUNKED in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return length_required(request, LENGTH_REQUIRED_MESSAGE)
        return self.get_response(request)
