"""A model version's card: what it is, how good it is, what it knows and does not.

Pure presentation: it reads what a ``ModelVersion`` stores (``metrics``, ``training_data``,
``hyperparameters``, ``is_demo`` …) and turns it into sentences, a small SVG chart and readable
tables. Nothing is computed from data here, only formatted; a figure the version does not hold
is left out (older versions, demo models and fixtures trained without evaluation hold less).
The about page and the admin render the same card (``templates/mlmodel/_model_card.html``).

Where the figures come from, best first: ``metrics["backtest"]["years"]`` (one row per test
year: trained on the years before it, tested on it, against the original recipe and a naive
guess), else the production protocol's test year (``metrics["production_protocol"]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from mlmodel.core.profile import COUNTRIES, EXPERIENCE_LEVELS
from mlmodel.core.taxonomy import FAMILY_OTHER, JOB_FAMILIES, KNOWN_JOB_TITLES

OURS = "ours"
ORIGINAL = "original"
NAIVE = "naive"
# The backtest names the naive guess "naive_median"; the protocols call it "naive".
MODEL_KEYS: dict[str, tuple[str, ...]] = {
    OURS: (OURS,),
    ORIGINAL: (ORIGINAL,),
    NAIVE: ("naive_median", NAIVE),
}
MODEL_LABELS = {
    OURS: "This model",
    ORIGINAL: "Original recipe",
    NAIVE: "Naive guess (median)",
}
SEEN_TITLE = "seen_title"
UNSEEN_TITLE = "unseen_title"
UNKNOWN_TITLE = "unknown_title"
GROUP_LABELS = {
    SEEN_TITLE: "Titles it trained on",
    UNSEEN_TITLE: "Titles new to it",
    UNKNOWN_TITLE: "Unrecognised titles",
}
DEFAULT_INTERVAL_LEVEL = 0.9
# Coverage this far below the interval level is called out as a limitation.
COVERAGE_SHORTFALL = 0.02
PERCENT = 100
THOUSAND = 1_000
NAMED_FAMILIES = tuple(family for family in JOB_FAMILIES if family != FAMILY_OTHER)
# Optional training_data keys: distinct job titles and company countries in the training rows.
TRAINED_TITLES_KEY = "distinct_job_titles"
TRAINED_COUNTRIES_KEY = "distinct_company_countries"
SOURCE_LABELS = {"import": "imported", "feedback": "from user feedback", "demo": "synthetic"}

# --------------------------------------------------------------------------------------------
# Chart geometry (SVG user units). Two layouts of the same picture: the narrow one is drawn
# for phones (its text stays >= 11 px from a 360 px screen up), the wide one for the rest;
# CSS shows one of them by the width of the container (static/css/charts.css).
# --------------------------------------------------------------------------------------------
FONT_SIZE = 12
CHAR_WIDTH = 6.8


@dataclass(frozen=True, slots=True)
class ChartLayout:
    name: str
    width: int
    plot_top: int
    plot_height: int
    margin_left: int
    margin_right: int
    legend_columns: int


WIDE = ChartLayout("wide", 720, 44, 150, 56, 12, 3)
NARROW = ChartLayout("narrow", 300, 80, 150, 44, 6, 1)
LEGEND_ROW_HEIGHT = 18
YEAR_LABEL_GAP = 18
COVERAGE_LABEL_GAP = 34
BOTTOM_PADDING = 12
GROUP_GAP_SHARE = 0.3
TARGET_TICKS = 4
NICE_STEPS = (1, 2, 2.5, 5, 10)
BAR_COLORS = {OURS: "#0b5cad", ORIGINAL: "#94a3b8", NAIVE: "#d0d7de"}
AXIS_COLOR = "#94a3b8"


@dataclass(frozen=True, slots=True)
class ModelScore:
    mae: float | None = None
    median_ae: float | None = None
    r2: float | None = None
    coverage: float | None = None
    mean_width: float | None = None


@dataclass(frozen=True, slots=True)
class YearResult:
    """One test year: trained on ``train_years``, tested on ``rows`` salaries of ``test_year``."""

    test_year: int
    train_years: tuple[int, ...]
    rows: int | None
    scores: dict[str, ModelScore]
    groups: dict[str, dict[str, float | int | None]] = field(default_factory=dict)

    def mae(self, model: str) -> float | None:
        score = self.scores.get(model)
        return score.mae if score else None


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    # Columns (by index) holding numbers: right-aligned.
    numeric: frozenset[int] = frozenset()

    def cells(self) -> list[list[tuple[str, bool]]]:
        return [[(cell, i in self.numeric) for i, cell in enumerate(row)] for row in self.rows]


@dataclass(frozen=True, slots=True)
class ModelCard:
    version: int
    status: str
    is_demo: bool
    trained_at: datetime | None
    activated_at: datetime | None
    summary: str
    headline: str | None
    evaluated_on: str | None
    chart_svg: SafeString | None
    knows: list[str]
    does_not_know: list[str]
    limitations: list[str]
    tables: list[Table]


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------
def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def usd(value: object) -> str:
    number = _number(value)
    return "—" if number is None else f"${number:,.0f}"


def usd_short(value: float) -> str:
    if abs(value) >= THOUSAND:
        return f"${value / THOUSAND:,.0f}K"
    return f"${value:,.0f}"


def percent(value: object, digits: int = 1) -> str:
    number = _number(value)
    return "—" if number is None else f"{number * PERCENT:.{digits}f} %"


def plain(value: object, digits: int = 3) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:.{digits}f}"


def count(value: object) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:,.0f}"


def years_text(years: Sequence[int]) -> str:
    years = sorted(set(years))
    if not years:
        return "—"
    if len(years) == 1:
        return str(years[0])
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(year) for year in years)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _years(value: object) -> tuple[int, ...]:
    """``[2020, 2023]`` (a range as the protocols store it) or a list of years."""
    if not isinstance(value, (list, tuple)):
        return ()
    numbers = [int(year) for year in value if _number(year) is not None]
    if len(numbers) == 2 and numbers[1] > numbers[0] + 1:
        return tuple(range(numbers[0], numbers[1] + 1))
    return tuple(sorted(set(numbers)))


# --------------------------------------------------------------------------------------------
# Reading the stored metrics
# --------------------------------------------------------------------------------------------
def _score(raw: object) -> ModelScore:
    raw = _dict(raw)
    return ModelScore(
        mae=_number(raw.get("mae")),
        median_ae=_number(raw.get("median_ae")),
        r2=_number(raw.get("r2")),
        coverage=_number(raw.get("coverage")),
        mean_width=_number(raw.get("mean_width")),
    )


def _model_entry(models: Mapping, model: str) -> object:
    for key in MODEL_KEYS[model]:
        if key in models:
            return models[key]
    return None


def backtest_years(metrics: Mapping) -> list[YearResult]:
    """The backtest's years, oldest first; [] when the version has no backtest."""
    results = []
    for raw in _dict(metrics.get("backtest")).get("years") or []:
        raw = _dict(raw)
        year = _number(raw.get("test_year"))
        if year is None:
            continue
        models = _dict(raw.get("models"))
        scores = {
            model: _score(_model_entry(models, model))
            for model in MODEL_KEYS
            if _model_entry(models, model) is not None
        }
        if OURS not in scores:
            continue
        results.append(
            YearResult(
                test_year=int(year),
                train_years=_years(raw.get("train_years")),
                rows=int(raw["rows"]) if _number(raw.get("rows")) is not None else None,
                scores=scores,
                groups={name: _dict(group) for name, group in _dict(raw.get("groups")).items()},
            )
        )
    return sorted(results, key=lambda result: result.test_year)


