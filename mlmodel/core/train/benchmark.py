"""Benchmark: accuracy of both protocols × (original recipe, ours, naive), plus serving speed.

    python -m mlmodel.core.train.benchmark --data ../shared/data/salaries.csv [--json out.json]

Latency is measured on a predictor loaded from the artifact bytes (the path production uses).
Pure Python: no Django import.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from mlmodel.core.artifacts import artifact_bytes, load_predictor, sha256_hex
from mlmodel.core.predictor import Predictor
from mlmodel.core.profile import PROFILE_FIELDS, SalaryProfile, parse_profile
from mlmodel.core.train.data import deduplicate, load_valid_csv
from mlmodel.core.train.fitting import DEFAULT_SEED
from mlmodel.core.train.production import train_production_model

logger = logging.getLogger(__name__)

MODELS = ("original", "ours", "naive")
PROTOCOLS = ("seed_protocol", "production_protocol")
DEFAULT_SINGLE_CALLS = 2000
WARMUP_CALLS = 50
DEFAULT_BATCH_ROWS = 100_000
BATCH_REPEATS = 3
P99 = 0.99


def protocol_summary(report: dict) -> dict[str, dict[str, float | None]]:
    """{model: {val_mae, test_mae, test_r2, coverage, mean_width}} for one protocol report."""
    summary = {}
    for name in MODELS:
        model = report["models"][name]
        summary[name] = {
            "val_mae": model["validation"]["mae"],
            "test_mae": model["test"]["mae"],
            "test_r2": model["test"]["r2"],
            "coverage": model["test"]["coverage"],
            "mean_width": model["test"]["mean_width"],
        }
    return summary


def backtest_summary(backtest: dict) -> list[dict[str, object]]:
    """Per test year: rows, every model's figures and the seen/unseen-title groups of ours."""
    return [
        {
            "test_year": year["test_year"],
            "train_years": year["train_years"],
            "rows": year["rows"],
            "models": year["models"],
            "groups": year["groups"],
        }
        for year in backtest["years"]
    ]


def measure_single_latency(
    predictor: Predictor, profiles: list[SalaryProfile], calls: int
) -> dict[str, float]:
    """Median and p99 wall time of predict_one (with contributions) in milliseconds."""
    for profile in profiles[:WARMUP_CALLS]:
        predictor.predict_one(profile)
    timings = []
    for i in range(calls):
        profile = profiles[i % len(profiles)]
        started = time.perf_counter()
        predictor.predict_one(profile)
        timings.append(time.perf_counter() - started)
    return {
        "single_median_ms": round(statistics.median(timings) * 1000.0, 4),
        "single_p99_ms": round(float(np.quantile(timings, P99)) * 1000.0, 4),
    }


def measure_batch_throughput(
    predictor: Predictor, profiles: list[SalaryProfile], rows: int
) -> float:
    """Rows per second of predict_many (encoding + estimates + intervals), best of 3."""
    repeats = -(-rows // len(profiles))
    batch = (profiles * repeats)[:rows]
    best = float("inf")
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        predictor.predict_many(batch)
        best = min(best, time.perf_counter() - started)
    return round(rows / best, 1)


def run_benchmark(
    data_path: Path,
    *,
    seed: int = DEFAULT_SEED,
    single_calls: int = DEFAULT_SINGLE_CALLS,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> tuple[dict, dict]:
    """(benchmark figures in the documented JSON shape, extra details for the printout)."""
    frame, input_report = load_valid_csv(data_path)
    if input_report["rows_skipped"]:
        logger.warning(
            "Skipped %d invalid row(s) of %s, first: %s",
            input_report["rows_skipped"],
            data_path,
            "; ".join(input_report["first_reasons"]),
        )
    started = time.perf_counter()
    trained = train_production_model(frame, seed=seed)
    training_seconds = time.perf_counter() - started
    blob = artifact_bytes(trained)
    predictor = load_predictor(blob, sha256_hex(blob))
    profiles = [
        parse_profile(row) for row in deduplicate(frame)[list(PROFILE_FIELDS)].to_dict("records")
    ]
    latency = measure_single_latency(predictor, profiles, single_calls)
    latency["batch_rows_per_s"] = measure_batch_throughput(predictor, profiles, batch_rows)
    figures = {protocol: protocol_summary(trained.evaluation[protocol]) for protocol in PROTOCOLS}
    figures["backtest"] = backtest_summary(trained.evaluation["backtest"])
    figures["input"] = input_report
    figures["latency"] = latency
    details = {
        "training_seconds": round(training_seconds, 1),
        "artifact_bytes": len(blob),
        "artifact_sha256": sha256_hex(blob),
        "data_sha256": trained.fingerprint["sha256"],
        "rows": {p: trained.evaluation[p]["rows"] for p in PROTOCOLS},
        "single_calls": single_calls,
        "batch_rows": batch_rows,
    }
    return figures, details


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def format_table(figures: dict, details: dict) -> str:
    lines = [
        f"{'protocol':<20} {'model':<9} {'val_mae':>10} {'test_mae':>10} {'test_r2':>8} "
        f"{'coverage':>9} {'mean_width':>11}"
    ]
    for protocol in PROTOCOLS:
        for name in MODELS:
            m = figures[protocol][name]
            lines.append(
                f"{protocol:<20} {name:<9} {_money(m['val_mae']):>10} {_money(m['test_mae']):>10} "
                f"{m['test_r2']:>8.3f} {_ratio(m['coverage']):>9} {_money(m['mean_width']):>11}"
            )
    lines += [
        "",
        f"{'backtest':<9} {'model':<13} {'mae':>9} {'median_ae':>10} {'r2':>7} "
        f"{'coverage':>9} {'mean_width':>11}",
    ]
    for year in figures["backtest"]:
        for name, m in year["models"].items():
            r2 = "—" if m["r2"] is None else f"{m['r2']:.3f}"
            lines.append(
                f"{year['test_year']:<9} {name:<13} {_money(m['mae']):>9} "
                f"{_money(m['median_ae']):>10} {r2:>7} {_ratio(m['coverage']):>9} "
                f"{_money(m['mean_width']):>11}"
            )
        for group, g in year["groups"].items():
            lines.append(
                f"{year['test_year']:<9} {group:<13} {_money(g['mae']):>9} {g['rows']:>10,} "
                f"{'':>7} {_ratio(g['coverage']):>9} {_money(g['mean_width']):>11}"
            )
    skipped = figures["input"]["rows_skipped"]
    if skipped:
        lines.append(
            f"skipped {skipped:,} invalid row(s); first: {figures['input']['first_reasons']}"
        )
    latency = figures["latency"]
    lines += [
        "",
        f"predict_one (incl. contributions, {details['single_calls']} calls): "
        f"median {latency['single_median_ms']:.3f} ms, p99 {latency['single_p99_ms']:.3f} ms",
        f"predict_many with intervals ({details['batch_rows']:,} rows): "
        f"{latency['batch_rows_per_s']:,.0f} rows/s",
        f"training (production model + both protocols): {details['training_seconds']} s; "
        f"artifact {details['artifact_bytes']:,} bytes",
        f"rows: {json.dumps(details['rows'])}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="salaries CSV (11 columns)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this path")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--single-calls", type=int, default=DEFAULT_SINGLE_CALLS)
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"data file not found: {args.data}")
    if args.single_calls < 1 or args.batch_rows < 1:
        parser.error("--single-calls and --batch-rows must be positive")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    figures, details = run_benchmark(
        args.data, seed=args.seed, single_calls=args.single_calls, batch_rows=args.batch_rows
    )
    print(format_table(figures, details))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
