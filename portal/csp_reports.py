"""Content-Security-Policy violation reports: browsers POST them here (the policy's
``report-uri``), so a page the policy breaks, or a script injected into one, shows up in the log
and in ``mlpaygrade_csp_violations_total`` instead of only in a visitor's console.

Anyone can send one (a browser sends it without credentials), so what arrives is a hint, not a
fact: the endpoint is limited per client address (failing closed, like log-in, while the cache is
down), reads at most ``MAX_REPORT_BYTES`` and ``MAX_REPORTS_PER_REQUEST`` reports, and keeps only
short, printable fields; the metric's label is a directive of our policy, never the sender's
text. Both formats browsers use are read: ``application/csp-report`` (``report-uri``) and the
Reporting API's ``application/reports+json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from portal.errors import api_error
from portal.metrics import CSP_VIOLATIONS
from portal.net import content_length

logger = logging.getLogger(__name__)

CSP_REPORT_GROUP = "portal.csp_report"
MAX_REPORT_BYTES = 16 * 1024
# A Reporting API batch may hold several reports; more than this in one POST are not read, so
# one request can log and count only a few lines.
MAX_REPORTS_PER_REQUEST = 5
FIELD_MAX_LENGTH = 200
REPORT_URI_TYPE = "application/csp-report"
REPORTING_API_TYPE = "application/reports+json"
ACCEPTED_TYPES = (REPORT_URI_TYPE, REPORTING_API_TYPE, "application/json")
DISPOSITIONS = ("enforce", "report")
OTHER = "other"
DEFAULT_SRC = "default-src"
# Where violations are sent, not what a page may load: never a violated directive.
REPORTING_DIRECTIVES = frozenset({"report-uri", "report-to"})
# Fetch directives: one our policy does not name falls back to default-src (CSP Level 3).
FETCH_DIRECTIVES = frozenset(
    {
        "child-src",
        "connect-src",
        "font-src",
        "frame-src",
        "img-src",
        "manifest-src",
        "media-src",
        "object-src",
        "script-src",
        "style-src",
        "worker-src",
    }
)
SUB_DIRECTIVE_SUFFIXES = ("-elem", "-attr")


@dataclass(frozen=True)
class Violation:
    """One reported violation, cleaned: what the log line and the metric show."""

    directive: str
    blocked: str
    document: str
    disposition: str


class ReportError(ValueError):
    """The body is not a violation report; the message says why (answered 400)."""


def _clean(value: object) -> str:
    """Short and printable only: no control, line-separator or bidi characters in a log line."""
    text = value if isinstance(value, str) else ""
    return "".join(char for char in text[: FIELD_MAX_LENGTH * 2] if char.isprintable())[
        :FIELD_MAX_LENGTH
    ]


def directive_label(directive: str) -> str:
    """The directive of our policy that a reported one falls under: ``script-src-elem`` under
    ``script-src``, an unnamed fetch directive under ``default-src``, anything else "other"."""
    ours = frozenset(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]) - REPORTING_DIRECTIVES
    name = (directive.split() or [""])[0].lower()
    for suffix in SUB_DIRECTIVE_SUFFIXES:
        name = name.removesuffix(suffix)
    if name in ours:
        return name
    if name in FETCH_DIRECTIVES and DEFAULT_SRC in ours:
        return DEFAULT_SRC
    return OTHER


def _violation(
    fields: dict, *, directive_key: str, blocked_key: str, document_key: str
) -> Violation | None:
    """The violation in one report's fields; None when it names no directive."""
    directive = _clean(fields.get(directive_key))
    if not directive:
        return None
    disposition = _clean(fields.get("disposition")) or DISPOSITIONS[0]
    return Violation(
        directive=directive_label(directive),
        blocked=_clean(fields.get(blocked_key)),
        document=_clean(fields.get(document_key)),
        disposition=disposition if disposition in DISPOSITIONS else OTHER,
    )


def _reporting_api_violations(payload: object) -> list[Violation]:
    if not isinstance(payload, list):
        raise ReportError("A Reporting API body is a list of reports.")
    violations = []
    for report in payload[:MAX_REPORTS_PER_REQUEST]:
        if not (isinstance(report, dict) and report.get("type") == "csp-violation"):
            continue  # another kind of report (deprecation, intervention …): not ours to count
        body = report.get("body")
        if not isinstance(body, dict):
            continue
        violation = _violation(
            body,
            directive_key="effectiveDirective",
            blocked_key="blockedURL",
            document_key="documentURL",
        )
        if violation is not None:
            violations.append(violation)
    return violations


def _report_uri_violation(payload: object) -> Violation:
    report = payload.get("csp-report") if isinstance(payload, dict) else None
    if not isinstance(report, dict):
        raise ReportError('A report-uri body is an object with a "csp-report" object.')
    violation = _violation(
        report,
        directive_key="effective-directive"
        if report.get("effective-directive")
        else "violated-directive",
        blocked_key="blocked-uri",
        document_key="document-uri",
    )
    if violation is None:
        raise ReportError("The report names no violated directive.")
    return violation


def parse_reports(body: bytes, content_type: str) -> list[Violation]:
    """The violations in one POST body, in either browser format."""
    try:
        payload = json.loads(body)
    # ValueError also covers undecodable bytes and integers longer than Python converts.
    except (ValueError, RecursionError) as exc:
        raise ReportError("The body is not JSON.") from exc
    if content_type == REPORTING_API_TYPE or isinstance(payload, list):
        return _reporting_api_violations(payload)
    return [_report_uri_violation(payload)]


def record_violations(violations: list[Violation]) -> None:
    """One log line (with structured fields for the JSON format) and one count per violation."""
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


def csp_report_rate(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_CSP_REPORT


@csrf_exempt  # browsers send reports without a token; nothing here acts for a user
@require_POST
@ratelimit(group=CSP_REPORT_GROUP, key="ip", rate=csp_report_rate)
def receive(request: HttpRequest) -> HttpResponse:
    """204 for a report (counted and logged), a JSON 4xx for anything else."""
    if request.content_type not in ACCEPTED_TYPES:
        return api_error(f"Send {REPORT_URI_TYPE} or {REPORTING_API_TYPE}.", status=415)
    if content_length(request) > MAX_REPORT_BYTES:
        return api_error(f"A request is at most {MAX_REPORT_BYTES} bytes.", status=413)
    try:
        violations = parse_reports(request.body, request.content_type)
    except ReportError as exc:
        return api_error(str(exc), status=400)
    record_violations(violations)
    return HttpResponse(status=204)
