"""``/metrics`` and ``/readyz``: maintenance gauges for targets named by windows, backlog,
lag, and readiness."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx2 as httpx

from tests.conftest import Tenant
from tests.worker.conftest import make_channel, make_window, seconds_from_now


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_maintenance_active_per_named_target(tenant: Tenant) -> None:
    running, later = f"service:{uuid.uuid4().hex[:8]}", f"service:{uuid.uuid4().hex[:8]}"
    assert tenant.editor.post("/api/v1/maintenance/start", json={
        "targets": [running], "duration": "PT10M"}).status_code == 201
    start = seconds_from_now(3600)
    make_window(tenant.editor, start, start + timedelta(hours=1), [], targets=[later])
    text = httpx.get(tenant.base_url + "/metrics").text
    assert (_metric(text, "quietly_maintenance_active", workspace=tenant.slug, target=running),
            _metric(text, "quietly_maintenance_active", workspace=tenant.slug, target=later)
            ) == (1.0, 0.0)
    assert _metric(text, "quietly_windows", workspace=tenant.slug, state="active") == 1.0


def test_backlog_and_lag_are_reported(tenant: Tenant) -> None:
    channel = make_channel(tenant.admin, "https://example.com/hook")
    start = seconds_from_now(3600)
    make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    text = httpx.get(tenant.base_url + "/metrics").text
    pending = _metric(text, "quietly_outbox_backlog", status="pending")
    assert pending is not None
    assert pending >= 1
    lag = _metric(text, "quietly_worker_lag_seconds")
    assert lag is not None
    assert lag >= 0


def test_readyz_reports_database_and_index(tenant: Tenant) -> None:
    response = httpx.get(tenant.base_url + "/readyz")
    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "checks": {"database": "ok", "index": "ok"}})
