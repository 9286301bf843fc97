"""Content-Security-Policy violation reports: browsers POST them here (the policy's
``report-uri``), so a page the policy breaks, or a script injected into one, shows up in the log
and in ``mlpaygrade_csp_violations_total`` instead of only in a visitor's console.

Anyone can send one (a browser sends it without credentials), so the endpoint is limited per
client address, reads at most ``MAX_REPORT_BYTES``, and keeps only a few short, cleaned fields:
the metric's label is one of the directives our policy has (or "other"), never the sender's text.
Both formats browsers use are read: ``application/csp-report`` (``report-uri``) and the Reporting
API's ``application/reports+json``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.metrics import CSP_VIOLATIONS
from portal.ratelimit_fallback import ratelimit_with_fallback

logger = logging.getLogger(__name__)

CSP_REPORT_GROUP = "portal.csp_report"
MAX_REPORT_BYTES = 16 * 1024
# Reporting API batches: more entries than this in one POST are not read.
MAX_REPORTS_PER_REQUEST = 20
FIELD_MAX_LENGTH = 200
REPORT_URI_TYPE = "application/csp-report"
REPORTING_API_TYPE = "application/reports+json"
ACCEPTED_TYPES = (REPORT_URI_TYPE, REPORTING_API_TYPE, "application/json")
OTHER_DIRECTIVE = "other"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Violation:
    directive: str
    blocked: str
    document: str
    disposition: str


class ReportError(ValueError):
    """The body is not a violation report; the message says why (answered 400)."""


def _clean(value: object) -> str:
    """A short single-line string: control characters (log injection) removed."""
    return _UNPRINTABLE.sub("", str(value or ""))[:FIELD_MAX_LENGTH]


def policy_directives() -> frozenset[str]:
    """The directives our policy names (``CONTENT_SECURITY_POLICY``), the metric's labels."""
    return frozenset(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])


def directive_label(directive: str) -> str:
    """``script-src-elem`` counts as ``script-src``; anything not in our policy is "other"."""
    known = policy_directives()
    directive = directive.strip().split(" ", 1)[0].lower()
    for name in (directive, re.sub(r"-(elem|attr)$", "", directive)):
        if name in known:
            return name
    return OTHER_DIRECTIVE


def _violation(fields: dict, *, directive: str, blocked: str, document: str) -> Violation:
    return Violation(
        directive=directive_label(_clean(fields.get(directive))),
        blocked=_clean(fields.get(blocked)),
        document=_clean(fields.get(document)),
        disposition=_clean(fields.get("disposition") or "enforce"),
    )


def parse_reports(body: bytes, content_type: str) -> list[Violation]:
    """The violations in one POST body, in either browser format."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ReportError("The body is not JSON.") from exc
    if content_type == REPORTING_API_TYPE or isinstance(payload, list):
        if not isinstance(payload, list):
            raise ReportError("A Reporting API body is a list of reports.")
        return [
            _violation(
                report["body"],
                directive="effectiveDirective",
                blocked="blockedURL",
                document="documentURL",
            )
            for report in payload[:MAX_REPORTS_PER_REQUEST]
            if isinstance(report, dict)
            and report.get("type") == "csp-violation"
            and isinstance(report.get("body"), dict)
        ]
    report = payload.get("csp-report") if isinstance(payload, dict) else None
    if not isinstance(report, dict):
        raise ReportError('A report-uri body is an object with a "csp-report" object.')
    directive = "effective-directive" if report.get("effective-directive") else "violated-directive"
    return [_violation(report, directive=directive, blocked="blocked-uri", document="document-uri")]


def record_violations(violations: list[Violation]) -> None:
    for violation in violations:
        CSP_VIOLATIONS.labels(directive=violation.directive).inc()
        logger.warning(
            "content security policy violation (%s): %s blocked %r on %r",
            violation.disposition,
            violation.directive,
            violation.blocked,
            violation.document,
            extra={
                "csp_directive": violation.directive,
                "csp_blocked": violation.blocked,
                "csp_document": violation.document,
                "csp_disposition": violation.disposition,
            },
        )


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": {"detail": [message]}}, status=status)


def csp_report_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_CSP_REPORT


@csrf_exempt  # browsers send reports without a token; nothing here acts for a user
@require_POST
@ratelimit_with_fallback(group=CSP_REPORT_GROUP, key="ip", rate=csp_report_rate)
def receive(request: HttpRequest) -> HttpResponse:
    content_type = request.content_type or ""
    if content_type not in ACCEPTED_TYPES:
        return _error(415, f"Send {REPORT_URI_TYPE} or {REPORTING_API_TYPE}.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_REPORT_BYTES + 1
    if length > MAX_REPORT_BYTES:
        return _error(413, f"A report is at most {MAX_REPORT_BYTES} bytes.")
    try:
        violations = parse_reports(request.body, content_type)
    except ReportError as exc:
        return _error(400, str(exc))
    record_violations(violations)
    return HttpResponse(status=204)
