"""Plain-text metrics table for the training commands."""

from __future__ import annotations

from collections.abc import Mapping

PROTOCOLS = (("seed_protocol", "seed"), ("production_protocol", "production"))
SPLITS = ("validation", "test")
HEADER = f"{'protocol':<11}{'model':<10}{'split':<11}{'years':<11}{'rows':>7}{'MAE $':>10}"
HEADER += f"{'R²':>8}{'coverage':>10}{'width $':>10}"


def _years(value: object) -> str:
    if isinstance(value, list | tuple) and value:
        return f"{value[0]}–{value[-1]}" if value[0] != value[-1] else str(value[0])
    return str(value or "")


def _number(value: object, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "–"


def metrics_table(metrics: Mapping[str, object]) -> list[str]:
    """One line per protocol × model × split; protocols that were skipped say why."""
    lines = [HEADER]
    for key, label in PROTOCOLS:
        report = metrics.get(key)
        if not isinstance(report, Mapping):
            continue
        if "skipped" in report:
            lines.append(f"{label:<11}skipped: {report['skipped']}")
            continue
        for model_name, model_metrics in (report.get("models") or {}).items():
            for split in SPLITS:
                row = model_metrics.get(split) or {}
                lines.append(
                    f"{label:<11}{model_name:<10}{split:<11}{_years(row.get('years')):<11}"
                    f"{_number(row.get('rows'), ','):>7}{_number(row.get('mae'), ',.0f'):>10}"
                    f"{_number(row.get('r2'), '.3f'):>8}{_number(row.get('coverage'), '.1%'):>10}"
                    f"{_number(row.get('mean_width'), ',.0f'):>10}"
                )
    calibration = metrics.get("calibration")
    if isinstance(calibration, Mapping):
        lines.append(
            f"served model: {calibration.get('method')}, {calibration.get('validation')}, "
            f"offset {_number(calibration.get('conformal_offset'), '.4f')} (log $)"
        )
    return lines
