"""Content-Security-Policy violation reports (``/csp-report``): both browser formats are logged
and counted by a directive of our policy; anything else gets a clear 4xx, never a 500."""

import json
import logging

import pytest
from django.test import Client
from django.urls import resolve
from prometheus_client import REGISTRY

from portal import csp_reports

pytestmark = pytest.mark.django_db

URL = "/csp-report"
METRIC = "mlpaygrade_csp_violations_total"
REPORT_URI_BODY = {
    "csp-report": {
        "document-uri": "http://testserver/predictions/new/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "disposition": "enforce",
        "original-policy": "default-src 'self'",
    }
}


def _count(directive: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"directive": directive}) or 0.0


def _post(client, body, content_type=csp_reports.REPORT_URI_TYPE, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type, **extra)


def test_every_page_names_the_report_endpoint_in_its_policy(client):
    # when any page is fetched
    policy = client.get("/").headers["Content-Security-Policy"]

    # then its policy sends violations to the view that records them
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert resolve(directives["report-uri"]).func is csp_reports.receive


def test_a_report_uri_report_is_counted_by_its_policy_directive_and_logged(caplog):
    # given a browser's report, sent without a CSRF token, a session or a token
    client = Client(enforce_csrf_checks=True)
    body = json.loads(json.dumps(REPORT_URI_BODY))
    body["csp-report"]["blocked-uri"] = "https://evil.example/x.js\nFAKE\u2028LOG\u202eLINE"
    body["csp-report"]["disposition"] = "enforce\u2028ERROR forged"
    before = _count("script-src")

    # when it is posted
    with caplog.at_level(logging.WARNING, logger="portal.csp_reports"):
        response = _post(client, body)

    # then it is accepted, counted under script-src, and logged on one line without the newline
    assert response.status_code == 204
    assert _count("script-src") == before + 1
    [record] = [r for r in caplog.records if r.name == "portal.csp_reports"]
    message = record.getMessage()
    assert "script-src" in message and "/predictions/new/" in message
    assert "https://evil.example/x.jsFAKELOGLINE" in message  # no line breaks, no bidi
    assert record.csp_directive == "script-src"  # structured, for the JSON log format
    assert record.csp_blocked == "https://evil.example/x.jsFAKELOGLINE"
    assert record.csp_disposition == "other"  # only "enforce" or "report" are shown as sent


def test_a_reporting_api_batch_counts_each_csp_violation_only(client):
    # given two violations and a report of another type in one Reporting API batch
    batch = [
        {"type": "csp-violation", "body": {"effectiveDirective": "img-src", "blockedURL": "a"}},
        {"type": "csp-violation", "body": {"effectiveDirective": "style-src-attr"}},
        {"type": "deprecation", "body": {"id": "x"}},
    ]
    before = {name: _count(name) for name in ("img-src", "style-src")}

    # when it is posted
    response = _post(client, batch, content_type=csp_reports.REPORTING_API_TYPE)

    # then the two violations are counted, each under its directive
    assert response.status_code == 204
    assert _count("img-src") == before["img-src"] + 1
    assert _count("style-src") == before["style-src"] + 1


@pytest.mark.parametrize(
    ("directive", "label"),
    [
        ("script-src", "script-src"),
        ("script-src-attr", "script-src"),
        ("frame-ancestors", "frame-ancestors"),
        ("font-src", "default-src"),  # a fetch directive our policy leaves to default-src
        ("connect-src", "default-src"),
        ("SCRIPT-SRC 'self'", "script-src"),  # an old browser's whole violated directive
        ("report-uri", "other"),  # where reports go, never what was violated
        ("sandbox", "other"),
        ("x" * 5000, "other"),
        ("", "other"),
    ],
)
def test_the_label_is_always_a_directive_of_our_policy(directive, label):
    assert csp_reports.directive_label(directive) == label


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not json", csp_reports.REPORT_URI_TYPE, 400),
        (b"[" * 10_000, csp_reports.REPORT_URI_TYPE, 400),  # deep nesting within the size limit
        ({"something": "else"}, csp_reports.REPORT_URI_TYPE, 400),
        ({"csp-report": "text"}, csp_reports.REPORT_URI_TYPE, 400),
        ({"csp-report": {}}, csp_reports.REPORTING_API_TYPE, 400),
        ({"csp-report": {}}, csp_reports.REPORT_URI_TYPE, 400),  # no directive: nothing to count
        ({"csp-report": {"violated-directive": 7}}, csp_reports.REPORT_URI_TYPE, 400),
        # an integer longer than Python converts (a ValueError that is not a JSONDecodeError)
        (b'{"csp-report": {"blocked-uri": ' + b"1" * 5_000 + b"}}", "application/json", 400),
        (REPORT_URI_BODY, "text/plain", 415),
        (b'{"csp-report": {"blocked-uri": "' + b"x" * 20_000 + b'"}}', "application/json", 413),
    ],
)
def test_what_is_not_a_report_gets_a_clear_error_and_counts_nothing(
    client, body, content_type, status
):
    before = {name: _count(name) for name in ("script-src", "other")}

    response = _post(client, body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["errors"]["detail"][0]
    assert {name: _count(name) for name in before} == before


def test_one_request_counts_at_most_a_few_reports(client):
    # given a batch of more violations than one request may report
    violation = {"type": "csp-violation", "body": {"effectiveDirective": "object-src"}}
    before = _count("object-src")

    # when it is posted
    response = _post(client, [violation] * 12, content_type=csp_reports.REPORTING_API_TYPE)

    # then only the first few are logged and counted
    assert response.status_code == 204
    assert _count("object-src") == before + csp_reports.MAX_REPORTS_PER_REQUEST


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


def test_reports_are_limited_per_client_address(client, settings):
    # given a limit of two reports a minute per address
    settings.RATELIMIT_CSP_REPORT = "2/m"

    # when one address sends three, and another address one
    statuses = [_post(client, REPORT_URI_BODY).status_code for _ in range(3)]
    elsewhere = _post(client, REPORT_URI_BODY, REMOTE_ADDR="192.0.2.7").status_code

    # then the third is refused and the other address is not
    assert statuses == [204, 204, 429]
    assert elsewhere == 204
