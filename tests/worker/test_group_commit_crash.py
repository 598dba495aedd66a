"""Group commit under SIGKILL (issue #19): a real ``quietly serve`` killed while eight
clients create windows (single creates and batches, committed in groups) keeps every window
it answered 201 for — no write is acknowledged before its commit."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.worker.conftest import (
    iso,
    missing_windows,
    once_body,
    restarted,
    seconds_from_now,
    serve_under_writes,
)
from tests.worker.processes import Proc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _single(client: httpx.Client, n: int) -> list[int]:
    response = client.post("/api/v1/windows", json=once_body(f"grouped-{n}",
                                                             f"service:grouped-{n}"))
    return [response.json()["id"]] if response.status_code == 201 else []


def _batch(client: httpx.Client, n: int) -> list[int]:
    """Ten windows through the batch endpoint."""
    response = client.post("/api/v1/windows/batch", json={"windows": [
        once_body(f"grouped-{n * 100 + k}", f"service:grouped-{n * 100 + k}")
        for k in range(10)]})
    ids: list[int] = response.json()["ids"] if response.status_code == 201 else []
    return ids


def _grouped(base: str) -> tuple[float, float]:
    """(commits, writes) of the group-commit writer, from /metrics."""
    text = httpx.get(base + "/metrics", timeout=5).text

    def value(name: str) -> float:
        found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    return value("quietly_group_commits_total"), value("quietly_group_commit_writes_total")


def test_serve_killed_under_grouped_writes_keeps_every_acknowledged_write(
        database_url: str, db: Database, tmp_path: Path, procs: list[Proc]) -> None:
    run = serve_under_writes(database_url, db, tmp_path, procs, [_batch] * 2 + [_single] * 6)
    base = run.tenant.base_url
    deadline = time.monotonic() + 40
    commits = writes = 0.0
    while time.monotonic() < deadline:  # until groups of several writes were committed
        commits, writes = _grouped(base)
        if len(run.acknowledged) >= 100 and writes > commits + 5:
            break
        time.sleep(0.1)
    run.kill()
    assert (len(run.acknowledged) >= 100, writes > commits + 5) == (True, True), (
        len(run.acknowledged), commits, writes)
    with restarted(database_url, tmp_path, procs, run.tenant.keys[Role.VIEWER]) as client:
        missing = missing_windows(client, run.acknowledged)
        decided = client.get("/api/v1/decide", params={
            "target": "service:grouped-1", "at": iso(seconds_from_now(3700))}).json()
    assert (missing, decided["verdict"]) == ([], "mute")
    run.tenant.close()
