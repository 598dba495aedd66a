"""Occurrence and window events reach a real webhook sink once, on time, signed.

Acceptance 1 of issue 4: ``starting_soon``, ``started``, ``ending_soon``, ``ended`` each
arrive once, within 2 s of their instant, with a valid Standard Webhooks signature.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from quietly.core.codec import parse_instant
from quietly.notify import verify
from quietly.storage.db import Database
from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.worker.conftest import (
    fast_config,
    make_channel,
    make_window,
    seconds_from_now,
    settle_leftovers,
)
from tests.worker.sink import Received, Sink

OCCURRENCE_EVENTS = ["occurrence.starting_soon", "occurrence.started",
                     "occurrence.ending_soon", "occurrence.ended"]


def _by_type(received: list[Received]) -> dict[str, list[Received]]:
    out: dict[str, list[Received]] = {}
    for r in received:
        out.setdefault(r.json["type"], []).append(r)
    return out


def _assert_signed(received: list[Received], secret: str) -> None:
    for r in received:
        stamp = int(r.headers["webhook-timestamp"])
        assert abs(stamp - time.time()) < 120
        assert verify(secret, r.webhook_id, stamp, r.body, r.headers["webhook-signature"])
        assert r.json["id"] == r.webhook_id


def _assert_on_time(received: list[Received], slack: float = 2.0) -> None:
    for r in received:
        due = parse_instant(r.json["at"])
        assert timedelta(0) <= r.at - due <= timedelta(seconds=slack), (r.json["type"], r.at,
                                                                         due)
        assert r.json["late"] is False


def test_started_and_ended_arrive_once_on_time_and_signed(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/hook"))
    start = seconds_from_now(4)
    window = make_window(tenant.editor, start, start + timedelta(seconds=2), [channel["id"]],
                         notification_message="DB patching, expect blips")
    sink.wait_for("/hook", 3, timeout=15)
    time.sleep(1.0)  # anything extra (a duplicate) would arrive by now
    got = _by_type(sink.at("/hook"))
    assert sorted(got) == ["occurrence.ended", "occurrence.started", "window.created"]
    assert [len(v) for v in got.values()] == [1, 1, 1]
    events = got["occurrence.started"] + got["occurrence.ended"]
    _assert_on_time(events)
    _assert_signed(sink.at("/hook"), channel["secret"])
    started = got["occurrence.started"][0].json
    assert started["window"]["id"] == window["id"]
    assert started["message"] == "DB patching, expect blips"
    assert started["occurrence"] == {"start": window["schedule"]["start"],
                                     "end": window["schedule"]["end"]}


@pytest.mark.slow
def test_all_four_occurrence_events_with_minute_leads(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    """Leads are whole minutes, so this waits a minute: starting_soon now, then the rest."""
    channel = make_channel(tenant.admin, sink.url("/four"))
    start = seconds_from_now(62)
    make_window(tenant.editor, start, start + timedelta(seconds=3), [channel["id"]],
                notify_start_minutes_before=1, notify_end_minutes_before=1)
    sink.wait_for("/four", 5, timeout=75)
    time.sleep(1.0)
    got = _by_type(sink.at("/four"))
    assert {k: len(v) for k, v in got.items()} == {
        "window.created": 1, **dict.fromkeys(OCCURRENCE_EVENTS, 1)}
    _assert_on_time([r for k in OCCURRENCE_EVENTS for r in got[k]])
    _assert_signed(sink.at("/four"), channel["secret"])


def test_a_window_created_running_announces_its_start_and_its_cancel_ends_it(
        tenant: Tenant, sink: Sink, worker: Worker) -> None:
    channel = make_channel(tenant.admin, sink.url("/now"))
    start = seconds_from_now(-3)
    window = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    sink.wait_for("/now", 2, timeout=10)
    cancelled = tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    got = sink.wait_for("/now", 4, timeout=10)
    time.sleep(0.5)
    got = sink.at("/now")
    assert [r.json["type"] for r in got] == [
        "window.created", "occurrence.started", "window.cancelled", "occurrence.ended"]
    assert got[1].json["occurrence"]["start"] == window["schedule"]["start"]
    assert got[3].json["occurrence"]["end"] == got[2].json["window"]["cancelled_at"]


def test_one_windows_events_go_out_one_after_the_other_other_windows_alongside(
        tenant: Tenant, sink: Sink, db: Database) -> None:
    """A window created running has ``window.created`` and ``occurrence.started`` due
    together, in one claimed batch: they are sent in that order, the second once the first
    was answered; another window's events go out alongside them."""
    sink.delay = 0.3  # each answer takes this long
    channel = make_channel(tenant.admin, sink.url("/order"))
    start = seconds_from_now(-3)
    first = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    second = make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    worker = Worker(db, fast_config(), allow_private=True, tasks=[])
    try:
        worker.tick()  # the jobs, then every due message: both windows' four in one batch
    finally:
        worker.stop()
    got = sink.at("/order")
    of = {w["id"]: [r for r in got if r.json["window"]["id"] == w["id"]]
          for w in (first, second)}
    assert {k: [r.json["type"] for r in v] for k, v in of.items()} == {
        w["id"]: ["window.created", "occurrence.started"] for w in (first, second)}
    for created, started in of.values():
        assert started.at - created.at >= timedelta(seconds=0.25)
    assert abs(of[first["id"]][0].at - of[second["id"]][0].at) < timedelta(seconds=0.25)


def test_the_worker_fixture_leaves_earlier_tests_rows_undelivered(tenant: Tenant,
                                                                   db: Database) -> None:
    """What an earlier test left pending (a channel to example.com) is settled before a
    test's worker starts: that worker sends nothing beyond 127.0.0.1."""
    channel = make_channel(tenant.admin, "https://example.com/hook")
    start = seconds_from_now(3600)
    make_window(tenant.editor, start, start + timedelta(hours=1), [channel["id"]])
    assert settle_leftovers(db) >= 1
    found = tenant.viewer.get("/api/v1/deliveries", params={"channel": channel["id"]})
    assert [d["status"] for d in found.json()["deliveries"]] == ["failed"]
