"""One staff member takes a model through its whole life in one browser session, as a person
would: sign in to the admin, retrain (a real Celery worker; the bar fills without a reload),
read the candidate's model card beside the champion's, start a 10 % experiment, read its
dashboard, promote, roll back, and find every step in the audit log.

Every page of the journey is measured at 1,280 px and at 390 px, and a page with a chart at
360 px too (nothing scrolls sideways, chart text stays readable, the strict CSP blocked
nothing); every admin list it uses fits 1,280 px; the candidate's page stays short with its
lineage in view. Each page is screenshotted at each width into
``var/screenshots/staff-journey/`` as ``<step>-<page>-<width>.png`` — not
``test-results/``, which pytest-playwright empties when a session starts. The directory is
emptied when this test starts and kept afterwards; when the test fails, ``failed-<width>.png``
shows the page it stopped on.
"""

import re
import shutil

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from mlmodel.models import (
    Experiment,
    ExperimentStatus,
    ModelStatus,
    ModelVersion,
    SalaryRecord,
    SalarySource,
    TrainingRun,
)
from mlmodel.rollout.metrics import arm_daily_stats_refresh
from mlmodel.training_services import salary_demo_data_create
from portal.jobs.models import JobStatus
from predictions.models import Channel
from predictions.services import prediction_create
from tests.browser.test_csp import ViolationLog
from tests.browser.test_readability import (
    ADMIN_TABLE_OVERFLOW_JS,
    CHART_TEXT_SIZES_JS,
    MIN_CHART_TEXT_PX,
)
from tests.fresh_clone import REPO_ROOT
from tests.predictions.conftest import PROFILE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.usefixtures("worker", "fast_runs"),
]

RUN_ROWS = 1_500
RUN_LIMIT_MILLISECONDS = 180_000
SCREENSHOTS = REPO_ROOT / "var" / "screenshots" / "staff-journey"
DESKTOP_WIDTH, PHONE_WIDTH, SMALL_PHONE_WIDTH = 1280, 390, 360
WIDTHS = (DESKTOP_WIDTH, PHONE_WIDTH)
# Pages with a chart are also read on the smallest phone the charts are drawn for.
CHART_WIDTHS = (*WIDTHS, SMALL_PHONE_WIDTH)
WINDOW_HEIGHT = 900
# The candidate's admin page was 8,000 px of raw JSON; with its card, the champion's and its
# lineage it measures about 2,800 px at 1,280 px (raw record folded): room for a longer card.
CANDIDATE_PAGE_MAX_HEIGHT_PX = 3_500
# Users who ask for an estimate while the experiment runs (a few, so the dashboard has rows).
EXPERIMENT_USERS = 4
REASONS = {
    "experiment": "v2 passed its gates: a first look at 10 %",
    "promote": "v2 holds up on the dashboard",
    "rollback": "second thoughts about v2",
}


class Journey:
    """The browser page plus the checks every page of the journey gets."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.violations = ViolationLog(page)
        self.step = 0

    def readable(self, name: str, *, charts: bool = False) -> None:
        """Screenshot the page at each width (with ``charts``, 360 px too, and it must show chart
        text); fail if the CSP blocked anything on it, if it scrolls sideways or its chart text
        is too small to read at any width. Leaves the window at the desktop width."""
        self.step += 1
        self.violations.assert_none(name)
        for width in CHART_WIDTHS if charts else WIDTHS:
            self.page.set_viewport_size({"width": width, "height": WINDOW_HEIGHT})
            self.page.screenshot(
                path=str(SCREENSHOTS / f"{self.step:02d}-{name}-{width}.png"), full_page=True
            )
            overflow = self.page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{name} scrolls {overflow} px sideways at {width} px"
            sizes = self.page.evaluate(CHART_TEXT_SIZES_JS)
            assert sizes or not charts, f"{name}: no chart text at {width} px"
            small = [size for size in sizes if size < MIN_CHART_TEXT_PX]
            assert not small, f"{name}: chart text of {min(small):.1f} px at {width} px"
        self.page.set_viewport_size({"width": DESKTOP_WIDTH, "height": WINDOW_HEIGHT})

    def list_fits(self, name: str) -> None:
        """An admin list's table has rows and is no wider than its box at the desktop width."""
        expect(self.page.locator("#result_list tbody tr").first).to_be_visible()
        overflow = self.page.evaluate(ADMIN_TABLE_OVERFLOW_JS)
        assert overflow <= 0, f"the {name} list is {overflow} px too wide at {DESKTOP_WIDTH} px"

    def confirm(self, reason: str, button: str) -> None:
        self.page.get_by_label("Reason").fill(reason)
        self.page.get_by_role("button", name=button).click()


