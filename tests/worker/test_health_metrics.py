"""``/metrics`` and ``/readyz``: maintenance gauges for targets named by windows, backlog,
lag, and readiness."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.settings import Settings
from quietly.storage.db import Database
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


def test_readyz_reports_database_and_index(tenant: Tenant, db: Database) -> None:
    """It also says the process follows other processes' changes (PostgreSQL's subscription,
    the SQLite file's change feed)."""
    response = httpx.get(tenant.base_url + "/readyz")
    checks = {"database": "ok", "index": "ok", "changes": "ok"}
    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "checks": checks, "index_pending": 0})


def _count(text: str, method: str, route: str, status: str) -> float:
    return _metric(text, "quietly_request_duration_seconds_count", method=method, route=route,
                   status=status) or 0.0


def test_request_latency_by_route_template(tenant: Tenant) -> None:
    """Every request is timed under its route template, fast path and errors included; raw
    paths and unknown methods never become label values."""
    def scrape() -> str:
        return httpx.get(tenant.base_url + "/metrics").text

    window = tenant.editor.post("/api/v1/windows", json={
        "name": "m", "targets": ["service:metrics"],
        "schedule": {"kind": "once", "start": "2041-01-01T00:00:00Z",
                     "end": "2041-01-01T01:00:00Z"}}).json()["id"]
    keys = {
        "decide fast": ("GET", "/api/v1/decide", "200"),
        "decide batch": ("POST", "/api/v1/decide", "200"),
        "decide bad": ("GET", "/api/v1/decide", "422"),
        "window": ("GET", "/api/v1/windows/{window_id}", "200"),
        "missing window": ("GET", "/api/v1/windows/{window_id}", "404"),
        "unknown path": ("GET", "unmatched", "404"),
        "odd method": ("OTHER", "unmatched", "404"),
    }
    before = scrape()
    viewer = tenant.viewer
    for _ in range(3):
        assert viewer.get("/api/v1/decide", params={"target": "service:metrics"}).is_success
    assert viewer.post("/api/v1/decide", json={"alerts": [{}]}).is_success
    assert viewer.get("/api/v1/decide", params={"at": "soon"}).status_code == 422
    assert viewer.get(f"/api/v1/windows/{window}").is_success
    assert viewer.get("/api/v1/windows/999999999").status_code == 404
    assert viewer.get(f"/nothing/here/{uuid.uuid4().hex}").status_code == 404
    assert viewer.request("PROPFIND", "/nothing").status_code == 404
    after = scrape()
    assert {name: _count(after, *k) - _count(before, *k) for name, k in keys.items()} == {
        "decide fast": 3, "decide batch": 1, "decide bad": 1, "window": 1,
        "missing window": 1, "unknown path": 1, "odd method": 1}
    assert "/nothing/here" not in after
    assert "_created" not in after  # no creation-time series per label set


def test_metrics_token_guards_the_scrape(tenant: Tenant, settings: Settings,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = tenant.base_url + "/metrics"
    assert httpx.get(url).status_code == 200  # open by default, like most exporters
    monkeypatch.setattr(settings, "metrics_token", "s3cret-scrape")
    refused = [httpx.get(url), httpx.get(url, headers={"Authorization": "Bearer wrong"}),
               httpx.get(url, headers={"Authorization": f"Bearer {tenant.keys[Role.ADMIN]}"})]
    allowed = httpx.get(url, headers={"Authorization": "Bearer s3cret-scrape"})
    assert [(r.status_code, r.headers["content-type"]) for r in refused] == [
        (401, "application/problem+json")] * 3
    assert allowed.status_code == 200
    assert "quietly_decisions_total" in allowed.text
