"""The model card (pure presentation of a version's stored metrics; no database)."""

import re
from types import SimpleNamespace

from mlmodel.model_card import model_card

LEVEL = 0.9


def _protocol(test_year: int, ours: float, original: float, naive: float) -> dict:
    def score(mae, coverage=None, width=None):
        return {
            "rows": 4054,
            "mae": mae,
            "median_ae": mae * 0.75,
            "r2": 0.24,
            "coverage": coverage,
            "mean_width": width,
            "mae_by_experience_level": {"EN": mae * 0.8, "SE": mae * 1.1},
            "mae_by_region": {"Europe": 31_788.8, "North America": 45_671.8},
        }

    return {
        "protocol": "production",
        "rows": {"train": 6039, "validation": 4632, "test": 4054},
        "years": {"train": [2020, test_year - 1], "validation": [2023, 2023], "test": [test_year]},
        "models": {
            "ours": {"validation": score(41_705), "test": score(ours, 0.8927, 170_682)},
            "original": {"validation": score(44_580), "test": score(original)},
            "naive": {"validation": score(46_305), "test": score(naive)},
        },
    }


def _backtest_year(year: int, ours: float, coverage: float) -> dict:
    return {
        "test_year": year,
        "train_years": list(range(2020, year)),
        "rows": 1000 + year - 2020,
        "models": {
            "ours": {"mae": ours, "median_ae": 1, "r2": 0.2, "coverage": coverage, "mean_width": 9},
            "original": {"mae": ours * 1.05},
            "naive_median": {"mae": ours * 1.10},
        },
        "groups": {
            "seen_title": {"rows": 900, "mae": ours - 1000, "coverage": 0.9, "mean_width": 1},
            "unseen_title": {"rows": 100, "mae": ours + 9000, "coverage": 0.8, "mean_width": 2},
        },
    }


def _version(metrics: dict, **fields) -> SimpleNamespace:
    defaults = {
        "version": 4,
        "status": "active",
        "is_demo": False,
        "trained_at": None,
        "activated_at": None,
        "training_data": {
            "rows": 10_093,
            "years": [2020, 2021, 2022, 2023, 2024],
            "rows_per_year": {"2023": 4632, "2024": 4054},
            "sha256": "ab" * 32,
            "sources": {"import": 16_494},
        },
        "metrics": metrics,
    }
    return SimpleNamespace(**{**defaults, **fields})


def test_the_card_reads_the_backtest_when_there_is_one():
    # given a version with a three-year backtest and the production protocol
    metrics = {
        "interval_level": LEVEL,
        "production_protocol": _protocol(2024, 44_499.1, 46_466.0, 48_115.0),
        "backtest": {
            "years": [
                _backtest_year(2024, 44_000.0, 0.89),
                _backtest_year(2022, 40_000.0, 0.88),
                _backtest_year(2023, 42_000.0, 0.90),
            ]
        },
    }

    # when
    card = model_card(_version(metrics))

    # then the headline is one sentence about the latest test year, against both baselines
    assert card.headline.endswith(".") and ". " not in card.headline
    assert "from 2024 that it did not train on" in card.headline
    assert "$44,000 on average" in card.headline
    assert "5 % less than the original recipe ($46,200)" in card.headline
    assert "9 % less than a naive guess ($48,400)" in card.headline
    assert "held 89 % of the real salaries" in card.headline
    assert "Backtest: each of 2022–2024" in card.evaluated_on
    # the chart has the three years in order, in both layouts, with the coverage under each
    svg = str(card.chart_svg)
    assert svg.count("<svg") == 2
    assert re.findall(r">(20\d\d)</text>", svg) == ["2022", "2023", "2024"] * 2
    assert "held 88 %" in svg and "held 90 %" in svg
    assert svg.count('class="bar bar-ours"') == 6
    # unseen titles are called out, with the error on them
    assert any("$53,000" in item and "$43,000" in item for item in card.does_not_know)
    # full figures: years, title groups, protocols, breakdowns, training data
    captions = [table.caption for table in card.tables]
    assert captions[0].startswith("Error by test year")
    assert any("unseen" in caption.lower() or "Known" in caption for caption in captions)
    year_rows = card.tables[0].rows
    assert [row[0] for row in year_rows] == ["2022", "2023", "2024"]
    assert year_rows[-1][1] == "2020–2023"
    assert year_rows[-1][6] == "89.0 %"


def test_without_a_backtest_the_production_protocol_is_the_evaluation():
    # given an older version: only the two protocols were stored
    metrics = {
        "interval_level": LEVEL,
        "production_protocol": _protocol(2024, 44_499.1, 46_466.0, 48_115.0),
        "seed_protocol": {"skipped": "data lacks one of the years"},
    }

    # when
    card = model_card(_version(metrics))

    # then
    assert "On 4,054 salaries from 2024" in card.headline
    assert "$44,499 on average" in card.headline
    assert card.evaluated_on == "Tested on 2024 with a model trained on 2020–2023."
    assert re.findall(r">(20\d\d)</text>", str(card.chart_svg)) == ["2024", "2024"]
    assert any("North America ($45,672" in item for item in card.limitations)
    protocol_table = next(t for t in card.tables if t.caption.startswith("Both evaluation"))
    assert [row[1] for row in protocol_table.rows] == [
        "This model",
        "Original recipe",
        "Naive guess (median)",
    ]


def test_a_version_without_an_evaluation_still_gets_a_card():
    # given a version trained without evaluation (fixtures, quick runs) and no training data
    version = _version({"interval_level": LEVEL}, training_data={}, is_demo=True)

    # when
    card = model_card(version)

    # then nothing is invented, and what can be said is
    assert card.headline is None
    assert card.chart_svg is None
    assert card.tables == []
    assert card.knows  # the vocabulary it was built with
    assert card.limitations[0].startswith("Demo model")
    assert "synthetic demo salaries" in card.summary


def test_low_coverage_is_a_limitation_and_text_is_escaped():
    # given a year whose interval held too few salaries, and a hostile source name
    metrics = {
        "interval_level": LEVEL,
        "backtest": {"years": [_backtest_year(2024, 44_000.0, 0.80)]},
    }
    version = _version(metrics)
    version.training_data = {**version.training_data, "sources": {"<script>": 3}}

    # when
    card = model_card(version)

    # then
    assert any("held only 80.0 %" in item for item in card.limitations)
    assert "<script>" not in str(card.chart_svg)


def test_chart_text_is_sized_for_its_layout():
    # the narrow layout is 300 units wide and its text 12 units: >= 11 px from a ~280 px chart
    card = model_card(_version({"backtest": {"years": [_backtest_year(2024, 44_000.0, 0.9)]}}))
    svg = str(card.chart_svg)
    assert 'viewBox="0 0 300 ' in svg and 'viewBox="0 0 720 ' in svg
    assert set(re.findall(r'font-size="(\d+)"', svg)) == {"12"}


def test_what_it_knows_uses_the_training_counts_when_stored():
    # given training data that counted its distinct titles and countries
    version = _version({})
    version.training_data = {
        **version.training_data,
        "distinct_job_titles": 151,
        "distinct_company_countries": 77,
    }

    # when
    knows = model_card(version).knows

    # then
    assert any(item.startswith("151 job titles by name") for item in knows)
    assert any(item.startswith("Salaries from 77 company countries") for item in knows)
