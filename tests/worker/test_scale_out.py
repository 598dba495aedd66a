"""Scale-out (acceptance 2): two ``serve --no-worker`` and two ``quietly worker`` processes
share the work with no duplicates, and every serve follows changes made through another
within a second (LISTEN/NOTIFY on PostgreSQL; on SQLite, processes sharing the file, the
change feed)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from quietly.storage.db import Database
from tests.conftest import Tenant, make_tenant
from tests.worker.conftest import iso, make_channel, seconds_from_now
from tests.worker.processes import Proc, launch_serve, start_worker, wait_healthy
from tests.worker.sink import Sink

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def cluster(database_url: str, db: Database, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[list[str], list[Proc]]]:
    """Two ``serve --no-worker`` and two ``worker`` processes, started in parallel."""
    tmp = tmp_path_factory.mktemp("cluster")
    procs: list[Proc] = []
    bases: list[str] = []
    try:
        for i in range(2):
            proc, base = launch_serve(database_url, tmp, tmp / f"serve{i}.log")
            procs.append(proc)
            bases.append(base)
        for i in range(2):
            procs.append(start_worker(database_url, tmp, tmp / f"worker{i}.log"))
        for proc, base in zip(procs, bases, strict=False):
            wait_healthy(proc, base)
        yield bases, procs
    finally:
        for proc in procs:
            proc.stop()


def _client(base: str, tenant: Tenant) -> httpx.Client:
    from quietly.core.records import Role
    return httpx.Client(base_url=base, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"})


def _create(client: httpx.Client, i: int, channel_id: int) -> dict[str, Any]:
    start = seconds_from_now(12 + (i % 15))
    body = {"name": f"scale-{i}", "targets": [f"service:s{i}"], "notify_channels": [channel_id],
            "schedule": {"kind": "once", "start": iso(start),
                         "end": iso(start + timedelta(seconds=2))}}
    response = client.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_serves_two_workers_every_event_exactly_once(
        db: Database, cluster: tuple[list[str], list[Proc]], sink: Sink) -> None:
    bases, _ = cluster
    tenant = make_tenant(db, bases[0])
    channel = make_channel(tenant.admin, sink.url("/scale"))
    clients = [_client(base, tenant) for base in bases]
    try:
        with ThreadPoolExecutor(4) as pool:
            windows = list(pool.map(lambda i: _create(clients[i % 2], i, channel["id"]),
                                    range(200)))
    finally:
        for client in clients:
            client.close()
        tenant.close()
    expected = 200 * 3  # window.created, occurrence.started, occurrence.ended
    sink.wait_for("/scale", expected, timeout=45)
    time.sleep(1.5)  # let any duplicate show up
    received = sink.at("/scale")
    ids = Counter(r.webhook_id for r in received)
    assert [i for i, n in ids.items() if n > 1] == []
    assert len(ids) == expected
    kinds = Counter(r.json["type"] for r in received)
    assert kinds == {"window.created": 200, "occurrence.started": 200,
                     "occurrence.ended": 200}
    assert {r.json["window"]["id"] for r in received} == {w["id"] for w in windows}


def test_a_change_through_one_serve_reaches_the_other_within_a_second(
        db: Database, cluster: tuple[list[str], list[Proc]]) -> None:
    bases, _ = cluster
    tenant = make_tenant(db, bases[0])
    a, b = (_client(base, tenant) for base in bases)
    try:
        _follow(a, b)
    finally:
        a.close()
        b.close()
        tenant.close()


def _follow(a: httpx.Client, b: httpx.Client) -> None:
    target = f"service:x{uuid.uuid4().hex[:8]}"
    assert b.get("/api/v1/decide", params={"target": target}).json()["verdict"] == "deliver"
    made = a.post("/api/v1/maintenance/start", json={"targets": [target],
                                                     "duration": "PT10M"})
    assert made.status_code == 201, made.text
    written = time.monotonic()
    while b.get("/api/v1/decide", params={"target": target}).json()["verdict"] != "mute":
        assert time.monotonic() - written < 1.0, "serve B did not follow within 1 s"
        time.sleep(0.02)
    cancelled = a.post(f"/api/v1/windows/{made.json()['id']}/cancel")
    assert cancelled.status_code == 200
    written = time.monotonic()
    while b.get("/api/v1/decide", params={"target": target}).json()["verdict"] != "deliver":
        assert time.monotonic() - written < 1.0, "serve B did not follow the cancel in 1 s"
        time.sleep(0.02)
    group = f"g{uuid.uuid4().hex[:8]}"
    member = f"host:{uuid.uuid4().hex[:8]}"
    assert a.put(f"/api/v1/groups/{group}", json={"targets": []}).status_code == 201
    made = a.post("/api/v1/windows", json={
        "name": "by group", "groups": [group],
        "schedule": {"kind": "once", "start": iso(seconds_from_now(-60)),
                     "end": iso(seconds_from_now(600))}})
    assert made.status_code == 201, made.text
    assert a.put(f"/api/v1/groups/{group}", json={"targets": [member]}).status_code == 200
    written = time.monotonic()
    while b.get("/api/v1/decide", params={"target": member}).json()["verdict"] != "mute":
        assert time.monotonic() - written < 1.0, "serve B did not follow the group change"
        time.sleep(0.02)
