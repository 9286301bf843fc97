"""A newcomer's small things, in a real browser: an unrecognised title is said so, the batch
template downloads and uploads back, the history filters by channel and says where batch
estimates are, the API docs lead back to the site, and logging out says so."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)

SWAGGER_RENDER_TIMEOUT_MS = 30_000


@pytest.fixture
def signed_in(live_server, page: Page, user, password) -> Page:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    expect(page.get_by_role("button", name=re.compile("log out", re.I))).to_be_visible()
    return page


def test_an_unrecognised_title_is_said_so_on_the_result(
    live_server, signed_in: Page, active_model_version
):
    page = signed_in
    # when a nonsense title is estimated
    page.goto(live_server.url + "/predictions/new/")
    page.get_by_label(re.compile("job title", re.I)).fill("Banana Sommelier")
    page.get_by_role("button", name="Estimate salary").click()

    # then the page says plainly that the title was not recognised, and what it was taken as
    notice = page.get_by_role("note").filter(has_text="We did not recognise the title")
    expect(notice).to_contain_text("Banana Sommelier")
    expect(notice).to_contain_text("we treated it as any job title (overall average)")


def test_the_batch_template_round_trip_and_where_batch_estimates_are(
    live_server, signed_in: Page, active_model_version
):
    page = signed_in
    # given the batch page
    page.goto(live_server.url + "/predictions/batch/")

    # when the template is downloaded and uploaded again as it is
    with page.expect_download() as download:
        page.get_by_role("link", name="Download a template CSV").click()
    page.get_by_label("CSV file").set_input_files(download.value.path())
    page.get_by_role("button", name="Upload and estimate").click()

    # then both rows are estimated
    expect(page.get_by_text("2 estimated, 0 with errors")).to_be_visible()

    # and the history says where those estimates are, and filters by channel
    page.goto(live_server.url + "/predictions/")
    expect(page.get_by_role("link", name="batch page")).to_be_visible()
    page.get_by_label("Made on").select_option("api")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"channel=api"))


def test_api_docs_and_logging_out(live_server, signed_in: Page):
    page = signed_in
    # the API docs stay in the menu when signed in, and lead back to the site
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs").click()
    # (Swagger UI builds the page from the schema: slow on a busy machine)
    expect(page.locator("#swagger-ui .info")).to_be_visible(timeout=SWAGGER_RENDER_TIMEOUT_MS)
    page.get_by_role("link", name="← Back to the site").click()
    expect(page).to_have_url(live_server.url + "/")

    # logging out says so
    page.get_by_role("button", name=re.compile("log out", re.I)).click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
