"""SIGKILL (acceptance 3): a worker killed mid-delivery loses no event, and a repeat carries
the same ``webhook-id``; a ``serve`` killed under a stream of writes keeps every write it
answered 201."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.conftest import Tenant, make_tenant
from tests.worker.conftest import iso, make_channel, make_window, seconds_from_now
from tests.worker.processes import Proc, start_serve, start_worker
from tests.worker.sink import Sink

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


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


def _writer(base: str, key: str, acknowledged: list[int], stop: threading.Event) -> None:
    start = seconds_from_now(3600)
    body: dict[str, Any] = {"name": "crash-write", "targets": ["service:crash"],
                            "schedule": {"kind": "once", "start": iso(start),
                                         "end": iso(start + timedelta(hours=1))}}
    with httpx.Client(base_url=base, timeout=5,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        while not stop.is_set():
            try:
                response = client.post("/api/v1/windows", json=body)
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])


def test_serve_killed_under_writes_keeps_every_acknowledged_write(
        database_url: str, db: Database, tmp_path: Path, procs: list[Proc]) -> None:
    proc, base = start_serve(database_url, tmp_path, tmp_path / "s1.log")
    procs.append(proc)
    tenant = make_tenant(db, base)
    acknowledged: list[int] = []
    stop = threading.Event()
    writers = [threading.Thread(target=_writer, args=(base, tenant.keys[Role.EDITOR],
                                                      acknowledged, stop))
               for _ in range(4)]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()  # SIGKILL while the writers are still writing
    stop.set()
    for thread in writers:
        thread.join(timeout=10)
    assert len(acknowledged) >= 40
    proc2, base2 = start_serve(database_url, tmp_path, tmp_path / "s2.log")
    procs.append(proc2)
    with httpx.Client(base_url=base2, timeout=10, headers={
            "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"}) as client:
        missing = [i for i in acknowledged
                   if client.get(f"/api/v1/windows/{i}").status_code != 200]
    assert missing == []
    tenant.close()
