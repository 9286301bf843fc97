"""The predictions admin: short, formatted columns (the lists fit 1,280 px; the browser test
measures that) and latency as people read it."""

import re

import pytest
from django.urls import reverse

from predictions.admin import latency_text

pytestmark = pytest.mark.django_db


def test_latency_reads_as_milliseconds_with_one_decimal():
    assert latency_text(4.706876000000193) == "4.7 ms"
    assert latency_text(1234.56) == "1,234.6 ms"
    assert latency_text(None) == "—"


def test_the_list_and_the_detail_show_formatted_figures(admin_client, user, make_prediction):
    # given
    prediction = make_prediction(user)
    prediction.latency_ms = 4.706876000000193
    prediction.save(update_fields=["latency_ms"])

    # when
    listing = admin_client.get(reverse("admin:predictions_prediction_changelist"))
    detail = admin_client.get(reverse("admin:predictions_prediction_change", args=[prediction.pk]))

    # then
    for page in (listing, detail):
        html = page.content.decode()
        assert page.status_code == 200
        assert "4.7 ms" in html
        assert "4.706876" not in html
    assert re.search(rf"\${prediction.estimate_usd:,} \(\$\d+K–\$\d+K\)", listing.content.decode())
