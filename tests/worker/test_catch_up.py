"""Catch-up after the worker was down (acceptance 4): missed events arrive once, late; events
later than the allowed age are recorded as skipped, not sent."""

from __future__ import annotations

import time
from datetime import timedelta

from quietly.storage.db import Database
from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.worker.conftest import fast_config, make_channel, make_window, seconds_from_now
from tests.worker.sink import Sink


def test_events_missed_while_down_arrive_once_marked_late(
        db: Database, tenant: Tenant, sink: Sink) -> None:
    channel = make_channel(tenant.admin, sink.url("/late"))
    start = seconds_from_now(1)
    window = make_window(tenant.editor, start, start + timedelta(seconds=1), [channel["id"]])
    time.sleep(3.5)  # start and end pass with no worker running
    worker = Worker(db, fast_config(late_after_seconds=1.0), allow_private=True, tasks=[])
    worker.start()
    try:
        sink.wait_for("/late", 3, timeout=10)
        time.sleep(1.0)
    finally:
        worker.stop()
    second = Worker(db, fast_config(late_after_seconds=1.0), allow_private=True, tasks=[])
    second.tick()  # a restart finds nothing left to send
    second.stop()
    got = {r.json["type"]: r.json for r in sink.at("/late")}
    assert len(sink.at("/late")) == 3
    assert got["occurrence.started"]["late"] is True
    assert got["occurrence.ended"]["late"] is True
    assert got["window.created"]["late"] is False
    assert got["occurrence.started"]["window"]["id"] == window["id"]


def test_events_older_than_the_limit_are_recorded_as_skipped(
        db: Database, tenant: Tenant, sink: Sink) -> None:
    channel = make_channel(tenant.admin, sink.url("/old"))
    start = seconds_from_now(1)
    window = make_window(tenant.editor, start, start + timedelta(seconds=1), [channel["id"]])
    time.sleep(4.0)
    worker = Worker(db, fast_config(late_after_seconds=0.5, skip_after_seconds=1.5),
                    allow_private=True, tasks=[])
    worker.tick()
    worker.stop()
    assert [r.json["type"] for r in sink.at("/old")] == ["window.created"]
    log = tenant.viewer.get("/api/v1/deliveries", params={"window": window["id"]}).json()
    by_type = {d["type"]: d for d in log["deliveries"]}
    assert by_type["occurrence.started"]["status"] == "skipped"
    assert by_type["occurrence.ended"]["status"] == "skipped"
    assert "recorded, not sent" in by_type["occurrence.ended"]["last_error"]
    assert by_type["window.created"]["status"] == "delivered"
