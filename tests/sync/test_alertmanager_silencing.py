"""Acceptance 1 and 2 against a real Alertmanager 0.25: windows become silences that
Alertmanager reports in ``silencedBy`` for matching alerts only, and every change of a window
or group is reflected (polled with a deadline; the worker acts within its 0.1 s poll)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quietly.sync.alertmanager.adapter import parse_time
from quietly.worker.runner import Worker
from tests.conftest import Tenant
from tests.sync.amserver import Alertmanager, eventually
from tests.sync.conftest import iso, make_sync, make_window, now, unique

pytestmark = pytest.mark.usefixtures("sync_worker")


def silenced(am: Alertmanager, labels: dict[str, str]) -> list[str] | None:
    return am.silenced_by(labels)


def check_silencing(am: Alertmanager, hit: list[dict[str, str]],
                    miss: list[dict[str, str]]) -> None:
    for labels in hit + miss:
        am.post_alert(labels)
    eventually(lambda: all(silenced(am, labels) for labels in hit), what="silenced")
    assert [silenced(am, labels) for labels in miss] == [[] for _ in miss]


def test_condition_group_silences_matching_alerts_only(tenant: Tenant,
                                                       am: Alertmanager) -> None:
    sync = make_sync(tenant, am)
    name = unique()
    make_window(tenant, match=[[{"label": "alertname", "op": "=", "value": name},
                                {"label": "env", "op": "=", "value": "prod"}]])
    check_silencing(am, [{"alertname": name, "env": "prod"}],
                    [{"alertname": name, "env": "dev"}, {"alertname": name}])
    silence = am.live(sync["id"])[0]
    assert (silence["createdBy"], "http://quietly.test/windows/" in silence["comment"]) == (
        "quietly", True)


def test_targets_of_one_kind_are_one_silence(tenant: Tenant, am: Alertmanager) -> None:
    sync = make_sync(tenant, am)
    a, b, c = unique("svc"), unique("svc"), unique("svc")
    make_window(tenant, targets=[f"service:{a}", f"service:{b}"])
    check_silencing(am, [{"alertname": "x", "service": a}, {"alertname": "x", "service": b}],
                    [{"alertname": "x", "service": c}])
    assert len(am.live(sync["id"])) == 1


def test_group_membership_change_resyncs(tenant: Tenant, am: Alertmanager) -> None:
    sync = make_sync(tenant, am)
    a, b = unique("svc"), unique("svc")
    group = unique("g")
    assert tenant.editor.post("/api/v1/groups", json={"name": group,
                                                      "targets": [f"service:{a}"]}
                              ).status_code == 201
    make_window(tenant, groups=[group])
    check_silencing(am, [{"alertname": "g", "service": a}], [{"alertname": "g", "service": b}])
    assert tenant.editor.put(f"/api/v1/groups/{group}", json={
        "targets": [f"service:{a}", f"service:{b}"]}).status_code == 200
    eventually(lambda: silenced(am, {"alertname": "g", "service": b}), what="member silenced")
    assert len(am.live(sync["id"])) == 1


def test_or_of_two_condition_groups_is_two_silences(tenant: Tenant, am: Alertmanager) -> None:
    sync = make_sync(tenant, am)
    name = unique()
    make_window(tenant, match=[[{"label": "alertname", "op": "=", "value": name},
                                {"label": "team", "op": "=", "value": "db"}],
                               [{"label": "alertname", "op": "=", "value": name},
                                {"label": "team", "op": "=", "value": "web"}]])
    check_silencing(am, [{"alertname": name, "team": "db"}, {"alertname": name, "team": "web"}],
                    [{"alertname": name, "team": "ops"}])
    assert len(am.live(sync["id"])) == 2


def test_one_of_and_regex(tenant: Tenant, am: Alertmanager) -> None:
    make_sync(tenant, am)
    name = unique()
    make_window(tenant, match=[[{"label": "alertname", "op": "=", "value": name},
                                {"label": "zone", "op": "one_of", "values": ["eu.1", "us|2"]},
                                {"label": "host", "op": "=~", "value": "db-[0-9]+"}]])
    check_silencing(am, [{"alertname": name, "zone": "eu.1", "host": "db-1"},
                         {"alertname": name, "zone": "us|2", "host": "db-22"}],
                    [{"alertname": name, "zone": "eux1", "host": "db-1"},
                     {"alertname": name, "zone": "eu.1", "host": "xdb-1"}])


def _ends(am: Alertmanager, sync_id: int) -> list[str]:
    return sorted(s["endsAt"] for s in am.live(sync_id))


def _patch_end(tenant: Tenant, window: dict[str, Any], minutes: float) -> str:
    schedule = dict(window["schedule"])
    end = parse_time(schedule["start"]) + timedelta(minutes=minutes)
    schedule["end"] = iso(end)
    response = tenant.editor.patch(f"/api/v1/windows/{window['id']}",
                                   json={"schedule": schedule})
    assert response.status_code == 200, response.text
    return iso(end - timedelta(milliseconds=1)).replace("Z", "")


@pytest.mark.parametrize("minutes", [120, 30], ids=["extend", "shorten"])
def test_extend_and_shorten_move_the_end(tenant: Tenant, am: Alertmanager,
                                         minutes: int) -> None:
    sync = make_sync(tenant, am)
    window = make_window(tenant, minutes=61, targets=[f"service:{unique()}"])
    eventually(lambda: am.live(sync["id"]), what="silence")
    wanted = _patch_end(tenant, window, minutes)
    found = eventually(lambda: [e for e in _ends(am, sync["id"])
                                if parse_time(e) == parse_time(wanted + "Z")],
                       what="new end")
    assert (len(found), len(am.live(sync["id"]))) == (1, 1)


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_cancel_and_delete_expire_the_silence(tenant: Tenant, am: Alertmanager,
                                              how: str) -> None:
    sync = make_sync(tenant, am)
    window = make_window(tenant, targets=[f"service:{unique()}"])
    eventually(lambda: am.live(sync["id"]), what="silence")
    if how == "cancel":
        assert tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel").status_code == 200
    else:
        assert tenant.editor.delete(f"/api/v1/windows/{window['id']}").status_code == 204
    eventually(lambda: not am.live(sync["id"]), what="silence expired")


def test_edit_matchers_replaces_the_silence(tenant: Tenant, am: Alertmanager) -> None:
    """A window starting within the lead is a pending silence; its matchers may change."""
    sync = make_sync(tenant, am, lead="2h")
    a, b = unique("svc"), unique("svc")
    window = make_window(tenant, start_in=30, targets=[f"service:{a}"])
    first = eventually(lambda: am.live(sync["id"]), what="pending silence")
    assert first[0]["status"]["state"] == "pending"
    response = tenant.editor.patch(f"/api/v1/windows/{window['id']}",
                                   json={"targets": [f"service:{b}"]})
    assert response.status_code == 200, response.text
    replaced = eventually(lambda: [s for s in am.live(sync["id"])
                                   if s["matchers"][0]["value"] == b], what="new matchers")
    assert ([s["id"] for s in am.live(sync["id"])], replaced[0]["id"] != first[0]["id"]) == (
        [replaced[0]["id"]], True)


def test_recurring_window_keeps_running_and_lead_occurrences(tenant: Tenant,
                                                             am: Alertmanager) -> None:
    """Every minute for 20 s, lead 90 s: the silences are exactly the occurrences running or
    starting within 90 s, and a later one appears as it comes within the lead."""
    sync = make_sync(tenant, am, lead="90s")
    make_window(tenant, targets=[f"service:{unique()}"],
                schedule={"kind": "recurring", "timezone": "UTC", "cron": "* * * * *",
                          "duration": "PT20S"})

    def starts() -> list[str]:
        return sorted(s["comment"].split(" o=")[1].split()[0] for s in am.live(sync["id"]))

    first = eventually(starts, what="silences")
    assert 1 <= len(first) <= 3
    for start in first:  # each is running or starts within the lead
        assert parse_time(start) < now() + timedelta(seconds=91)
    later = eventually(lambda: [s for s in starts() if s > first[-1]], timeout=75,
                       what="a later occurrence within the lead")
    assert len(later) >= 1


def test_someone_elses_silence_is_never_touched(tenant: Tenant, am: Alertmanager,
                                                sync_worker: Worker) -> None:
    sync = make_sync(tenant, am)
    target = unique("svc")
    ends = iso(now() + timedelta(hours=1))
    same = [{"name": "service", "value": target, "isRegex": False, "isEqual": True}]
    theirs = am.add_silence(same, ends, comment="by hand, no tag")
    lookalike = am.add_silence(same, ends, comment="quietly-sync ws=1 s=999999 w=1 "
                                                   "o=2026-01-01T00:00:00Z m=0123456789abcdef")
    window = make_window(tenant, targets=[f"service:{target}"])
    eventually(lambda: am.live(sync["id"]), what="our silence")
    tenant.editor.delete(f"/api/v1/windows/{window['id']}")
    eventually(lambda: not am.live(sync["id"]), what="ours expired")
    states = {s["id"]: (s["status"]["state"], s["endsAt"]) for s in am.silences()}
    assert [states[theirs][0], states[lookalike][0]] == ["active", "active"]
