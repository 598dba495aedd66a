"""SIGKILL (acceptance 3): a worker killed mid-delivery loses no event, and a repeat carries
the same ``webhook-id``; a ``serve`` killed under a stream of writes keeps every write it
answered 201."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.conftest import Tenant
from tests.worker.conftest import (
    make_channel,
    make_window,
    missing_windows,
    once_body,
    restarted,
    seconds_from_now,
    serve_under_writes,
)
from tests.worker.processes import Proc, start_worker
from tests.worker.sink import Sink

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _delivered_ids(tenant: Tenant, channel_id: int) -> dict[str, str]:
    found = tenant.viewer.get("/api/v1/deliveries",
                              params={"channel": channel_id, "limit": 500}).json()
    return {d["event_id"]: d["status"] for d in found["deliveries"]}


def test_worker_killed_mid_delivery_loses_nothing(
        database_url: str, tenant: Tenant, sink: Sink, tmp_path: Path,
        procs: list[Proc]) -> None:
    sink.delay = 0.3  # slow receiver: the kill lands while deliveries are in flight
    channel = make_channel(tenant.admin, sink.url("/crash"))
    start = seconds_from_now(3600)
    for _ in range(30):
        make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    procs.append(start_worker(database_url, tmp_path, tmp_path / "w1.log"))
    sink.wait_for("/crash", 5, timeout=30)
    procs[0].kill()
    killed_at = len(sink.at("/crash"))
    assert killed_at < 30, "the worker finished before it could be killed"
    procs.append(start_worker(database_url, tmp_path, tmp_path / "w2.log"))
    deadline = time.monotonic() + 40
    while set(_delivered_ids(tenant, channel["id"]).values()) != {"delivered"}:
        assert time.monotonic() < deadline, _delivered_ids(tenant, channel["id"])
        time.sleep(0.2)
    expected = set(_delivered_ids(tenant, channel["id"]))
    received = sink.at("/crash")
    assert len(expected) == 30
    assert {r.webhook_id for r in received} == expected  # nothing lost
    bodies: dict[str, bytes] = {}
    for r in received:  # a repeat is the same message: same id, same body
        assert bodies.setdefault(r.webhook_id, r.body) == r.body


def _write(client: httpx.Client, n: int) -> list[int]:
    response = client.post("/api/v1/windows", json=once_body("crash-write", "service:crash"))
    return [response.json()["id"]] if response.status_code == 201 else []


def test_serve_killed_under_writes_keeps_every_acknowledged_write(
        database_url: str, db: Database, tmp_path: Path, procs: list[Proc]) -> None:
    run = serve_under_writes(database_url, db, tmp_path, procs, [_write] * 4)
    deadline = time.monotonic() + 20
    while len(run.acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.kill()
    assert len(run.acknowledged) >= 40
    with restarted(database_url, tmp_path, procs, run.tenant.keys[Role.VIEWER]) as client:
        missing = missing_windows(client, run.acknowledged)
    assert missing == []
    run.tenant.close()
