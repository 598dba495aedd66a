"""Worker fixtures: a webhook sink, an in-process worker with short timings, helpers; and for
the SIGKILL tests, the processes to kill, writers that keep what was acknowledged, and a
restarted server to look for it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import text

from quietly.core.records import Role
from quietly.storage.db import Database
from quietly.worker.config import WorkerConfig
from quietly.worker.runner import Worker
from tests.conftest import Tenant, make_tenant
from tests.worker.processes import Proc, start_serve
from tests.worker.sink import Sink

FAST = {"poll_seconds": 0.2, "delivery_poll_seconds": 0.1, "lease_seconds": 5.0,
        "backoff_base_seconds": 0.2, "backoff_cap_seconds": 1.0,
        "http_timeout_seconds": 3.0, "late_after_seconds": 5.0,
        "retry_for_seconds": 20.0}


def fast_config(**overrides: Any) -> WorkerConfig:
    return WorkerConfig(**{**FAST, **overrides})


@pytest.fixture
def sink() -> Iterator[Sink]:
    made = Sink().start()
    yield made
    made.stop()


def settle_leftovers(db: Database) -> int:
    """Mark failed what earlier tests left pending in the shared store's outbox (their
    channels name hosts such as example.com; nothing delivered them): a worker started now
    must send only its own test's events, and only to 127.0.0.1. (Before, such a worker
    also resolved and tried those hosts; on a host whose resolver is slow that held up its
    own test's deliveries past their two seconds.) Returns how many were settled."""
    with db.transaction() as session:
        settled = session.execute(text(
            "UPDATE outbox SET status = 'failed', last_error = 'left by an earlier test' "
            "WHERE status = 'pending'"))
        return int(settled.rowcount)  # type: ignore[attr-defined]


@pytest.fixture
def worker(db: Database) -> Iterator[Worker]:
    settle_leftovers(db)
    made = Worker(db, fast_config(), allow_private=True, tasks=[])
    made.start()
    yield made
    made.stop()


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_channel(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "ch-" + uuid.uuid4().hex[:8], "type": "webhook", "url": url, **extra}
    response = client.post("/api/v1/channels", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def make_window(client: httpx.Client, start: datetime, end: datetime, channels: list[Any],
                **extra: Any) -> dict[str, Any]:
    body = {"name": "w-" + uuid.uuid4().hex[:8], "targets": ["service:worker-test"],
            "schedule": {"kind": "once", "start": iso(start), "end": iso(end)},
            "notify_channels": channels, **extra}
    response = client.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def seconds_from_now(seconds: float) -> datetime:
    return (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test started; killed when it ends, whatever happened."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


def once_body(name: str, target: str) -> dict[str, Any]:
    """A one-time window on ``target`` an hour from now, for an hour."""
    start = seconds_from_now(3600)
    return {"name": name, "targets": [target],
            "schedule": {"kind": "once", "start": iso(start),
                         "end": iso(start + timedelta(hours=1))}}


# One write of a writer: its ``n``-th request through the client; the ids acknowledged.
Write = Callable[[httpx.Client, int], list[int]]


def start_writers(base: str, key: str, writes: list[Write], acknowledged: list[int],
                  stop: threading.Event) -> list[threading.Thread]:
    """One thread per entry of ``writes``, each writing with ``key`` until ``stop`` is set or
    the server is gone, adding every acknowledged id to ``acknowledged``."""

    def run(write: Write) -> None:
        n = 0
        with httpx.Client(base_url=base, timeout=5,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            while not stop.is_set():
                n += 1
                try:
                    ids = write(client, n)
                except (httpx.HTTPError, ValueError):
                    return  # the server is gone
                acknowledged.extend(ids)

    threads = [threading.Thread(target=run, args=(write,)) for write in writes]
    for thread in threads:
        thread.start()
    return threads


@dataclass
class UnderWrites:
    """A ``quietly serve`` process, a tenant on it, and writers creating windows there."""

    proc: Proc
    tenant: Tenant
    acknowledged: list[int]
    stop: threading.Event
    writers: list[threading.Thread]

    def kill(self) -> None:
        """SIGKILL the server while the writers are still writing, then stop them."""
        self.proc.kill()
        self.stop.set()
        for thread in self.writers:
            thread.join(timeout=10)


def serve_under_writes(database_url: str, db: Database, tmp_path: Path, procs: list[Proc],
                       writes: list[Write]) -> UnderWrites:
    """Start ``quietly serve`` and one writer per entry of ``writes`` with an editor key."""
    proc, base = start_serve(database_url, tmp_path, tmp_path / "s1.log")
    procs.append(proc)
    tenant = make_tenant(db, base)
    acknowledged: list[int] = []
    stop = threading.Event()
    writers = start_writers(base, tenant.keys[Role.EDITOR], writes, acknowledged, stop)
    return UnderWrites(proc, tenant, acknowledged, stop, writers)


@contextmanager
def restarted(database_url: str, tmp_path: Path, procs: list[Proc], key: str
              ) -> Iterator[httpx.Client]:
    """A new ``quietly serve`` over the same store, and a client with ``key`` for it."""
    proc, base = start_serve(database_url, tmp_path, tmp_path / "s2.log")
    procs.append(proc)
    with httpx.Client(base_url=base, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def missing_windows(client: httpx.Client, ids: list[int]) -> list[int]:
    """The ids of ``ids`` that are not (or no longer) windows the client can read."""
    return [i for i in ids if client.get(f"/api/v1/windows/{i}").status_code != 200]
