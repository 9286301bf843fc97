"""A newcomer's first minutes, in a real browser: sign up, land signed in, create an API token."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_then_create_an_api_token(live_server, page: Page):
    # given a visitor on the home page
    page.goto(live_server.url + "/")
    expect(page.get_by_role("link", name="Sign up", exact=True)).to_be_visible()

    # when they sign up
    page.get_by_role("link", name="Sign up", exact=True).click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()

    # then they are signed in and can open their account page
    expect(page.get_by_role("button", name=re.compile("log out", re.I))).to_be_visible()
    page.goto(live_server.url + "/accounts/")

    # when they create an API token
    page.get_by_label(re.compile("name", re.I)).fill("laptop")
    page.get_by_role("button", name=re.compile("create", re.I)).click()

    # then the secret is shown once, and the token is listed by its name afterwards
    expect(page.get_by_text(re.compile(r"mlp_[A-Za-z0-9_-]{20,}"))).to_be_visible()
    page.goto(live_server.url + "/accounts/")
    expect(page.get_by_text(re.compile(r"mlp_[A-Za-z0-9_-]{20,}"))).to_have_count(0)
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_be_visible()


def test_sign_up_form_shows_errors_next_to_the_fields(live_server, page: Page):
    # given the sign-up page
    page.goto(live_server.url + "/accounts/signup/")

    # when the passwords differ
    page.get_by_label("Username").fill("typo")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password again").fill("another-long-passphrase")
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()

    # then the error is shown and what was typed is kept
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("typo")
