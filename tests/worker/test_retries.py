"""Retries with backoff, and giving up (acceptance 5), on a short schedule.

``window.created`` is enqueued in the creating transaction, so creating a window with a
channel is the quickest way to put one message in the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quietly.storage.db import Database
from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.worker.conftest import fast_config, make_channel, make_window, seconds_from_now
from tests.worker.sink import Sink


@pytest.fixture
def short_worker(db: Database) -> Iterator[Worker]:
    made = Worker(db, fast_config(retry_for_seconds=2.0, backoff_base_seconds=0.2,
                                  backoff_cap_seconds=0.5), allow_private=True, tasks=[])
    made.start()
    yield made
    made.stop()


def _deliveries(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = tenant.viewer.get("/api/v1/deliveries", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def _wait_status(tenant: Tenant, window_id: int, status: str, timeout: float
                 ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = _deliveries(tenant, window=window_id)
        if found and found[0]["status"] == status:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"not {status}: {found}")
        time.sleep(0.1)


def test_a_500_then_200_is_delivered_on_retry_with_the_same_id(
        tenant: Tenant, sink: Sink, short_worker: Worker) -> None:
    sink.statuses["/flaky"] = [500, 200]
    channel = make_channel(tenant.admin, sink.url("/flaky"))
    start = seconds_from_now(3600)
    window = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    delivery = _wait_status(tenant, window["id"], "delivered", timeout=10)
    received = sink.at("/flaky")
    assert [r.json["type"] for r in received] == ["window.created", "window.created"]
    assert received[0].webhook_id == received[1].webhook_id == delivery["event_id"]
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["error"].startswith("HTTP 500")
    assert delivery["attempt_count"] == 2
    assert delivery["delivered_at"] is not None
    assert delivery["next_attempt_at"] is None


def test_a_sink_that_never_answers_well_ends_failed(
        tenant: Tenant, sink: Sink, short_worker: Worker) -> None:
    sink.statuses["/down"] = [503]
    channel = make_channel(tenant.admin, sink.url("/down"))
    start = seconds_from_now(3600)
    window = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    delivery = _wait_status(tenant, window["id"], "failed", timeout=15)
    codes = [a["status_code"] for a in delivery["attempts"]]
    assert len(codes) >= 3
    assert set(codes) == {503}
    assert delivery["last_status_code"] == 503
    assert delivery["next_attempt_at"] is None
    count = len(sink.at("/down"))
    time.sleep(1.0)
    assert len(sink.at("/down")) == count  # no attempt after failing
    assert _deliveries(tenant, channel=channel["id"], status="failed")[0]["id"] == \
        delivery["id"]


def test_a_client_error_fails_at_once(tenant: Tenant, sink: Sink,
                                      short_worker: Worker) -> None:
    sink.statuses["/gone"] = [410]
    channel = make_channel(tenant.admin, sink.url("/gone"))
    start = seconds_from_now(3600)
    window = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    delivery = _wait_status(tenant, window["id"], "failed", timeout=10)
    assert [a["status_code"] for a in delivery["attempts"]] == [410]


def test_a_redirect_is_not_followed(tenant: Tenant, sink: Sink,
                                    short_worker: Worker) -> None:
    sink.statuses["/moved"] = [302]
    channel = make_channel(tenant.admin, sink.url("/moved"))
    start = seconds_from_now(3600)
    window = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    delivery = _wait_status(tenant, window["id"], "failed", timeout=10)
    assert "redirects are not followed" in delivery["last_error"]
    assert len(sink.at("/moved")) == 1
