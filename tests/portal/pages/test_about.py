"""The about page: the serving model's card, not a dump of every stored number."""

import pytest
from django.urls import reverse

from tests.portal.pages.model_card_data import TRAINING_DATA, backtest_metrics

pytestmark = pytest.mark.django_db


def test_the_about_page_shows_the_model_card(client, model_version_row):
    # given a serving version with a backtest
    model_version_row(version=7, metrics=backtest_metrics(), training_data=TRAINING_DATA)

    # when
    html = client.get(reverse("pages:about")).content.decode()

    # then: what it is, how good in one sentence, a chart, what it knows and does not
    assert "Version 7" in html
    assert "How good:" in html
    assert "On 4,000 salaries from 2024 that it did not train on" in html
    assert html.count("<svg") == 2  # the chart, in its narrow and wide layouts
    for heading in ("What it knows", "What it does not know", "Limitations"):
        assert f"<h4>{heading}</h4>" in html
    assert "10,093 distinct reported salaries from 2020–2024" in html
    # the full figures are tables behind a disclosure, not raw key paths
    details = html.split('<details class="model-card-details">', 1)[1].split("</details>", 1)[0]
    assert details.count("<table") >= 3
    assert "Seed protocol: Models:" not in html
    assert "Production protocol" not in html


def test_the_card_is_short_when_the_version_stored_little(client, model_version_row):
    # given a version stored without an evaluation (no metrics at all)
    model_version_row(version=2, is_demo=True)

    # when
    html = client.get(reverse("pages:about")).content.decode()

    # then it says so instead of showing an empty table or chart
    assert "stored without an evaluation" in html
    assert "<svg" not in html
    assert "Demo model: trained on synthetic data" in html


def test_without_a_model_the_page_says_so(client):
    html = client.get(reverse("pages:about")).content.decode()
    assert "No model yet" in html
