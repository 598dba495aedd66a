"""Group commit under SIGKILL (issue #19): a real ``quietly serve`` killed while eight
clients create windows (single creates and batches, committed in groups) keeps every window
it answered 201 for — no write is acknowledged before its commit."""

from __future__ import annotations

import re
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
from tests.conftest import make_tenant
from tests.worker.conftest import iso, seconds_from_now
from tests.worker.processes import Proc, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def _window(i: int) -> dict[str, Any]:
    start = seconds_from_now(3600)
    return {"name": f"grouped-{i}", "targets": [f"service:grouped-{i}"],
            "schedule": {"kind": "once", "start": iso(start),
                         "end": iso(start + timedelta(hours=1))}}


def _writer(base: str, key: str, batch: int, acknowledged: list[int],
            stop: threading.Event) -> None:
    """Create windows until stopped (``batch`` > 1: through the batch endpoint)."""
    n = 0
    with httpx.Client(base_url=base, timeout=5,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        while not stop.is_set():
            n += 1
            try:
                if batch > 1:
                    response = client.post("/api/v1/windows/batch", json={
                        "windows": [_window(n * 100 + k) for k in range(batch)]})
                    ids = response.json()["ids"] if response.status_code == 201 else []
                else:
                    response = client.post("/api/v1/windows", json=_window(n))
                    ids = [response.json()["id"]] if response.status_code == 201 else []
            except (httpx.HTTPError, ValueError):
                return  # the server is gone
            acknowledged.extend(ids)


def _grouped(base: str) -> tuple[float, float]:
    """(commits, writes) of the group-commit writer, from /metrics."""
    text = httpx.get(base + "/metrics", timeout=5).text

    def value(name: str) -> float:
        found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    return value("quietly_group_commits_total"), value("quietly_group_commit_writes_total")


def test_serve_killed_under_grouped_writes_keeps_every_acknowledged_write(
        database_url: str, db: Database, tmp_path: Path, procs: list[Proc]) -> None:
    proc, base = start_serve(database_url, tmp_path, tmp_path / "s1.log")
    procs.append(proc)
    tenant = make_tenant(db, base)
    acknowledged: list[int] = []
    stop = threading.Event()
    key = tenant.keys[Role.EDITOR]
    writers = [threading.Thread(target=_writer, args=(base, key, 10 if i < 2 else 1,
                                                      acknowledged, stop))
               for i in range(8)]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 40
    commits = writes = 0.0
    while time.monotonic() < deadline:  # until groups of several writes were committed
        commits, writes = _grouped(base)
        if len(acknowledged) >= 100 and writes > commits + 5:
            break
        time.sleep(0.1)
    proc.kill()  # SIGKILL while the writers are still writing
    stop.set()
    for thread in writers:
        thread.join(timeout=10)
    assert (len(acknowledged) >= 100, writes > commits + 5) == (True, True), (
        len(acknowledged), commits, writes)
    proc2, base2 = start_serve(database_url, tmp_path, tmp_path / "s2.log")
    procs.append(proc2)
    with httpx.Client(base_url=base2, timeout=10, headers={
            "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"}) as client:
        missing = [i for i in acknowledged
                   if client.get(f"/api/v1/windows/{i}").status_code != 200]
        decided = client.get("/api/v1/decide", params={
            "target": "service:grouped-1", "at": iso(seconds_from_now(3700))}).json()
    assert (missing, decided["verdict"]) == ([], "mute")
    tenant.close()