def protocol_year(metrics: Mapping, protocol: str) -> YearResult | None:
    """A protocol's test year as one backtest-like row (None when skipped or absent)."""
    report = _dict(metrics.get(f"{protocol}_protocol"))
    models = _dict(report.get("models"))
    if OURS not in models:
        return None
    test_years = _years(_dict(report.get("years")).get("test"))
    if not test_years:
        return None
    scores = {}
    for model in MODEL_KEYS:
        entry = _model_entry(models, model)
        if entry is not None:
            scores[model] = _score(_dict(entry).get("test"))
    return YearResult(
        test_year=test_years[-1],
        train_years=_years(_dict(report.get("years")).get("train")),
        rows=_dict(report.get("rows")).get("test"),
        scores=scores,
    )


def evaluation_years(metrics: Mapping) -> tuple[list[YearResult], str | None]:
    """The years the card reports, and where they come from (None: no evaluation stored)."""
    years = backtest_years(metrics)
    if years:
        return years, "backtest"
    production = protocol_year(metrics, "production")
    if production is not None:
        return [production], "production"
    return [], None


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------
def _closer(ours: float | None, other: float | None) -> str | None:
    if ours is None or other is None or other <= 0:
        return None
    share = (other - ours) / other
    if share >= 0:
        return f"{share * PERCENT:.0f} % less than"
    return f"{-share * PERCENT:.0f} % more than"


