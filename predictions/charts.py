"""Server-rendered inline SVG: the estimate and its interval against the market.

No JavaScript library and no image files: the picture is a string built here and inlined in
the page, so it prints, works without scripts and needs no CDN. Every piece of text that came
from data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from predictions.display import usd, usd_short

WIDTH = 720
HEIGHT = 250
MARGIN_LEFT = 24
MARGIN_RIGHT = 24
PLOT_TOP = 44
PLOT_BOTTOM = 180
AXIS_LABEL_Y = 198
LEGEND_Y = 232
TARGET_TICKS = 6
NICE_STEPS = (1, 2, 2.5, 5, 10)
DOMAIN_PADDING = 0.04
BAR_GAP = 1.0
LABEL_CHAR_WIDTH = 7.2

COLOR_BAR = "#cbd5e1"
COLOR_BAR_INSIDE = "#93b4e8"
COLOR_BAND = "#2563eb"
BAND_OPACITY = 0.10
COLOR_ESTIMATE = "#1e3a8a"
COLOR_TEXT = "currentColor"
COLOR_AXIS = "#94a3b8"


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of salaries per bin; ``bin_edges`` has one more entry than ``counts``."""

    bin_edges: Sequence[int]
    counts: Sequence[int]
    description: str

    @property
    def sample_size(self) -> int:
        return sum(self.counts)


