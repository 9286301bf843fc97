"""Stored metrics as training writes them, for the model card's page tests."""


def backtest_metrics(years=(2022, 2023, 2024)) -> dict:
    """Metrics as training stores them (a backtest year per test year and both protocols)."""

    def year(test_year: int, mae: float) -> dict:
        return {
            "test_year": test_year,
            "train_years": list(range(2020, test_year)),
            "rows": 4000,
            "models": {
                "ours": {"mae": mae, "coverage": 0.9, "mean_width": 170_000.0},
                "original": {"mae": mae + 2000},
                "naive_median": {"mae": mae + 4000},
            },
            "groups": {"unseen_title": {"rows": 120, "mae": mae + 9000}},
        }

    test = {"mae": 44_499.1, "r2": 0.24, "coverage": 0.893, "mean_width": 170_682.0}
    return {
        "interval_level": 0.9,
        "backtest": {"years": [year(y, 40_000.0 + 1000 * i) for i, y in enumerate(years)]},
        "production_protocol": {
            "years": {"train": [2020, 2023], "test": [2024, 2024]},
            "rows": {"test": 4054},
            "models": {
                "ours": {"validation": {"mae": 41_705.0}, "test": test},
                "original": {"validation": {"mae": 44_580.0}, "test": {"mae": 46_466.0}},
                "naive": {"validation": {"mae": 46_305.0}, "test": {"mae": 48_115.0}},
            },
        },
        "seed_protocol": {"skipped": "data lacks one of the years"},
    }


TRAINING_DATA = {
    "rows": 10_093,
    "years": [2020, 2021, 2022, 2023, 2024],
    "rows_per_year": {"2020": 75, "2024": 4054},
    "sha256": "ab" * 32,
}
