"""Sync fixtures: a real Alertmanager per module, an in-process worker with short timings,
real ``quietly serve``/``worker`` subprocesses (``procs``, killed at the end) with short sync
leases (``sync_env``), and helpers to make syncs and windows through the API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quietly.storage.db import Database
from quietly.sync.runner import RunSettings
from quietly.worker.config import WorkerConfig
from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.sync.amserver import Alertmanager
from tests.sync.icinga_harness import Icinga, IcingaPair
from tests.worker.conftest import procs

__all__ = ["procs"]  # a fixture: subprocesses a test starts, SIGKILLed at its end

# for subprocesses: a killed process's sync is taken over after 3 s
SYNC_ENV = {"QUIETLY_WORKER_SYNC_LEASE_SECONDS": "3",
            "QUIETLY_WORKER_SYNC_POLL_SECONDS": "0.1"}
FAST = {"poll_seconds": 0.2, "delivery_poll_seconds": 0.2, "sync_poll_seconds": 0.1,
        "sync_lease_seconds": 5.0, "http_timeout_seconds": 3.0}


@pytest.fixture(scope="module")
def am() -> Iterator[Alertmanager]:
    made = Alertmanager().start()
    yield made
    made.close()


@pytest.fixture
def sync_worker(db: Database) -> Iterator[Worker]:
    made = Worker(db, WorkerConfig(**FAST), allow_private=True, tasks=[],  # type: ignore[arg-type]
                  sync_settings=RunSettings(worker_id="", allow_private=True,
                                            public_url="http://quietly.test"))
    made.start()
    yield made
    made.stop()


@pytest.fixture
def sync_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in SYNC_ENV}
    os.environ.update(SYNC_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_CREATED: list[tuple[Tenant, int]] = []


@pytest.fixture(autouse=True)
def _delete_syncs() -> Iterator[None]:
    """Each test's syncs go when it ends: a sync left pointing at a stopped Alertmanager
    would keep failing (and logging) through the rest of the session."""
    yield
    while _CREATED:
        tenant, sync_id = _CREATED.pop()
        tenant.admin.delete(f"/api/v1/syncs/{sync_id}")
        tenant.close()


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def make_sync(tenant: Tenant, am: Alertmanager, **extra: Any) -> dict[str, Any]:
    # An hour: what happens within the test is driven by the change marks, not the interval
    # (tests of drift repair pass interval="1s").
    body = {"name": "am-" + uuid.uuid4().hex[:6], "url": am.url, "interval": "1h",
            "target_labels": {"service": "service", "host": "instance"}, **extra}
    response = tenant.admin.post("/api/v1/syncs", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    _CREATED.append((tenant, int(result["id"])))
    return result


def make_window(tenant: Tenant, *, minutes: float = 60, start_in: float = -1,
                **extra: Any) -> dict[str, Any]:
    start = now() + timedelta(minutes=start_in)
    body = {"name": "w-" + uuid.uuid4().hex[:6],
            "schedule": {"kind": "once", "start": iso(start),
                         "end": iso(start + timedelta(minutes=minutes))}, **extra}
    response = tenant.editor.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def unique(prefix: str = "a") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_icinga_sync(tenant: Tenant, icinga: Icinga | IcingaPair, **extra: Any
                     ) -> dict[str, Any]:
    """An ``icinga2`` sync of the daemon (or zone), verified with its CA; deleted at the end
    of the test. ``interval`` is an hour unless given: within a test only change marks
    (and explicit ``interval="1s"`` for drift repair) drive runs."""
    body = {"type": "icinga2", "name": "icinga-" + uuid.uuid4().hex[:6],
            "url": icinga.url if isinstance(icinga, Icinga) else icinga.first.url,
            "basic_auth": {"username": icinga.username, "password": icinga.password},
            "ca_file": str(icinga.ca_file), "interval": "1h", **extra}
    response = tenant.admin.post("/api/v1/syncs", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    _CREATED.append((tenant, int(result["id"])))
    return result


def sync_status(tenant: Tenant, sync_id: int) -> dict[str, Any]:
    response = tenant.admin.get(f"/api/v1/syncs/{sync_id}/status")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found