def headline(year: YearResult, level: float) -> str:
    """How good it is, in one sentence, on its latest test year."""
    ours = year.scores[OURS]
    rows = f"{year.rows:,} " if year.rows else ""
    parts = [
        f"On {rows}salaries from {year.test_year} that it did not train on, its estimates were "
        f"off by {usd(ours.mae)} on average"
    ]
    comparisons = []
    for model, words in ((ORIGINAL, "the original recipe"), (NAIVE, "a naive guess")):
        relation = _closer(ours.mae, year.mae(model))
        if relation:
            comparisons.append(f"{relation} {words} ({usd(year.mae(model))})")
    if comparisons:
        parts.append(", " + " and ".join(comparisons))
    if ours.coverage is not None:
        parts.append(
            f"; its {level * PERCENT:.0f} % range held "
            f"{ours.coverage * PERCENT:.0f} % of the real salaries"
        )
    return "".join(parts) + "."


def _knows(training: Mapping, metrics: Mapping) -> list[str]:
    items = []
    rows = _number(training.get("rows"))
    years = _years(training.get("years"))
    if rows is not None:
        span = f" from {years_text(years)}" if years else ""
        items.append(f"{rows:,.0f} distinct reported salaries{span}.")
    per_year = _dict(training.get("rows_per_year"))
    if per_year:
        biggest = max(per_year, key=lambda year: _number(per_year[year]) or 0)
        items.append(
            "Rows per year: "
            + ", ".join(f"{year}: {count(per_year[year])}" for year in sorted(per_year))
            + f" (most in {biggest})."
        )
    # Counts of the training rows when training stored them; else the vocabulary it reads.
    titles = _number(training.get(TRAINED_TITLES_KEY)) or len(KNOWN_JOB_TITLES)
    countries = _number(training.get(TRAINED_COUNTRIES_KEY))
    items.append(
        f"{titles:,.0f} job titles by name, grouped into {len(NAMED_FAMILIES)} job families; "
        "other titles are matched to a family by their words."
    )
    where = (
        f"Salaries from {countries:,.0f} company countries (any of {len(COUNTRIES)} can be chosen)"
        if countries
        else f"{len(COUNTRIES)} countries for the company and the employee"
    )
    items.append(
        f"{where}, {len(EXPERIENCE_LEVELS)} experience levels, remote ratio, company size "
        "and work year."
    )
    sources = _dict(training.get("sources"))
    if sources:
        items.append(
            "Rows by source: "
            + ", ".join(
                f"{count(n)} {SOURCE_LABELS.get(name, name)}" for name, n in sorted(sources.items())
            )
            + "."
        )
    return items


def _does_not_know(training: Mapping, unseen: Mapping | None, seen: Mapping | None) -> list[str]:
    years = _years(training.get("years"))
    items = [
        "Anything not in the profile: skills, the employer, the city, education, bonus or equity.",
    ]
    if years:
        items.append(
            f"Years after {years[-1]}: it has seen no salaries from them, so a later year is "
            f"estimated from what it learned up to {years[-1]}."
        )
    if unseen:
        known = f" against {usd(seen.get('mae'))} on titles it knew" if seen else ""
        items.append(
            "Titles it never saw: it estimates them from their job family; on "
            f"{count(unseen.get('rows'))} such test salaries its error was "
            f"{usd(unseen.get('mae'))}{known}."
        )
    else:
        items.append("Titles it never saw are estimated from their job family only.")
    return items


