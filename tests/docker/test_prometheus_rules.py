"""docker/prometheus/alerts.yml is valid, and its unit tests prove the alerts fire.

``promtool check rules`` checks the rules, ``promtool test rules`` runs alerts_test.yml (synthetic
series on which the error-rate, p95 latency, model, Celery and SRM alerts fire or stay quiet),
and a copy with a broken threshold must fail those unit tests, so they really test something.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.docker.conftest import DOCKER_DIR, require_tool

PROMETHEUS_DIR = DOCKER_DIR / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
OPERATIONS_DOC = DOCKER_DIR.parent / "docs" / "operations.md"
TIMEOUT_SECONDS = 60
DJANGO_PROMETHEUS_METRICS = (
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
)
REQUIRED_ALERTS = {
    "PortalHighErrorRate",
    "PortalHighLatencyP95",
    "ModelLoadFailures",
    "ModelIntegrityFailure",
    "CeleryWorkerHeartbeatMissing",
    "CeleryQueueBacklog",
    "ExperimentSampleRatioMismatch",
}


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool", install_hint="apt-get install prometheus (make test-tools)")
    return subprocess.run(
        [promtool, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        cwd=cwd,
    )


def _alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules():
    # when
    result = _promtool("check", "rules", ALERTS.name, cwd=PROMETHEUS_DIR)

    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config(tmp_path):
    # given the config, its rules and the scrape token file it names, side by side
    for source in (PROMETHEUS_CONFIG, PROMETHEUS_DIR / "alerts.yml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "metrics-token").write_text("test-token\n")

    # when
    result = _promtool("check", "config", PROMETHEUS_CONFIG.name, cwd=tmp_path)

    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass():
    # when
    result = _promtool("test", "rules", ALERTS_TEST.name, cwd=PROMETHEUS_DIR)

    # then
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("alert", "threshold", "broken"),
    [("PortalHighErrorRate", ") > 0.05", ") > 0.5"), ("PortalHighLatencyP95", ") > 0.5", ") > 5")],
)
def test_unit_tests_catch_a_broken_threshold(tmp_path, alert, threshold, broken):
    # given: the alert's threshold raised tenfold, so it no longer fires on the bad series
    rules = ALERTS.read_text()
    start = rules.index(f"- alert: {alert}")
    end = rules.index("- alert:", start + 1)
    assert threshold in rules[start:end]
    (tmp_path / ALERTS.name).write_text(
        rules[:start] + rules[start:end].replace(threshold, broken, 1) + rules[end:]
    )
    shutil.copy(ALERTS_TEST, tmp_path / ALERTS_TEST.name)

    # when
    result = _promtool("test", "rules", ALERTS_TEST.name, cwd=tmp_path)

    # then
    assert result.returncode != 0
    assert f"alertname: {alert}" in result.stdout + result.stderr


def test_the_required_alerts_exist_and_have_a_runbook():
    # given
    rules = {rule["alert"]: rule for rule in _alert_rules()}
    doc_headings = {
        heading.strip().lower()
        for heading in re.findall(r"^#+\s+(.+)$", OPERATIONS_DOC.read_text(), re.MULTILINE)
    }

    # then
    assert set(rules) >= REQUIRED_ALERTS
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}", name
        assert name.lower() in doc_headings, f"docs/operations.md has no runbook for {name}"


def test_http_alerts_use_the_metrics_django_prometheus_exports():
    # given: the names as the installed prometheus_client will expose them
    from django_prometheus.middleware import Metrics

    metrics = Metrics.get_instance()
    exported = {
        f"{metrics.responses_by_status_view_method._name}_total",
        f"{metrics.requests_latency_by_view_method._name}_bucket",
    }
    rules = ALERTS.read_text()

    # then
    assert set(DJANGO_PROMETHEUS_METRICS) == exported
    for name in DJANGO_PROMETHEUS_METRICS:
        assert name in rules
