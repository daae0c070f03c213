"""The alert rules, the example Prometheus configuration and the Grafana dashboard in the
repository are valid for Prometheus itself (Debian's ``promtool``, which scripts/system-deps.sh
installs), the alerts fire on the situations they name (``promtool test rules``), and they and
the dashboard read only metrics the code exports."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from app.ops import metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "hallq-dashboard.json"
NAME = re.compile(r"\b((?:hallq|http_request)_[a-z_]+)\b")


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if Path("/etc/debian_version").exists():
            pytest.fail("promtool is missing: scripts/system-deps.sh installs Debian's prometheus package")
        pytest.skip("promtool is packaged by Debian (prometheus); not installed here")
    return found


def run(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def exported_names() -> set[str]:
    """Every series name the code's metrics expose."""
    names = set()
    for metric in vars(metrics).values():
        kind = metric._type if isinstance(metric, MetricWrapperBase) else None
        if kind == "counter":
            names.add(metric._name + "_total")
        elif kind == "histogram":
            names |= {metric._name + suffix for suffix in ("_bucket", "_count", "_sum")}
        elif kind == "gauge":
            names.add(metric._name)
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_alert_rules_are_valid_and_fire_on_what_they_name(promtool):
    assert "SUCCESS: 10 rules found" in run(promtool, "check", "rules", "alerts.yml")
    run(promtool, "test", "rules", "alerts.test.yml")


def test_the_example_prometheus_configuration_is_valid(promtool):
    run(promtool, "check", "config", "prometheus.yml")


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    queries = dashboard_queries()
    assert len(queries) > 20
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": q.replace("$__rate_interval", "5m").replace("$hall", "H1")}
        for i, q in enumerate(queries)]}]}
    (tmp_path / "dashboard.yml").write_text(json.dumps(rules))  # YAML reads JSON
    run(promtool, "check", "rules", "dashboard.yml", cwd=tmp_path)


def test_the_alerts_and_the_dashboard_read_only_metrics_the_code_exports():
    exported = exported_names()
    used = set(NAME.findall((PROMETHEUS / "alerts.yml").read_text())) | set(NAME.findall(" ".join(dashboard_queries())))
    assert used and used <= exported, used - exported
    assert {"hallq_scheduler_lease_held", "hallq_job_failures_total", "hallq_sms_sent_total",
            "hallq_tickets_called_over_target_total", "hallq_live_screens_connected",
            "http_request_duration_seconds_count"} <= used


def test_the_dashboard_has_a_city_row_and_a_hall_row_chosen_from_the_halls_reported():
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows[0].startswith("City") and rows[1] == "Hall $hall"
    hall = next(v for v in dashboard["templating"]["list"] if v["name"] == "hall")
    assert "label_values(hallq_counters_open, hall)" in hall["definition"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
