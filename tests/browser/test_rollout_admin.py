"""A staff member rolls a model out in a real browser: creates, starts and reweights an
experiment in the admin, reads the dashboard, promotes the challenger and rolls back."""

import re

import pytest
from playwright.sync_api import Page, expect

from mlmodel.models import Experiment, ExperimentStatus, ModelStatus, ModelVersion
from mlmodel.rollout.metrics import arm_daily_stats_refresh
from predictions.models import Channel
from predictions.services import prediction_create
from tests.predictions.conftest import PROFILE

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = (1280, 390)


@pytest.fixture
def three_versions(trained_demo_artifact):
    from mlmodel import loading
    from mlmodel.services import model_version_register

    artifact, metadata = trained_demo_artifact
    loading.reset_registry()
    yield [
        model_version_register(artifact=artifact, metadata=metadata, activate=(n == 0))
        for n in range(3)
    ]
    loading.reset_registry()


def _sign_in(page: Page, live_server, password: str) -> None:
    page.goto(live_server.url + "/admin/login/?next=/admin/mlmodel/experiment/")
    page.get_by_label("Username").fill("root")
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()


def _confirm(page: Page, reason: str, button: str) -> None:
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name=button).click()


def _fits(page: Page) -> bool:
    """Nothing wider than the window: tables scroll inside their own box."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_staff_create_start_reweight_read_promote_and_roll_back(
    live_server, page: Page, three_versions, django_user_model, password, tmp_path
):
    # given staff signed in to the admin
    root = django_user_model.objects.create_superuser(username="root", password=password)
    _sign_in(page, live_server, password)

    # when they draft an experiment: v2 as a 20 % challenger, v3 as a shadow
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Name").fill("v2 ramp")
    page.get_by_label("Add version #1").select_option("2")
    page.locator("#id_new_weight_1").fill("20")
    page.get_by_label("Add version #2").select_option("3")
    page.locator("#id_new_weight_2").fill("0")
    page.locator("#id_new_role_2").select_option("shadow")
    _confirm(page, "nightly candidate", "Create draft")
    expect(page.get_by_text("Draft experiment “v2 ramp” created.")).to_be_visible()

    # and start it
    page.get_by_role("link", name="Start").click()
    _confirm(page, "go", "Yes, start")
    expect(page.get_by_text("Status: Running")).to_be_visible()
    experiment = Experiment.objects.get()
    assert experiment.status == ExperimentStatus.RUNNING

    # and reweight it to 50 %
    page.get_by_role("link", name="Reweight").click()
    page.get_by_label(re.compile(r"v1 \(champion\) weight")).fill("50")
    page.get_by_label(re.compile(r"v2 \(challenger\) weight")).fill("50")
    _confirm(page, "looks fine", "Yes, reweight")
    assert experiment.arms.get(model_version__version=2).weight == 50

    # then the dashboard shows the arms and the day's answers, at both widths
    prediction_create(user=root, profile=PROFILE, channel=Channel.WEB)
    arm_daily_stats_refresh()
    page.reload()
    expect(page.get_by_role("heading", name="Arms")).to_be_visible()
    expect(page.locator(".rollout-chart svg")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)
        assert _fits(page), f"the dashboard overflows at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})

    # when they promote v2
    page.get_by_role("link", name="Promote a challenger").click()
    page.get_by_label("Promote version").select_option("2")
    _confirm(page, "wins on feedback", "Yes, promote a challenger")
    expect(page.get_by_text("Status: Promoted")).to_be_visible()
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE

    # and roll back
    page.goto(live_server.url + "/admin/mlmodel/modelversion/")
    page.get_by_role("link", name=re.compile("Roll back to v1")).click()
    _confirm(page, "second thoughts", "Yes, roll back")
    expect(page.get_by_text("Rolled back: v1 is the champion again.")).to_be_visible()
    assert ModelVersion.objects.get(version=1).status == ModelStatus.ACTIVE

    # and find every step in the audit log
    page.goto(live_server.url + "/admin/mlmodel/modelevent/")
    for reason in ("nightly candidate", "go", "looks fine", "wins on feedback", "second thoughts"):
        expect(page.get_by_text(reason, exact=True).first).to_be_visible()