def _limitations(
    *, is_demo: bool, latest: YearResult | None, level: float, metrics: Mapping
) -> list[str]:
    items = []
    if is_demo:
        items.append(
            "Demo model: trained on synthetic data, so its estimates are illustrative only."
        )
    items.append(
        "Salaries are self-reported; where there are few reports (small countries, rare "
        "titles) errors are larger."
    )
    items.append(
        f"The {level * PERCENT:.0f} % range holds on average over many profiles, not for every "
        "single one; it is wide because pay for one profile varies a lot."
    )
    coverage = latest.scores[OURS].coverage if latest else None
    if coverage is not None and coverage < level - COVERAGE_SHORTFALL:
        items.append(
            f"In {latest.test_year} the range held only {percent(coverage)} of real salaries "
            f"(target {level * PERCENT:.0f} %)."
        )
    ours_test = _dict(_dict(_dict(metrics.get("production_protocol")).get("models")).get(OURS))
    by_region = _dict(_dict(ours_test.get("test")).get("mae_by_region"))
    if by_region:
        worst = max(by_region, key=lambda name: _number(by_region[name]) or 0)
        items.append(f"Largest error by region: {worst} ({usd(by_region[worst])} on average).")
    return items


# --------------------------------------------------------------------------------------------
# Tables (behind a disclosure on the page)
# --------------------------------------------------------------------------------------------
def _year_table(years: list[YearResult], level: float) -> Table:
    rows = []
    for year in years:
        ours = year.scores[OURS]
        rows.append(
            (
                str(year.test_year),
                years_text(year.train_years),
                count(year.rows),
                usd(ours.mae),
                usd(year.mae(ORIGINAL)),
                usd(year.mae(NAIVE)),
                percent(ours.coverage),
                usd(ours.mean_width),
            )
        )
    return Table(
        caption="Error by test year (mean absolute error; each year tested on a model trained "
        "on the years before it)",
        columns=(
            "Test year",
            "Trained on",
            "Rows",
            "This model",
            "Original recipe",
            "Naive guess",
            f"{level * PERCENT:.0f} % range held",
            "Mean range width",
        ),
        rows=rows,
        numeric=frozenset(range(2, 8)),
    )


def _group_table(years: list[YearResult]) -> Table | None:
    rows = []
    for year in years:
        for name, label in GROUP_LABELS.items():
            group = year.groups.get(name)
            if group:
                rows.append(
                    (
                        str(year.test_year),
                        label,
                        count(group.get("rows")),
                        usd(group.get("mae")),
                        percent(group.get("coverage")),
                        usd(group.get("mean_width")),
                    )
                )
    if not rows:
        return None
    return Table(
        caption="Known against unseen job titles (this model)",
        columns=("Test year", "Titles", "Rows", "Mean error", "Range held", "Mean width"),
        rows=rows,
        numeric=frozenset(range(2, 6)),
    )


def _protocol_table(metrics: Mapping) -> Table | None:
    rows = []
    for protocol, label in (("seed", "Seed (train 2020–22)"), ("production", "Production")):
        report = _dict(metrics.get(f"{protocol}_protocol"))
        models = _dict(report.get("models"))
        for model in MODEL_KEYS:
            entry = _dict(_model_entry(models, model))
            if not entry:
                continue
            test = _score(entry.get("test"))
            rows.append(
                (
                    label,
                    MODEL_LABELS[model],
                    usd(_score(entry.get("validation")).mae),
                    usd(test.mae),
                    plain(test.r2),
                    percent(test.coverage),
                    usd(test.mean_width),
                )
            )
    if not rows:
        return None
    return Table(
        caption="Both evaluation protocols (test year, validation year)",
        columns=(
            "Protocol",
            "Model",
            "Validation error",
            "Test error",
            "Test R²",
            "Range held",
            "Mean width",
        ),
        rows=rows,
        numeric=frozenset(range(2, 7)),
    )


def _breakdown_table(metrics: Mapping, key: str, caption: str, labels: Mapping) -> Table | None:
    ours = _dict(_dict(_dict(metrics.get("production_protocol")).get("models")).get(OURS))
    validation = _dict(_dict(ours.get("validation")).get(key))
    test = _dict(_dict(ours.get("test")).get(key))
    names = list(dict.fromkeys([*validation, *test]))
    if not names:
        return None
    return Table(
        caption=caption,
        columns=("Group", "Validation error", "Test error"),
        rows=[
            (str(labels.get(name, name)), usd(validation.get(name)), usd(test.get(name)))
            for name in names
        ],
        numeric=frozenset({1, 2}),
    )


