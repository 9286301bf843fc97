"""Request-id propagation (every request and every log line it causes carry one id), the
refusal of request bodies Django would misread, and django-csp's middleware with its policy
built once."""

import logging
import re
import threading
import uuid
from collections.abc import Callable

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy as csp_build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse

from portal.errors import request_body_refused

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
MALFORMED_LENGTH_MESSAGE = "Content-Length must be a whole number of bytes."


class LengthRequiredMiddleware:
    """A chunked request body reaches Django with no Content-Length, and Django reads such a
    body as empty: a client would get answers to a request it did not send. Refuse it (411).
    A Content-Length that is not a number is a 400 here, before the metrics middleware's
    ``int()`` of it would turn it into a 500 (gunicorn refuses one itself; runserver does not)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if CHUNKED in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return request_body_refused(request, LENGTH_REQUIRED_MESSAGE, status=411)
        length = (request.META.get("CONTENT_LENGTH") or "0").strip()
        if not (length.isascii() and length.isdigit()):
            return request_body_refused(request, MALFORMED_LENGTH_MESSAGE, status=400)
        return self.get_response(request)


# The attributes django-csp's decorators (@csp_update, @csp_replace, @csp, @csp_exempt) set on
# a response to change its policy; a response with none of them gets the settings' policy.
_POLICY_CHANGING_ATTRIBUTES = tuple(
    f"_csp_{kind}{suffix}"
    for kind in ("config", "update", "replace", "exempt")
    for suffix in ("", "_ro")
)
_DEBUG_EXEMPT_STATUSES = (500, 404)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with each policy built once per process for the responses that
    do not change it: no decorator on the view and no nonce taken (the site's own pages and the
    API never take one). Building both policies was ~6 % of an API prediction's instructions
    (callgrind), and they depend on the settings alone, so the header is the library's own
    string (``tests/portal/test_csp.py`` compares the two). Anything else goes to the library.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self._headers: list[tuple[str, str, tuple[str, ...]]] | None = None
        setting_changed.connect(self._forget_policies)

    def _forget_policies(self, *, setting: str, **kwargs) -> None:
        if setting.startswith("CONTENT_SECURITY_POLICY"):
            self._headers = None

    def _plain_headers(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(header, policy, excluded path prefixes) for the policies the settings define."""
        headers = []
        for header, setting, report_only in (
            (CSP_HEADER, "CONTENT_SECURITY_POLICY", False),
            (CSP_HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            policy = csp_build_policy(report_only=report_only)
            excluded = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if policy:
                headers.append((header, policy, tuple(excluded)))
        return headers

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        plain = getattr(request, "_csp_nonce", None) is None and not any(
            hasattr(response, name) for name in _POLICY_CHANGING_ATTRIBUTES
        )
        if not plain:
            return super().process_response(request, response)
        if response.status_code in _DEBUG_EXEMPT_STATUSES and settings.DEBUG:
            return response
        if self._headers is None:
            self._headers = self._plain_headers()
        for header, policy, excluded in self._headers:
            if header not in response and not request.path_info.startswith(excluded):
                response[header] = policy
        # As the library does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