@pytest.fixture
def journey(page: Page, request):
    """Fresh screenshots for this run, and one of the page it stopped on when it fails."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    yield Journey(page)
    # pytest-playwright records each phase's report on the item; no report means no verdict.
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": WINDOW_HEIGHT})
            page.screenshot(path=str(SCREENSHOTS / f"failed-{width}.png"), full_page=True)


def test_a_staff_member_retrains_tries_promotes_and_rolls_back_a_model(
    live_server, journey: Journey, active_model_version, django_user_model, password
):
    page = journey.page
    assert settings.CELERY_BROKER_URL
    # given approved training rows, a champion (v1) and a staff account
    salary_demo_data_create(rows=RUN_ROWS, seed=6)
    SalaryRecord.objects.update(source=SalarySource.IMPORT)
    django_user_model.objects.create_superuser(username="root", password=password)

    # when they sign in to the admin
    page.goto(live_server.url + "/admin/login/?next=/admin/mlmodel/trainingrun/")
    journey.readable("sign-in")
    page.get_by_label("Username").fill("root")
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    expect(page.get_by_role("button", name="Retrain now")).to_be_visible()
    journey.readable("training-runs")

    # and press "Retrain now": the bar fills to 100 % on the same page
    page.get_by_role("button", name="Retrain now").click()
    bar = page.locator("#training-run-progress progress")
    expect(bar).to_be_visible()
    page.evaluate("window.notReloaded = true")
    started_at = int(bar.get_attribute("value"))
    expect(bar).to_have_attribute("value", "100", timeout=RUN_LIMIT_MILLISECONDS)
    expect(page.locator('#training-run-progress [data-role="percent"]')).to_have_text("100 %")
    assert page.evaluate("window.notReloaded") is True
    assert started_at < 100
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED, run.message
    comparison = page.locator("#training-run-comparison")
    expect(comparison.locator('[data-role="candidate"]')).to_have_text("v2")
    expect(comparison.locator('[data-role="champion"]')).to_have_text("v1")
    expect(comparison.locator("tbody tr")).to_have_count(5)
    expect(comparison.locator("tbody tr").first).to_contain_text("MAE")
    # and the record below the bar says so too, still without a reload
    expect(page.locator(".field-status .readonly")).to_have_text(re.compile("succeeded", re.I))
    expect(page.locator(".field-candidate .readonly")).to_have_text("v2")
    expect(page.locator(".field-progress_percent .readonly")).to_have_text("100")
    expect(page.locator("#content h2").first).to_have_text(f"training run #{run.pk} succeeded")
    expect(page.locator(".breadcrumbs")).to_contain_text(f"training run #{run.pk} succeeded")
    expect(page.locator('#training-run-progress [data-role="stage"]')).to_have_text("")
    assert page.evaluate("window.notReloaded") is True
    journey.readable("training-run")

    # then the candidate's card is beside the champion's (stacked on a phone)
    comparison.get_by_role(
        "link", name="Read the candidate's model card beside the champion's"
    ).click()
    cards = page.locator("#model-cards")
    this_card = cards.locator('[data-role="this-version"]')
    champion_card = cards.locator('[data-role="champion"]')
    expect(this_card.get_by_role("heading", name=re.compile(r"^Version 2"))).to_be_visible()
    expect(this_card).to_contain_text("candidate")
    expect(champion_card.get_by_role("heading", name=re.compile(r"^Version 1"))).to_be_visible()
    expect(champion_card).to_contain_text("in service: the champion")
    assert _side_by_side(this_card, champion_card)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": WINDOW_HEIGHT})
    assert not _side_by_side(this_card, champion_card)
    page.set_viewport_size({"width": DESKTOP_WIDTH, "height": WINDOW_HEIGHT})
    # and its lineage below the cards, on a page far shorter than the old 8,000 px of JSON
    lineage = page.locator("#lineage")
    expect(lineage.get_by_role("heading", name="Lineage of v2")).to_be_visible()
    expect(lineage.get_by_role("link", name=f"Training run #{run.pk}")).to_be_visible()
    expect(lineage.locator('[data-item="compared"]')).to_contain_text(
        "v1, the champion when it was trained"
    )
    expect(lineage.locator('[data-item="registered"]')).to_contain_text("by root")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= CANDIDATE_PAGE_MAX_HEIGHT_PX, f"the candidate's page is {height} px tall"
    journey.readable("candidate-card", charts=True)

    # when they start a 10 % experiment from there, giving a reason
    page.get_by_role("link", name="Start a 10 % experiment…").click()
    expect(page.get_by_role("heading", name="Start a 10 % experiment for v2")).to_be_visible()
    journey.readable("experiment-confirm")
    journey.confirm(REASONS["experiment"], "Yes, start the 10 % experiment")
    expect(page.get_by_text("Experiment “v2 vs champion (10%)” started.")).to_be_visible()
    expect(page.get_by_text("Status: Running")).to_be_visible()
    experiment = Experiment.objects.get()
    weights = dict(experiment.arms.values_list("model_version__version", "weight"))
    assert experiment.status == ExperimentStatus.RUNNING and weights == {1: 90, 2: 10}

    # then the dashboard shows the arms and the day's answers
    for index in range(EXPERIMENT_USERS):
        user = django_user_model.objects.create_user(username=f"asker{index}", password=password)
        prediction_create(user=user, profile=PROFILE, channel=Channel.WEB)
    arm_daily_stats_refresh()
    page.reload()
    expect(page.get_by_role("heading", name="Arms")).to_be_visible()
    expect(page.locator(".rollout-chart svg")).to_be_visible()
    journey.readable("dashboard", charts=True)

    # when they promote v2
    page.get_by_role("link", name="Promote a challenger").click()
    journey.readable("promote-confirm")
    page.get_by_label("Promote version").select_option("2")
    journey.confirm(REASONS["promote"], "Yes, promote a challenger")
    expect(page.get_by_text("Status: Promoted")).to_be_visible()
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE

    # and roll back to v1 from the model versions
    page.goto(live_server.url + "/admin/mlmodel/modelversion/")
    journey.readable("model-versions")
    journey.list_fits("model versions")
    page.get_by_role("link", name="Roll back to v1…").click()
    journey.readable("rollback-confirm")
    journey.confirm(REASONS["rollback"], "Yes, roll back")
    expect(page.get_by_text("Rolled back: v1 is the champion again.")).to_be_visible()
    assert ModelVersion.objects.get(version=1).status == ModelStatus.ACTIVE

    # then the audit log shows each step, by them, with the reason they typed
    page.goto(live_server.url + "/admin/mlmodel/modelevent/")
    journey.readable("audit-log")
    journey.list_fits("audit log")
    steps = [
        (2, "Registered", ""),  # the retraining run registers its candidate in their name
        (2, "Experiment created", REASONS["experiment"]),
        (2, "Experiment started", REASONS["experiment"]),
        (2, "Promoted to champion", REASONS["promote"]),
        (1, "Rolled back to", REASONS["rollback"]),
    ]
    for version, action, reason in steps:
        expect(
            _audit_rows(page, version=version, action=action, reason=reason).first
        ).to_be_visible()

    # and the other lists they used fit the desktop too, now that they have rows
    for name, path in (
        ("training runs", "/admin/mlmodel/trainingrun/"),
        ("experiments", "/admin/mlmodel/experiment/"),
    ):
        page.goto(live_server.url + path)
        journey.readable(name.replace(" ", "-"))
        journey.list_fits(name)


def _audit_rows(page: Page, *, version: int, action: str, reason: str):
    """The audit log's rows of one version and action by ``root`` (with that reason, if any)."""
    rows = page.locator("#result_list tbody tr")
    cells = {
        "version": re.compile(rf"^v{version}$"),
        "action": re.compile(rf"^{re.escape(action)}$"),
        "actor": re.compile(r"^root$"),
        **({"short_reason": re.compile(rf"^{re.escape(reason)}$")} if reason else {}),
    }
    for column, text in cells.items():
        rows = rows.filter(has=page.locator(f"td.field-{column}", has_text=text))
    return rows


def _side_by_side(first, second) -> bool:
    """Two boxes share a row when the second starts above the first one's bottom."""
    one, two = first.bounding_box(), second.bounding_box()
    return two["y"] < one["y"] + one["height"] and two["x"] > one["x"]
