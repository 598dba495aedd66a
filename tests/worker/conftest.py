"""Worker fixtures: a webhook sink, an in-process worker with short timings, helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from quietly.storage.db import Database
from quietly.worker.config import WorkerConfig
from quietly.worker.runner import Worker
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


@pytest.fixture
def worker(db: Database) -> Iterator[Worker]:
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