def nice_step(span: float, target: int = TARGET_TICKS) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) that cuts ``span`` into about ``target`` parts."""
    if span <= 0:
        return 1.0
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in NICE_STEPS:
        if raw <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


class _Scale:
    def __init__(self, low: float, high: float):
        self.low = low
        self.high = high if high > low else low + 1

    def x(self, value: float) -> float:
        plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        return MARGIN_LEFT + (value - self.low) / (self.high - self.low) * plot_width


def _domain(estimate: int, low: int, high: int, histogram: Histogram | None) -> tuple[int, int]:
    lowest = min(low, estimate)
    highest = max(high, estimate)
    if histogram is not None and histogram.sample_size:
        lowest = min(lowest, histogram.bin_edges[0])
        highest = max(highest, histogram.bin_edges[-1])
    padding = (highest - lowest) * DOMAIN_PADDING
    step = nice_step(highest - lowest)
    start = max(0, math.floor((lowest - padding) / step) * step)
    end = math.ceil((highest + padding) / step) * step
    return int(start), int(end)


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "middle",
    fill: str = COLOR_TEXT,
    extra: str = "",
) -> str:
    # Colours are presentation attributes, never style="...": the site's CSP has no
    # 'unsafe-inline' for styles, which would block inline style attributes.
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" '
        f'fill="{fill}" font-size="12"{extra}>{escape(content)}</text>'
    )


def _clamped_label_x(x: float, content: str) -> float:
    """Keep a centred label inside the picture when its anchor is near an edge."""
    half = len(content) * LABEL_CHAR_WIDTH / 2
    return min(max(x, half + 2), WIDTH - half - 2)


def _start_label_x(x: float, content: str) -> float:
    """Left-aligned label starting at ``x``, moved left if it would run off the picture."""
    width = len(content) * LABEL_CHAR_WIDTH
    return max(2.0, min(x + 4, WIDTH - width - 2))


def _histogram_bars(histogram: Histogram, scale: _Scale, low: int, high: int) -> list[str]:
    peak = max(histogram.counts) if histogram.counts else 0
    if not peak:
        return []
    bars = []
    plot_height = PLOT_BOTTOM - PLOT_TOP
    for index, count in enumerate(histogram.counts):
        if not count:
            continue
        left, right = histogram.bin_edges[index], histogram.bin_edges[index + 1]
        x0, x1 = scale.x(left), scale.x(right)
        height = plot_height * count / peak
        middle = (left + right) / 2
        inside = low <= middle <= high
        color, css_class = (COLOR_BAR_INSIDE, "bar bar-in") if inside else (COLOR_BAR, "bar")
        bars.append(
            f'<rect class="{css_class}" x="{_fmt(x0)}" y="{_fmt(PLOT_BOTTOM - height)}" '
            f'width="{_fmt(max(x1 - x0 - BAR_GAP, 1))}" height="{_fmt(height)}" fill="{color}">'
            f"<title>{escape(usd_short(left))}–{escape(usd_short(right))}: "
            f"{count:,} salaries</title></rect>"
        )
    return bars


def _axis(scale: _Scale) -> list[str]:
    parts = [
        f'<line x1="{MARGIN_LEFT}" y1="{PLOT_BOTTOM}" x2="{WIDTH - MARGIN_RIGHT}" '
        f'y2="{PLOT_BOTTOM}" stroke="{COLOR_AXIS}" stroke-width="1"/>'
    ]
    step = nice_step(scale.high - scale.low)
    tick = math.ceil(scale.low / step) * step
    while tick <= scale.high:
        x = scale.x(tick)
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{PLOT_BOTTOM}" x2="{_fmt(x)}" y2="{PLOT_BOTTOM + 5}" '
            f'stroke="{COLOR_AXIS}" stroke-width="1"/>'
        )
        parts.append(_text(x, AXIS_LABEL_Y, usd_short(tick)))
        tick += step
    return parts


def _legend(histogram: Histogram | None, level_percent: int) -> list[str]:
    entries = []
    if histogram is not None and histogram.sample_size:
        entries.append(
            (COLOR_BAR, 1.0, f"{histogram.description} ({histogram.sample_size:,} salaries)")
        )
    entries.append((COLOR_BAND, 0.35, f"{level_percent}% interval"))
    entries.append((COLOR_ESTIMATE, 1.0, "Estimate"))
    parts = []
    x = float(MARGIN_LEFT)
    for color, opacity, label in entries:
        parts.append(
            f'<rect x="{_fmt(x)}" y="{LEGEND_Y - 10}" width="12" height="12" fill="{color}" '
            f'fill-opacity="{opacity}"/>'
        )
        parts.append(_text(x + 18, LEGEND_Y, label, anchor="start"))
        x += 18 + len(label) * LABEL_CHAR_WIDTH + 20
    return parts


def interval_chart_svg(
    *,
    estimate_usd: int,
    interval_low_usd: int,
    interval_high_usd: int,
    interval_level: float,
    histogram: Histogram | None,
) -> SafeString:
    """The estimate (a line), its interval (a band) and the market histogram (bars)."""
    level_percent = round(interval_level * 100)
    scale = _Scale(*_domain(estimate_usd, interval_low_usd, interval_high_usd, histogram))
    band_x0, band_x1 = scale.x(interval_low_usd), scale.x(interval_high_usd)
    estimate_x = scale.x(estimate_usd)
    summary = (
        f"Estimate {usd(estimate_usd)}; {level_percent}% interval {usd(interval_low_usd)} "
        f"to {usd(interval_high_usd)}"
    )
    if histogram is not None and histogram.sample_size:
        summary += f", shown against {histogram.sample_size:,} salaries of similar jobs."
    estimate_label = f"Estimate {usd_short(estimate_usd)}"
    band_label = f"{level_percent}%: {usd_short(interval_low_usd)} – {usd_short(interval_high_usd)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="chart-title chart-desc" '
        f'class="interval-chart" font-family="system-ui, sans-serif">',
        '<title id="chart-title">Salary estimate and interval</title>',
        f'<desc id="chart-desc">{escape(summary)}</desc>',
        f'<rect class="band" x="{_fmt(band_x0)}" y="{PLOT_TOP - 12}" '
        f'width="{_fmt(max(band_x1 - band_x0, 1))}" '
        f'height="{PLOT_BOTTOM - PLOT_TOP + 12}" fill="{COLOR_BAND}" '
        f'fill-opacity="{BAND_OPACITY}"/>',
    ]
    if histogram is not None:
        parts.extend(_histogram_bars(histogram, scale, interval_low_usd, interval_high_usd))
    else:
        parts.append(
            _text(WIDTH / 2, (PLOT_TOP + PLOT_BOTTOM) / 2, "No market data for similar jobs yet.")
        )
    bracket_y = PLOT_TOP - 12
    parts.extend(
        [
            f'<line x1="{_fmt(band_x0)}" y1="{bracket_y}" x2="{_fmt(band_x0)}" '
            f'y2="{PLOT_BOTTOM}" stroke="{COLOR_BAND}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/>',
            f'<line x1="{_fmt(band_x1)}" y1="{bracket_y}" x2="{_fmt(band_x1)}" '
            f'y2="{PLOT_BOTTOM}" stroke="{COLOR_BAND}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/>',
            f'<line class="estimate" x1="{_fmt(estimate_x)}" y1="{PLOT_TOP - 4}" '
            f'x2="{_fmt(estimate_x)}" '
            f'y2="{PLOT_BOTTOM}" stroke="{COLOR_ESTIMATE}" stroke-width="3"/>',
            f'<circle class="estimate" cx="{_fmt(estimate_x)}" cy="{PLOT_TOP - 4}" r="4" '
            f'fill="{COLOR_ESTIMATE}"/>',
            _text(
                _clamped_label_x(estimate_x, estimate_label),
                14,
                estimate_label,
                extra=' font-weight="600"',
            ),
            _text(
                _start_label_x(band_x0, band_label),
                28,
                band_label,
                anchor="start",
                fill=COLOR_BAND,
                extra=' fill-opacity="0.9"',
            ),
        ]
    )
    parts.extend(_axis(scale))
    parts.extend(_legend(histogram, level_percent))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data-derived text is escaped above
