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

FONT_SIZE = 12
LEGEND_ROW_HEIGHT = 18
LEGEND_SWATCH = 12
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
class ChartLayout:
    """One drawing of the chart. The page carries a wide and a narrow one and CSS shows the one
    that fits its container (static/css/charts.css): the narrow one keeps the 12-unit text at
    least 11 px tall on a 360 px phone, where the wide one would shrink it to about 5 px."""

    name: str
    width: int
    margin: int
    plot_top: int
    plot_height: int
    ticks: int
    # Legend entries side by side (wide) or one per row (narrow, with the short market label).
    legend_in_rows: bool

    @property
    def plot_bottom(self) -> int:
        return self.plot_top + self.plot_height

    @property
    def axis_label_y(self) -> int:
        return self.plot_bottom + 18


WIDE = ChartLayout("wide", 720, 24, 44, 136, TARGET_TICKS, legend_in_rows=False)
NARROW = ChartLayout("narrow", 300, 10, 44, 120, 3, legend_in_rows=True)
LAYOUTS = (WIDE, NARROW)


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
    def __init__(self, low: float, high: float, layout: ChartLayout):
        self.low = low
        self.high = high if high > low else low + 1
        self.layout = layout

    def x(self, value: float) -> float:
        plot_width = self.layout.width - 2 * self.layout.margin
        return self.layout.margin + (value - self.low) / (self.high - self.low) * plot_width


def _domain(
    estimate: int, low: int, high: int, histogram: Histogram | None, ticks: int
) -> tuple[int, int]:
    lowest = min(low, estimate)
    highest = max(high, estimate)
    if histogram is not None and histogram.sample_size:
        lowest = min(lowest, histogram.bin_edges[0])
        highest = max(highest, histogram.bin_edges[-1])
    padding = (highest - lowest) * DOMAIN_PADDING
    step = nice_step(highest - lowest, ticks)
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
        f'fill="{fill}" font-size="{FONT_SIZE}"{extra}>{escape(content)}</text>'
    )


def _clamped_label_x(x: float, content: str, width: int) -> float:
    """Keep a centred label inside the picture when its anchor is near an edge."""
    half = len(content) * LABEL_CHAR_WIDTH / 2
    return min(max(x, half + 2), width - half - 2)


def _start_label_x(x: float, content: str, width: int) -> float:
    """Left-aligned label starting at ``x``, moved left if it would run off the picture."""
    text_width = len(content) * LABEL_CHAR_WIDTH
    return max(2.0, min(x + 4, width - text_width - 2))


def _histogram_bars(histogram: Histogram, scale: _Scale, low: int, high: int) -> list[str]:
    peak = max(histogram.counts) if histogram.counts else 0
    if not peak:
        return []
    bars = []
    plot_height = scale.layout.plot_height
    plot_bottom = scale.layout.plot_bottom
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
            f'<rect class="{css_class}" x="{_fmt(x0)}" y="{_fmt(plot_bottom - height)}" '
            f'width="{_fmt(max(x1 - x0 - BAR_GAP, 1))}" height="{_fmt(height)}" fill="{color}">'
            f"<title>{escape(usd_short(left))}–{escape(usd_short(right))}: "
            f"{count:,} salaries</title></rect>"
        )
    return bars


def _axis(scale: _Scale) -> list[str]:
    layout = scale.layout
    bottom = layout.plot_bottom
    parts = [
        f'<line x1="{layout.margin}" y1="{bottom}" x2="{layout.width - layout.margin}" '
        f'y2="{bottom}" stroke="{COLOR_AXIS}" stroke-width="1"/>'
    ]
    step = nice_step(scale.high - scale.low, layout.ticks)
    tick = math.ceil(scale.low / step) * step
    while tick <= scale.high:
        x = scale.x(tick)
        parts.append(
            f'<line x1="{_fmt(x)}" y1="{bottom}" x2="{_fmt(x)}" y2="{bottom + 5}" '
            f'stroke="{COLOR_AXIS}" stroke-width="1"/>'
        )
        label = usd_short(tick)
        parts.append(_text(_clamped_label_x(x, label, layout.width), layout.axis_label_y, label))
        tick += step
    return parts


def _legend_entries(
    histogram: Histogram | None, level_percent: int, layout: ChartLayout
) -> list[tuple[str, float, str]]:
    entries = []
    if histogram is not None and histogram.sample_size:
        market = (
            f"Similar jobs ({histogram.sample_size:,} salaries)"
            if layout.legend_in_rows
            else f"{histogram.description} ({histogram.sample_size:,} salaries)"
        )
        entries.append((COLOR_BAR, 1.0, market))
    entries.append((COLOR_BAND, 0.35, f"{level_percent}% interval"))
    entries.append((COLOR_ESTIMATE, 1.0, "Estimate"))
    return entries