def _training_table(training: Mapping, metrics: Mapping) -> Table | None:
    rows = []
    for label, value in (
        ("Distinct rows", count(training.get("rows"))),
        ("Rows before removing duplicates", count(training.get("rows_raw"))),
        ("Years", years_text(_years(training.get("years")))),
    ):
        if value != "—":
            rows.append((label, value))
    for year, n in sorted(_dict(training.get("rows_per_year")).items()):
        rows.append((f"Rows from {year}", count(n)))
    calibration = _dict(metrics.get("calibration"))
    if calibration.get("method"):
        rows.append(("Interval calibration", str(calibration["method"])))
    if calibration.get("validation"):
        rows.append(("Calibrated on", str(calibration["validation"])))
    if _number(metrics.get("training_seconds")) is not None:
        rows.append(("Training time", f"{metrics['training_seconds']:.1f} s"))
    if training.get("sha256"):
        rows.append(("Data fingerprint (sha256)", str(training["sha256"])))
    if not rows:
        return None
    return Table(caption="Training data", columns=("", "Value"), rows=rows)


# --------------------------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------------------------
def nice_step(span: float, target: int = TARGET_TICKS) -> float:
    if span <= 0:
        return 1.0
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in NICE_STEPS:
        if raw <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _f(value: float) -> str:
    return f"{value:.1f}"


def _text(x: float, y: float, content: str, *, anchor: str = "middle", extra: str = "") -> str:
    # Presentation attributes, never style="…" (the CSP allows no inline styles).
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" fill="currentColor" '
        f'font-size="{FONT_SIZE}"{extra}>{escape(content)}</text>'
    )


def _chart_one(
    years: list[YearResult], models: list[str], level: float, layout: ChartLayout, uid: str
) -> str:
    legend_rows = math.ceil(len(models) / layout.legend_columns)
    plot_top = max(layout.plot_top, 14 + legend_rows * LEGEND_ROW_HEIGHT + 10)
    plot_bottom = plot_top + layout.plot_height
    height = plot_bottom + COVERAGE_LABEL_GAP + BOTTOM_PADDING
    values = [year.mae(model) or 0.0 for year in years for model in models]
    step = nice_step(max(values) if values else 1.0)
    top = max(step, math.ceil(max(values, default=0) / step) * step)
    plot_left = layout.margin_left
    plot_width = layout.width - layout.margin_left - layout.margin_right

    def y(value: float) -> float:
        return plot_bottom - value / top * layout.plot_height

    title_id, desc_id = f"{uid}-{layout.name}-title", f"{uid}-{layout.name}-desc"
    described = "; ".join(
        f"{year.test_year}: "
        + ", ".join(f"{MODEL_LABELS[m].lower()} {usd(year.mae(m))}" for m in models)
        + (
            f", range held {percent(year.scores[OURS].coverage, 0)}"
            if year.scores[OURS].coverage is not None
            else ""
        )
        for year in years
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {height}" '
        f'width="100%" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'class="card-chart card-chart-{layout.name}" font-family="system-ui, sans-serif">',
        f'<title id="{title_id}">Mean error by test year, lower is better</title>',
        f'<desc id="{desc_id}">{escape(described)}</desc>',
    ]
    # Legend
    column_width = (layout.width - 8) / layout.legend_columns
    for index, model in enumerate(models):
        row, column = divmod(index, layout.legend_columns)
        x = 4 + column * column_width
        legend_y = 14 + row * LEGEND_ROW_HEIGHT
        parts.append(
            f'<rect class="swatch swatch-{model}" x="{_f(x)}" y="{legend_y - 10}" width="12" '
            f'height="12" fill="{BAR_COLORS[model]}"/>'
        )
        parts.append(_text(x + 18, legend_y, MODEL_LABELS[model], anchor="start"))
    # Grid and y labels
    tick = 0.0
    while tick <= top + 1e-9:
        ty = y(tick)
        parts.append(
            f'<line x1="{plot_left}" y1="{_f(ty)}" x2="{layout.width - layout.margin_right}" '
            f'y2="{_f(ty)}" stroke="{AXIS_COLOR}" stroke-width="{1 if tick == 0 else 0.5}"/>'
        )
        parts.append(_text(plot_left - 6, ty + 4, usd_short(tick), anchor="end"))
        tick += step
    # Bars, one group per year
    group_width = plot_width / max(len(years), 1)
    inner = group_width * (1 - GROUP_GAP_SHARE)
    bar_width = inner / max(len(models), 1)
    for index, year in enumerate(years):
        group_x = plot_left + index * group_width + (group_width - inner) / 2
        for position, model in enumerate(models):
            value = year.mae(model)
            if value is None:
                continue
            bar_y = y(value)
            parts.append(
                f'<rect class="bar bar-{model}" x="{_f(group_x + position * bar_width)}" '
                f'y="{_f(bar_y)}" width="{_f(max(bar_width - 2, 1))}" '
                f'height="{_f(plot_bottom - bar_y)}" fill="{BAR_COLORS[model]}">'
                f"<title>{escape(MODEL_LABELS[model])}, {year.test_year}: "
                f"{escape(usd(value))}</title></rect>"
            )
        centre = plot_left + (index + 0.5) * group_width
        parts.append(
            _text(
                centre,
                plot_bottom + YEAR_LABEL_GAP,
                str(year.test_year),
                extra=' font-weight="600"',
            )
        )
        coverage = year.scores[OURS].coverage
        if coverage is not None:
            parts.append(
                _text(centre, plot_bottom + COVERAGE_LABEL_GAP, f"held {coverage * PERCENT:.0f} %")
            )
    parts.append("</svg>")
    return "".join(parts)


