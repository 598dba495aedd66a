"""Prometheus alerting rules that honour maintenance (issue 13, DESIGN §4.5).

- The rules file the README points to, checked by ``promtool`` and unit-tested with it
  (offline, synthetic series): quiet while the window runs, firing once it ends, and pages
  for services without a window.
- Debian's real Prometheus scraping the real test server: a rule joined on
  ``quietly_maintenance_active`` is inactive while a window runs and fires once it ends,
  both with the kind label (no ``label_replace``) and with the ``target`` label.
- The exported series: the kind and the id as labels, reserved names left alone, and the
  cardinality bound.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from quietly.metrics import MaintenanceActive
from tests.conftest import Tenant
from tests.integrations.promharness import BINARY, PROMTOOL, Prometheus

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "maintenance-aware.rules.yml"
UNIT_TEST = Path(__file__).with_name("fixtures") / "maintenance-aware.test.yml"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) missing")
def test_the_documented_rules_are_valid_and_honour_maintenance(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    shutil.copy(RULES, tmp_path / "rules.yml")
    (tmp_path / "test.yml").write_text(UNIT_TEST.read_text().replace("RULES", "rules.yml"))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "rules.yml")],
                             capture_output=True, text=True, check=False)
    tested = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert (checked.returncode, tested.returncode) == (0, 0), checked.stdout + tested.stdout


def _rules(service: str) -> str:
    down = f'label_replace(vector(1), "service", "{service}", "", "")'
    by_kind = f'{down} unless on(service) quietly_maintenance_active{{kind="service"}} == 1'
    by_target = (f'{down} unless on(service) label_replace(quietly_maintenance_active == 1, '
                 f'"service", "$1", "target", "service:(.+)")')
    return ("groups:\n- name: quietly\n  rules:\n"
            f"  - alert: ByKind\n    expr: '{by_kind}'\n"
            f"  - alert: ByTarget\n    expr: '{by_target}'\n")


def _firing(prom: Prometheus, service: str) -> list[str]:
    return sorted(series["metric"]["alertname"] for series in prom.query(
        f'ALERTS{{service="{service}", alertstate="firing"}}'))


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.skipif(BINARY is None, reason="prometheus (Debian package) is not installed")
def test_a_rule_is_quiet_while_the_window_runs_and_fires_once_it_ends(tenant: Tenant) -> None:
    service = "svc-" + uuid.uuid4().hex[:10]
    target = f"service:{service}"
    started = tenant.editor.post("/api/v1/maintenance/start",
                                 json={"targets": [target], "duration": "PT1H"})
    assert started.status_code == 201, started.text
    with Prometheus(tenant.base_url, _rules(service)) as prom:
        prom.wait_for(f'quietly_maintenance_active{{service="{service}", '
                      f'workspace="{tenant.slug}"}} == 1')
        seen = datetime.now(UTC)
        prom.wait_evaluated_after(seen)
        during = _firing(prom, service)
        stopped = tenant.editor.post(f"/api/v1/windows/{started.json()['id']}/cancel")
        assert stopped.status_code == 200, stopped.text
        # A cancelled window names its target no more: the series goes stale.
        prom.wait_for(f'absent(quietly_maintenance_active{{service="{service}"}} == 1)')
        ended = datetime.now(UTC)
        prom.wait_evaluated_after(ended)
        prom.wait_for(f'ALERTS{{service="{service}", alertstate="firing"}}')
        prom.wait_evaluated_after(datetime.now(UTC))
        after = _firing(prom, service)
    assert (during, after) == ([], ["ByKind", "ByTarget"])


def _samples(limit: int, values: list[tuple[str, str, int]]) -> tuple[list[dict[str, str]], int]:
    collector = MaintenanceActive()
    collector.replace(values, limit)
    samples = [dict(s.labels, value=str(int(s.value)))
               for metric in collector.collect() for s in metric.samples]
    return samples, collector.dropped


def test_each_series_names_the_kind_and_carries_the_id_under_it() -> None:
    samples, dropped = _samples(10, [
        ("default", "service:checkout", 1),
        ("default", "job:nightly", 0),  # a kind named like a label Prometheus attaches
        ("ops", "host:web1:9100", 0),  # ids may hold colons
    ])
    assert (samples, dropped) == ([
        {"workspace": "default", "target": "service:checkout", "kind": "service",
         "service": "checkout", "value": "1"},
        {"workspace": "default", "target": "job:nightly", "kind": "job", "value": "0"},
        {"workspace": "ops", "target": "host:web1:9100", "kind": "host",
         "host": "web1:9100", "value": "0"},
    ], 0)


def test_the_series_are_bounded_running_targets_first() -> None:
    values = [("default", f"service:s{i}", int(i % 3 == 0)) for i in range(9)]
    samples, dropped = _samples(4, values)
    assert ([s["target"] for s in samples], dropped) == (
        ["service:s0", "service:s3", "service:s6", "service:s1"], 5)
