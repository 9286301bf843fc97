"""The server-rendered SVG chart (pure)."""

import re

from predictions.charts import Histogram, interval_chart_svg, nice_step


def _x_of(svg: str, css_class: str) -> list[float]:
    return [float(x) for x in re.findall(rf'class="{css_class}" x="([\d.]+)"', svg)]


def test_nice_step_picks_round_numbers():
    assert nice_step(600_000) == 100_000
    assert nice_step(140_000) == 25_000
    assert nice_step(0) == 1.0


def test_chart_draws_bars_band_and_estimate_in_order():
    # given a market of three bins and an interval inside it
    histogram = Histogram(
        bin_edges=[50_000, 100_000, 150_000, 200_000],
        counts=[5, 20, 3],
        description="Senior · Data Science",
    )

    # when
    svg = interval_chart_svg(
        estimate_usd=120_000,
        interval_low_usd=90_000,
        interval_high_usd=170_000,
        interval_level=0.9,
        histogram=histogram,
    )

    # then
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="bar') == 3
    (band_x,) = _x_of(svg, "band")
    estimate_x = float(re.search(r'class="estimate" x1="([\d.]+)"', svg).group(1))
    assert band_x < estimate_x
    assert "90% interval" in svg
    assert "Senior · Data Science (28 salaries)" in svg
    assert "Estimate $120K" in svg


def test_chart_without_market_data_says_so_and_escapes_text():
    # when
    svg = interval_chart_svg(
        estimate_usd=80_000,
        interval_low_usd=60_000,
        interval_high_usd=100_000,
        interval_level=0.9,
        histogram=None,
    )
    escaped = interval_chart_svg(
        estimate_usd=80_000,
        interval_low_usd=60_000,
        interval_high_usd=100_000,
        interval_level=0.9,
        histogram=Histogram(bin_edges=[0, 100_000], counts=[40], description="<script>x"),
    )

    # then
    assert "No market data for similar jobs yet." in svg
    assert "<script>" not in escaped
    assert "&lt;script&gt;x" in escaped