def card_chart_svg(years: list[YearResult], *, level: float, uid: str) -> SafeString | None:
    """Error by test year for this model, the original recipe and a naive guess, with the share
    of real salaries the range held under each year; both layouts (CSS shows one)."""
    if not years:
        return None
    models = [m for m in MODEL_KEYS if any(year.mae(m) is not None for year in years)]
    wide = _chart_one(years, models, level, WIDE, uid)
    narrow = _chart_one(years, models, level, NARROW, uid)
    return mark_safe(  # noqa: S308 - every data-derived text is escaped in _chart_one
        f'<div class="chart-layout chart-wide">{wide}</div>'
        f'<div class="chart-layout chart-narrow">{narrow}</div>'
    )


# --------------------------------------------------------------------------------------------
# The card
# --------------------------------------------------------------------------------------------
def _summary(version: object, training: Mapping) -> str:
    rows = _number(training.get("rows"))
    data = (
        "synthetic demo salaries"
        if getattr(version, "is_demo", False)
        else "salaries reported for data and ML jobs"
    )
    amount = f"{rows:,.0f} " if rows is not None else ""
    return (
        "Gradient-boosted trees (XGBoost) blended with a ridge regression, trained on "
        f"{amount}{data}. It gives an estimate and a range calibrated on held-out salaries."
    )


def model_card(version: object) -> ModelCard:
    """The card of one ModelVersion (any object with its fields will do)."""
    metrics = _dict(getattr(version, "metrics", None))
    training = _dict(getattr(version, "training_data", None))
    level = _number(metrics.get("interval_level")) or DEFAULT_INTERVAL_LEVEL
    years, source = evaluation_years(metrics)
    latest = years[-1] if years else None
    number = int(getattr(version, "version", 0) or 0)
    unseen = latest.groups.get(UNSEEN_TITLE) if latest else None
    seen = latest.groups.get(SEEN_TITLE) if latest else None
    tables = [_year_table(years, level)] if years else []
    for table in (
        _group_table(years),
        _protocol_table(metrics),
        _breakdown_table(
            metrics,
            "mae_by_experience_level",
            "Mean error by experience level (production protocol)",
            EXPERIENCE_LEVELS,
        ),
        _breakdown_table(
            metrics, "mae_by_region", "Mean error by region (production protocol)", {}
        ),
        _training_table(training, metrics),
    ):
        if table is not None:
            tables.append(table)
    evaluated_on = None
    if source == "backtest":
        evaluated_on = (
            f"Backtest: each of {years_text([y.test_year for y in years])} predicted by a model "
            "trained only on the years before it."
        )
    elif source == "production":
        evaluated_on = (
            f"Tested on {latest.test_year} with a model trained on "
            f"{years_text(latest.train_years)}."
        )
    return ModelCard(
        version=number,
        status=str(getattr(version, "status", "") or ""),
        is_demo=bool(getattr(version, "is_demo", False)),
        trained_at=getattr(version, "trained_at", None),
        activated_at=getattr(version, "activated_at", None),
        summary=_summary(version, training),
        headline=headline(latest, level) if latest else None,
        evaluated_on=evaluated_on,
        chart_svg=card_chart_svg(years, level=level, uid=f"model-{number}"),
        knows=_knows(training, metrics),
        does_not_know=_does_not_know(training, unseen, seen),
        limitations=_limitations(
            is_demo=bool(getattr(version, "is_demo", False)),
            latest=latest,
            level=level,
            metrics=metrics,
        ),
        tables=tables,
    )
