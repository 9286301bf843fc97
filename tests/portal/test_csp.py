"""Content-Security-Policy: every HTML page carries a strict policy, and nothing inline on a page
needs more than the policy allows (inline script/style only with the response's nonce)."""

import re
from pathlib import Path

import drf_spectacular
import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.decorators import csp_exempt, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from django.urls import reverse

from portal.errors import server_error
from portal.middleware import CSPMiddleware as CachedPolicyCSPMiddleware
from tests.predictions.conftest import PROFILE_DATA

REQUIRED = {
    "default-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
ANONYMOUS_PAGES = [
    "/",
    "/about/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/api/docs/",
    "/admin/login/",
    "/no-such-page/",
]
SIGNED_IN_PAGES = [
    "/predictions/new/",
    "/predictions/",
    "/predictions/batch/",
    "/feedback/",
    "/accounts/",
    "/accounts/password/change/",
]
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>", re.I)
INLINE_STYLE = re.compile(r"<style\b([^>]*)>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def parse_policy(header: str) -> dict[str, set[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_strict_policy_and_compliant_html(response) -> None:
    url = response.wsgi_request.get_full_path()
    assert response["Content-Type"].startswith("text/html"), url
    header = response.get("Content-Security-Policy")
    assert header, f"{url} has no Content-Security-Policy header"
    policy = parse_policy(header)
    for name, sources in REQUIRED.items():
        assert policy.get(name) == sources, (url, name, policy.get(name))
    for name in ("script-src", "style-src", "default-src"):
        sources = policy.get(name, policy["default-src"])
        assert "'unsafe-inline'" not in sources, (url, name)
        assert "'unsafe-eval'" not in sources, (url, name)
        assert "'unsafe-hashes'" not in sources, (url, name)
    assert "script-src-attr" not in policy and "style-src-attr" not in policy, url

    html = response.content.decode()
    nonces = {s[len("'nonce-") : -1] for s in policy.get("script-src", set()) if "nonce-" in s}
    for pattern, kind in ((INLINE_SCRIPT, "script"), (INLINE_STYLE, "style")):
        for match in pattern.finditer(html):
            nonce = re.search(r'\snonce="([^"]+)"', match.group(1))
            assert nonce and nonce.group(1) in nonces, f"{url}: inline <{kind}> without the nonce"
    assert not STYLE_ATTRIBUTE.search(html), f"{url}: style= attribute"
    assert not HANDLER_ATTRIBUTE.search(html), f"{url}: on*= event handler attribute"
    assert not JAVASCRIPT_URL.search(html), f"{url}: javascript: URL"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_anonymous_pages_carry_the_strict_policy(client, path):
    assert_strict_policy_and_compliant_html(client.get(path))


@pytest.mark.django_db
def test_signed_in_pages_and_a_result_carry_the_strict_policy(auth_client, active_model_version):
    for path in SIGNED_IN_PAGES:
        assert_strict_policy_and_compliant_html(auth_client.get(path))
    result = auth_client.post(reverse("predictions:create"), PROFILE_DATA, follow=True)
    assert result.redirect_chain, "the form did not redirect to a result"
    assert "<svg" in result.content.decode()
    assert_strict_policy_and_compliant_html(result)


@pytest.mark.django_db
def test_admin_pages_carry_the_strict_policy(auth_client, user, active_model_version):
    user.is_staff = True
    user.is_superuser = True
    user.save()
    auth_client.post(reverse("predictions:create"), PROFILE_DATA)
    assert_strict_policy_and_compliant_html(auth_client.get(reverse("admin:index")))
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert_strict_policy_and_compliant_html(auth_client.get(changelist))
    prediction = apps.get_model("predictions", "Prediction").objects.get()
    assert_strict_policy_and_compliant_html(
        auth_client.get(reverse("admin:predictions_prediction_change", args=[prediction.pk]))
    )


@pytest.mark.django_db
def test_swagger_ui_script_and_style_carry_the_nonce(client):
    response = client.get("/api/docs/")
    html = response.content.decode()
    policy = parse_policy(response["Content-Security-Policy"])
    (nonce,) = (s for s in policy["script-src"] if s.startswith("'nonce-"))
    assert nonce in policy["style-src"]
    value = nonce[len("'nonce-") : -1]
    assert html.count(f'nonce="{value}"') == 2
    assert "SwaggerUIBundle(" in html


def test_the_500_page_style_carries_the_nonce():
    # given the 500 page rendered behind the CSP middleware (no database, as in test_pages)
    request = RequestFactory().get("/")
    response = CSPMiddleware(server_error)(request)

    # then its only inline style is allowed by the header's nonce
    assert response.status_code == 500
    policy = parse_policy(response["Content-Security-Policy"])
    (nonce,) = (s for s in policy["style-src"] if s.startswith("'nonce-"))
    assert f'<style nonce="{nonce[len("nonce-") + 1 : -1]}">' in response.content.decode()
    assert "'unsafe-inline'" not in policy["style-src"]


@pytest.mark.django_db
def test_json_api_responses_also_carry_the_policy(client):
    response = client.get("/api/schema/")
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_the_swagger_ui_override_is_the_packaged_template_plus_nonces():
    # templates/drf_spectacular/swagger_ui.html must differ from drf-spectacular's own only by
    # the two nonce attributes: a drf-spectacular upgrade that changes its template fails here.
    packaged = (
        Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
    ).read_text()
    ours = (settings.BASE_DIR / "templates/drf_spectacular/swagger_ui.html").read_text()
    ours = re.sub(r"\A\{% comment %\}.*?\{% endcomment %\}", "", ours, flags=re.S)
    nonce = ' nonce="{{ request.csp_nonce }}"'
    assert ours.count(nonce) == 2
    assert ours.replace(nonce, "") == packaged


def _plain_json(request):
    return JsonResponse({"ok": True})


def _page_with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


def _not_found(request):
    return HttpResponse("gone", status=404)


VIEWS = {
    "plain JSON": _plain_json,
    "a nonce taken": _page_with_nonce,
    "@csp_update": csp_update({"img-src": "https://example.org"})(_plain_json),
    "@csp_exempt": csp_exempt()(_plain_json),
    "a 404": _not_found,
}
POLICIES = {
    "enforced only": {},
    "with a report-only policy and an excluded prefix": {
        "CONTENT_SECURITY_POLICY_REPORT_ONLY": {
            "EXCLUDE_URL_PREFIXES": ["/excluded"],
            "DIRECTIVES": {"default-src": ["'none'"], "report-uri": "/csp-report/"},
        }
    },
}


# Plain responses before, between and after ones that change the policy or take a nonce: a
# cached policy must never carry a nonce or a decorator's change over to the next response.
SEQUENCE = [
    "plain JSON",
    "a nonce taken",
    "plain JSON",
    "@csp_update",
    "plain JSON",
    "@csp_exempt",
    "a 404",
    "plain JSON",
]


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
@pytest.mark.parametrize("path", ["/api/v1/x/", "/excluded/x/"])
def test_the_cached_policy_headers_are_the_librarys(path, debug, policy, settings):
    # given one instance of django-csp's middleware and one of ours, under the same settings
    settings.DEBUG = debug
    for name, value in policy.items():
        setattr(settings, name, value)

    def dispatch(request):
        return VIEWS[request.view_name](request)

    library, ours = CSPMiddleware(dispatch), CachedPolicyCSPMiddleware(dispatch)

    # when each answers the same sequence of requests
    def headers(middleware, view_name):
        request = RequestFactory().get(path)
        request.view_name = view_name
        response = middleware(request)
        nonce = re.compile(r"'nonce-[^']+'")  # a fresh one per request
        return [
            nonce.sub("'nonce'", h) if h else h
            for h in (response.get(HEADER), response.get(HEADER_REPORT_ONLY))
        ]

    # then every response's headers are the library's, nonce aside
    for view_name in SEQUENCE:
        assert headers(ours, view_name) == headers(library, view_name), view_name


def test_a_policy_setting_changed_at_run_time_is_used(settings):
    middleware = CachedPolicyCSPMiddleware(_plain_json)
    before = middleware(RequestFactory().get("/"))[HEADER]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert middleware(RequestFactory().get("/"))[HEADER] == "default-src 'none'" != before


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    request = RequestFactory().get("/")
    CachedPolicyCSPMiddleware(_plain_json)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
