"""A signed-in user estimates a salary in a real browser, reads the result and gives feedback."""

import re

import pytest
from playwright.sync_api import Page, expect

from predictions.models import Prediction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in_page(live_server, page: Page, user, password) -> Page:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    expect(page.get_by_role("button", name=re.compile("log out", re.I))).to_be_visible()
    return page


def test_predict_read_the_interval_and_send_feedback(
    live_server, signed_in_page: Page, active_model_version
):
    page = signed_in_page
    # given the predict form
    page.goto(live_server.url + "/predictions/new/")

    # when the user describes a senior data scientist in Germany and submits
    page.get_by_label(re.compile("job title", re.I)).fill("Data Scientist")
    page.get_by_label(re.compile("experience", re.I)).select_option("SE")
    page.get_by_label(re.compile("company location", re.I)).select_option("DE")
    page.get_by_label(re.compile("where you live", re.I)).select_option("DE")
    page.get_by_role("button", name="Estimate salary").click()

    # then the result shows the estimate, the interval in words, a chart and the model version
    expect(page.get_by_role("heading", level=1)).to_contain_text("$")
    expect(page.get_by_text(re.compile(r"90\s?%"))).not_to_have_count(0)
    expect(page.locator("svg")).not_to_have_count(0)
    expect(page.get_by_text(f"v{active_model_version.version}", exact=False)).not_to_have_count(0)
    prediction = Prediction.objects.get()
    assert prediction.inputs["company_location"] == "DE"

    # when the user says the estimate was too low and gives their salary
    page.get_by_label("Too low").check()
    page.get_by_label(re.compile("actual yearly salary", re.I)).fill("150000")
    page.get_by_role("button", name="Send feedback").click()

    # then the feedback is stored and shown as editable
    expect(page.get_by_role("button", name="Update feedback")).to_be_visible()
    prediction.refresh_from_db()
    assert prediction.feedback.actual_salary_usd == 150_000
    assert prediction.feedback.rating == "too_low"


def test_predict_form_keeps_input_and_shows_errors(live_server, signed_in_page: Page):
    page = signed_in_page
    # given the predict form
    page.goto(live_server.url + "/predictions/new/")

    # when the year is out of range
    page.get_by_label(re.compile("job title", re.I)).fill("Prompt Whisperer")
    page.get_by_label(re.compile("work year", re.I)).fill("1900")
    page.get_by_role("button", name="Estimate salary").click()

    # then the error sits next to the field and the typed title is kept
    expect(page.locator(".errorlist")).not_to_have_count(0)
    expect(page.get_by_label(re.compile("job title", re.I))).to_have_value("Prompt Whisperer")
    assert Prediction.objects.count() == 0
