"""The strict Content-Security-Policy breaks nothing: the site's pages, the admin and Swagger UI
render in a real browser with no CSP violation reported."""

import re

import pytest
from playwright.sync_api import Page, expect
from prometheus_client import REGISTRY

from tests.concurrency import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before any page script: records every violation the browser reports for the document.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


class ViolationLog:
    def __init__(self, page: Page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(f"{self.page.url}: {message.text}")

    def assert_none(self, where: str) -> None:
        # Let late work (Swagger UI renders after fetching the schema) report before checking.
        self.page.wait_for_load_state("networkidle")
        in_page = self.page.evaluate("window.__cspViolations || null")
        assert in_page is not None, f"{where}: the violation recorder did not run"
        assert in_page == [], f"{where}: {in_page}"
        assert self.console == [], self.console


@pytest.fixture
def violations(page: Page) -> ViolationLog:
    return ViolationLog(page)


def test_site_admin_and_api_docs_render_with_no_csp_violation(
    live_server, page: Page, violations: ViolationLog, user, password, active_model_version
):
    user.is_staff = True
    user.is_superuser = True
    user.save()

    # the home page, anonymously; the header is the strict one
    response = page.goto(live_server.url + "/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    violations.assert_none("home")

    # Swagger UI: its inline bootstrap script ran (operations are listed) and its styles applied
    page.goto(live_server.url + "/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("MLPayGrade")
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    page.locator(".swagger-ui .opblock-summary").first.click()
    expect(page.locator(".swagger-ui .opblock-body").first).to_be_visible()
    violations.assert_none("/api/docs/")

    # the admin login, then the admin as staff
    page.goto(live_server.url + "/admin/login/")
    violations.assert_none("admin login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    expect(page.locator("#site-name")).to_be_visible()
    violations.assert_none("admin index")

    # the predict form and a result (with its SVG chart)
    page.goto(live_server.url + "/predictions/new/")
    violations.assert_none("predict form")
    page.get_by_label(re.compile("job title", re.I)).fill("Data Scientist")
    page.get_by_label(re.compile("experience", re.I)).select_option("SE")
    page.get_by_label(re.compile("company location", re.I)).select_option("DE")
    page.get_by_label(re.compile("where you live", re.I)).select_option("DE")
    page.get_by_role("button", name="Estimate salary").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("$")
    expect(page.locator("svg").first).to_be_visible()
    violations.assert_none("result")

    # the admin changelist (with the prediction just made) and its change form
    page.goto(live_server.url + "/admin/predictions/prediction/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    violations.assert_none("admin changelist")
    page.locator("#result_list tbody tr a").first.click()
    expect(page.locator("#content-main form")).to_be_visible()
    violations.assert_none("admin change form")


REPORT_ARRIVAL_SECONDS = 10


def _reported_script_violations() -> float:
    labels = {"directive": "script-src"}
    return REGISTRY.get_sample_value("mlpaygrade_csp_violations_total", labels) or 0.0


def test_an_inline_script_without_the_nonce_is_reported(
    live_server, page: Page, violations: ViolationLog
):
    # guards the guard: the recorder does see a violation when there is one, and the browser
    # reports it to the site (the policy's report-uri), which counts it
    reported_before = _reported_script_violations()
    page.goto(live_server.url + "/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__ran = true"; document.body.append(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === undefined")
    assert page.evaluate("window.__cspViolations.length") >= 1
    assert wait_until(
        lambda: _reported_script_violations() > reported_before, seconds=REPORT_ARRIVAL_SECONDS
    )
