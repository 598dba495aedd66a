"""Decisions, lists, groups and immediate maintenance end to end."""

from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import active_body, iso, now, once, window_body
from tests.conftest import Tenant


def _verdict(tenant: Tenant, query: str) -> tuple[str, list[int]]:
    body = tenant.viewer.get(f"/api/v1/decide?{query}").json()
    return body["verdict"], body["windows"]


def test_strongest_effect_wins_and_every_window_is_listed(tenant: Tenant) -> None:
    mute = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:a"])).json()
    drop_body = {**active_body(targets=["service:a"]), "effects": ["drop"]}
    drop = tenant.editor.post("/api/v1/windows", json=drop_body).json()
    assert _verdict(tenant, "target=service:a") == ("drop", sorted([mute["id"], drop["id"]]))


def test_label_matchers_follow_alertmanager_semantics(tenant: Tenant) -> None:
    body = {**active_body(targets=[]), "match": [
        [{"label": "env", "op": "=", "value": "prod"},
         {"label": "service", "op": "=~", "value": "db-.*"}],
        [{"label": "team", "op": "one_of", "values": ["sre", "dba"]}]]}
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    cases = {
        "label.env=prod&label.service=db-main": ("mute", [window["id"]]),
        "label.env=prod&label.service=xdb-main": ("deliver", []),  # regex is anchored
        "label.env=dev&label.service=db-main": ("deliver", []),
        "label.team=dba": ("mute", [window["id"]]),
        "label.team=web": ("deliver", []),
    }
    assert {q: _verdict(tenant, q) for q in cases} == cases


def test_what_if_at_any_instant_is_bounded_by_starts_on(tenant: Tenant) -> None:
    body = window_body(targets=["service:w"], schedule={
        "kind": "recurring", "timezone": "Europe/Berlin", "every": "daily",
        "start_time": "02:00", "end_time": "03:00", "starts_on": "2026-01-10"})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    cases = {
        "2026-01-09T01:30:00Z": ("deliver", []),            # before starts_on
        "2026-01-10T01:30:00Z": ("mute", [window["id"]]),   # 02:30 CET on the first day
        "2026-07-10T00:30:00Z": ("mute", [window["id"]]),   # 02:30 CEST
        "2026-07-10T01:30:00Z": ("deliver", []),            # 03:30 CEST: ended
    }
    found = {at: _verdict(tenant, f"target=service:w&at={at}") for at in cases}
    assert found == cases


def test_group_membership_is_read_at_decision_time(tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/groups", json={"name": "web-tier", "targets": ["host:web1"]})
    window = tenant.editor.post("/api/v1/windows", json={
        **active_body(targets=[]), "groups": ["web-tier"]}).json()
    before = _verdict(tenant, "target=host:web2")
    tenant.editor.put("/api/v1/groups/web-tier", json={"targets": ["host:web1", "host:web2"]})
    after = _verdict(tenant, "target=host:web2")
    in_use = tenant.editor.delete("/api/v1/groups/web-tier")
    assert (before, after, in_use.status_code) == (("deliver", []), ("mute", [window["id"]]),
                                                    409)


def test_batch_decisions_at_one_instant(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:b"]))
    later = iso(now() + timedelta(days=1))
    response = tenant.viewer.post("/api/v1/decide", json={"alerts": [
        {"targets": ["service:b"]}, {"targets": ["service:c"]},
        {"targets": ["service:c", "service:b"], "labels": {"x": "y"}}]})
    future = tenant.viewer.post("/api/v1/decide", json={"at": later, "alerts": [
        {"targets": ["service:b"]}]})
    wid = window.json()["id"]
    assert ([d["verdict"] for d in response.json()["decisions"]],
            response.json()["decisions"][0]["windows"],
            future.json()["decisions"][0]["verdict"]) == (
        ["mute", "deliver", "mute"], [wid], "deliver")


def test_all_targets_window_covers_everything(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json={
        **active_body(targets=[]), "all_targets": True}).json()
    assert _verdict(tenant, "target=anything:1") == ("mute", [window["id"]])


def test_start_and_stop_immediate_maintenance(tenant: Tenant) -> None:
    started = tenant.editor.post("/api/v1/maintenance/start", json={
        "targets": ["service:deploy"], "duration": "30m", "name": "Deploy"})
    during = _verdict(tenant, "target=service:deploy")
    stopped = tenant.editor.post("/api/v1/maintenance/stop", json={"targets": ["service:deploy"]})
    after = _verdict(tenant, "target=service:deploy")
    window = started.json()
    assert (started.status_code, window["state"], window["name"], during[0],
            [w["id"] for w in stopped.json()["stopped"]], after) == (
        201, "active", "Deploy", "mute", [window["id"]], ("deliver", []))


def test_stop_with_delay_keeps_quiet_until_then(tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/maintenance/start", json={"targets": ["service:d"],
                                                         "duration": "PT1H"})
    tenant.editor.post("/api/v1/maintenance/stop", json={"targets": ["service:d"],
                                                        "delay_seconds": 300})
    soon = iso(now() + timedelta(seconds=200))
    later = iso(now() + timedelta(seconds=400))
    assert (_verdict(tenant, f"target=service:d&at={soon}")[0],
            _verdict(tenant, f"target=service:d&at={later}")[0]) == ("mute", "deliver")


def test_list_filters_by_state_target_and_range(tenant: Tenant) -> None:
    active = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:f"])).json()
    later_start = now() + timedelta(days=10)
    scheduled = tenant.editor.post("/api/v1/windows", json=window_body(
        targets=["service:g"], schedule=once(later_start, later_start + timedelta(hours=1))))
    sid = scheduled.json()["id"]
    tenant.editor.post("/api/v1/groups", json={"name": "grp", "targets": ["service:h"]})
    grouped = tenant.editor.post("/api/v1/windows", json={**window_body(targets=[]),
                                                         "groups": ["grp"]}).json()

    def ids(**params: str) -> list[int]:
        return [w["id"] for w in tenant.viewer.get("/api/v1/windows", params=params).json()[
            "windows"]]

    in_range = {"from": iso(later_start - timedelta(hours=1)),
                "to": iso(later_start + timedelta(minutes=1))}
    assert (ids(state="active"), ids(target="service:g"), ids(target="service:h"),
            ids(**in_range)) == ([active["id"]], [sid], [grouped["id"]], [sid])


def test_list_paginates_with_a_cursor(tenant: Tenant) -> None:
    made = [tenant.editor.post("/api/v1/windows", json=window_body(f"w{i}")).json()["id"]
            for i in range(5)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = tenant.viewer.get("/api/v1/windows", params=params).json()
        seen += [w["id"] for w in page["windows"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    bad = tenant.viewer.get("/api/v1/windows", params={"cursor": "garbage!"})
    assert (seen, pages, bad.status_code, bad.json()["field"]) == (made, 3, 422, "cursor")


def test_workspace_settings(tenant: Tenant) -> None:
    got = tenant.viewer.get("/api/v1/workspace").json()
    changed = tenant.admin.patch("/api/v1/workspace", json={"timezone": "Asia/Tokyo"}).json()
    bad = tenant.admin.patch("/api/v1/workspace", json={"timezone": "Nowhere/Land"})
    assert (got["slug"], got["timezone"], changed["timezone"], bad.status_code,
            bad.json()["field"]) == (tenant.slug, "Europe/Berlin", "Asia/Tokyo", 422, "timezone")