def _legend(entries: list[tuple[str, float, str]], layout: ChartLayout, top: int) -> list[str]:
    parts = []
    x, y = float(layout.margin), top + LEGEND_SWATCH
    for color, opacity, label in entries:
        parts.append(
            f'<rect x="{_fmt(x)}" y="{y - 10}" width="{LEGEND_SWATCH}" '
            f'height="{LEGEND_SWATCH}" fill="{color}" fill-opacity="{opacity}"/>'
        )
        parts.append(_text(x + 18, y, label, anchor="start"))
        if layout.legend_in_rows:
            y += LEGEND_ROW_HEIGHT
        else:
            x += 18 + len(label) * LABEL_CHAR_WIDTH + 20
    return parts


def interval_chart_svg(
    *,
    estimate_usd: int,
    interval_low_usd: int,
    interval_high_usd: int,
    interval_level: float,
    histogram: Histogram | None,
    layout: ChartLayout = WIDE,
) -> SafeString:
    """The estimate (a line), its interval (a band) and the market histogram (bars)."""
    level_percent = round(interval_level * 100)
    domain = _domain(estimate_usd, interval_low_usd, interval_high_usd, histogram, layout.ticks)
    scale = _Scale(*domain, layout)
    band_x0, band_x1 = scale.x(interval_low_usd), scale.x(interval_high_usd)
    estimate_x = scale.x(estimate_usd)
    top, bottom, width = layout.plot_top, layout.plot_bottom, layout.width
    entries = _legend_entries(histogram, level_percent, layout)
    legend_top = layout.axis_label_y + 14
    legend_rows = len(entries) if layout.legend_in_rows else 1
    height = legend_top + legend_rows * LEGEND_ROW_HEIGHT + 4
    summary = (
        f"Estimate {usd(estimate_usd)}; {level_percent}% interval {usd(interval_low_usd)} "
        f"to {usd(interval_high_usd)}"
    )
    if histogram is not None and histogram.sample_size:
        summary += f", shown against {histogram.sample_size:,} salaries of similar jobs."
    estimate_label = f"Estimate {usd_short(estimate_usd)}"
    band_label = f"{level_percent}%: {usd_short(interval_low_usd)} – {usd_short(interval_high_usd)}"
    title_id, desc_id = f"chart-title-{layout.name}", f"chart-desc-{layout.name}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'class="interval-chart interval-chart-{layout.name}" '
        f'font-family="system-ui, sans-serif">',
        f'<title id="{title_id}">Salary estimate and interval</title>',
        f'<desc id="{desc_id}">{escape(summary)}</desc>',
        f'<rect class="band" x="{_fmt(band_x0)}" y="{top - 12}" '
        f'width="{_fmt(max(band_x1 - band_x0, 1))}" '
        f'height="{bottom - top + 12}" fill="{COLOR_BAND}" '
        f'fill-opacity="{BAND_OPACITY}"/>',
    ]
    if histogram is not None:
        parts.extend(_histogram_bars(histogram, scale, interval_low_usd, interval_high_usd))
    else:
        parts.append(_text(width / 2, (top + bottom) / 2, "No market data for similar jobs yet."))
    bracket_y = top - 12
    parts.extend(
        [
            f'<line x1="{_fmt(band_x0)}" y1="{bracket_y}" x2="{_fmt(band_x0)}" '
            f'y2="{bottom}" stroke="{COLOR_BAND}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/>',
            f'<line x1="{_fmt(band_x1)}" y1="{bracket_y}" x2="{_fmt(band_x1)}" '
            f'y2="{bottom}" stroke="{COLOR_BAND}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/>',
            f'<line class="estimate" x1="{_fmt(estimate_x)}" y1="{top - 4}" '
            f'x2="{_fmt(estimate_x)}" '
            f'y2="{bottom}" stroke="{COLOR_ESTIMATE}" stroke-width="3"/>',
            f'<circle class="estimate" cx="{_fmt(estimate_x)}" cy="{top - 4}" r="4" '
            f'fill="{COLOR_ESTIMATE}"/>',
            _text(
                _clamped_label_x(estimate_x, estimate_label, width),
                14,
                estimate_label,
                extra=' font-weight="600"',
            ),
            _text(
                _start_label_x(band_x0, band_label, width),
                28,
                band_label,
                anchor="start",
                fill=COLOR_BAND,
                extra=' fill-opacity="0.9"',
            ),
        ]
    )
    parts.extend(_axis(scale))
    parts.extend(_legend(entries, layout, legend_top))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data-derived text is escaped above


def responsive_chart(drawings: dict[str, str]) -> SafeString:
    """Both layouts of one chart, each in its wrapper; CSS shows the one that fits."""
    return mark_safe(  # noqa: S308 - the drawings are built (and escaped) by this module
        "".join(
            f'<div class="chart-layout chart-{name}">{svg}</div>' for name, svg in drawings.items()
        )
    )


def interval_chart_html(**kwargs) -> SafeString:
    """:func:`interval_chart_svg` in every layout, for a page that may be a phone or a desktop."""
    return responsive_chart(
        {layout.name: interval_chart_svg(**kwargs, layout=layout) for layout in LAYOUTS}
    )
