"""``POST /api/v1/apply``: the whole desired set of one source, all or nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from tests.api.helpers import now, once, window_body
from tests.apply.helpers import apply, live_windows, patch_night, release_freeze, writes
from tests.conftest import Tenant

WEB = {"name": "web-tier", "targets": ["service:web", "service:api"]}


def live_id(tenant: Tenant, key: str) -> int:
    found = tenant.viewer.get("/api/v1/windows").json()["windows"]
    return int(next(w["id"] for w in found if w["key"] == key))


def _summary(answer: Any) -> list[tuple[str, str, str]]:
    return [(c["kind"], c["key"], c["action"]) for c in answer.json()["changes"]]


def test_first_apply_creates_everything_and_marks_it_managed(tenant: Tenant) -> None:
    answer = apply(tenant, windows=[patch_night(groups=["web-tier"]), release_freeze()],
                   groups=[WEB])
    group = tenant.viewer.get("/api/v1/groups/web-tier").json()
    assert (answer.status_code, _summary(answer), live_windows(tenant), group["managed_by"]) == (
        200, [("group", "web-tier", "create"), ("window", "patch-night", "create"),
              ("window", "freeze", "create")],
        [("freeze", "ops-repo", "Release freeze"), ("patch-night", "ops-repo", "Patch night")],
        {"source": "ops-repo", "key": "web-tier"})


def test_created_windows_come_with_their_next_occurrences(tenant: Tenant) -> None:
    created = apply(tenant, windows=[patch_night()]).json()["changes"][0]
    assert ([o["start"] for o in created["next_occurrences"]],
            created["window"]["human_schedule"] != "") == (
        ["2031-01-14T21:00:00Z", "2031-02-11T21:00:00Z", "2031-03-11T21:00:00Z"], True)


def test_applying_the_same_set_twice_changes_nothing(db: Database, tenant: Tenant) -> None:
    channel = tenant.admin.post("/api/v1/channels", json={
        "name": "ops", "url": "http://127.0.0.1:9/hook"}).json()
    windows = [patch_night(notify_channels=[channel["id"]], targets=["b:2", "a:1"]),
               release_freeze(notify_channels=[channel["id"]]),
               {**patch_night("no-start"), "schedule": {
                   "kind": "recurring", "timezone": "UTC", "every": "weekly",
                   "days_of_week": ["sun"], "start_time": "03:00", "duration": "PT1H"}}]
    apply(tenant, windows=windows, groups=[WEB])
    before = writes(db, tenant)
    again = apply(tenant, windows=windows, groups=[WEB])
    assert (again.json()["changed"], again.json()["changes"], writes(db, tenant)) == \
        (False, [], before)


def test_a_change_is_listed_field_by_field(tenant: Tenant) -> None:
    apply(tenant, windows=[patch_night()], groups=[WEB])
    window = patch_night(description="Kernel updates")
    window["schedule"]["start_time"] = "23:00"
    answer = apply(tenant, windows=[window], groups=[{**WEB, "targets": ["service:web"]}])
    diffs = {(c["kind"], c["action"]): [(d["field"], d["before"], d["after"]) for d in c["diff"]]
             for c in answer.json()["changes"]}
    assert diffs == {
        ("group", "change"): [("targets", ["service:api", "service:web"], ["service:web"])],
        ("window", "change"): [("description", None, "Kernel updates"),
                               ("schedule.start_time", "22:00", "23:00")]}


def test_dry_run_plans_without_writing(db: Database, tenant: Tenant) -> None:
    before = writes(db, tenant)
    plan = apply(tenant, windows=[patch_night()], groups=[WEB], dry_run=True).json()
    assert (plan["dry_run"], plan["changed"], [c["id"] for c in plan["changes"]],
            live_windows(tenant), writes(db, tenant)) == (True, True, [None, None], [], before)


def test_prune_deletes_only_its_own_source(tenant: Tenant) -> None:
    apply(tenant, windows=[patch_night("a1"), patch_night("a2")], groups=[WEB])
    apply(tenant, source="other-repo", windows=[patch_night("b1")],
          groups=[{"name": "b-group", "targets": []}])
    tenant.editor.post("/api/v1/windows", json=window_body("by hand"))
    tenant.editor.post("/api/v1/groups", json={"name": "hand-group"})
    kept = apply(tenant, windows=[patch_night("a1")])
    pruned = apply(tenant, windows=[patch_night("a1")], prune=True)
    groups = [g["name"] for g in tenant.viewer.get("/api/v1/groups").json()["groups"]]
    assert (_summary(kept), _summary(pruned), live_windows(tenant), groups) == (
        [], [("window", "a2", "delete"), ("group", "web-tier", "delete")],
        [(None, None, "by hand"), ("a1", "ops-repo", "Patch night"),
         ("b1", "other-repo", "Patch night")], ["b-group", "hand-group"])


def test_objects_of_another_source_or_made_by_hand_are_never_taken_over(
        tenant: Tenant) -> None:
    apply(tenant, source="other-repo", windows=[patch_night()])
    tenant.editor.post("/api/v1/groups", json={"name": "web-tier"})
    answer = apply(tenant, windows=[patch_night()], groups=[WEB])
    assert (answer.status_code, [(e["field"], e["detail"].split(";")[0])
                                 for e in answer.json()["errors"]]) == (422, [
        ("groups[0].name", "a group named 'web-tier' already exists (made by hand)"),
        ("windows[0].key", "key 'patch-night' names window "
         f"{live_id(tenant, 'patch-night')} (managed by source 'other-repo')")])


def test_a_failure_half_way_leaves_nothing_applied(db: Database, tenant: Tenant) -> None:
    apply(tenant, windows=[patch_night("kept")])
    before = (live_windows(tenant), writes(db, tenant))
    changed = patch_night("kept", name="Renamed")
    answer = apply(tenant, groups=[WEB], windows=[
        changed, patch_night("new"), patch_night("broken", groups=["no-such-group"])],
        prune=True)
    assert (answer.status_code, answer.json()["errors"],
            (live_windows(tenant), writes(db, tenant))) == (
        422, [{"field": "windows[2].groups[0]",
               "detail": "no target group named 'no-such-group'; create it first"}], before)


def test_every_error_is_reported_with_its_path(tenant: Tenant) -> None:
    bad_zone = patch_night("zone")
    bad_zone["schedule"]["timezone"] = "Europe/Berln"
    no_name = patch_night("no-name")
    del no_name["name"]
    answer = apply(tenant, windows=[patch_night(), bad_zone, no_name,
                                    patch_night("target", targets=["not a target"]),
                                    patch_night()],
                   groups=[{"name": "bad name!"}])
    assert (answer.status_code, [e["field"] for e in answer.json()["errors"]]) == (
        422, ["groups[0].name", "windows[1].schedule.timezone", "windows[2].name",
              "windows[3].targets[0]", "windows[4].key"])


@pytest.mark.parametrize("body", [
    {"windows": []},  # no source
    {"source": "", "windows": []},
    {"source": "ok", "windows": "nope"},
    {"source": "ok", "prune": "sometimes"},
])
def test_a_malformed_request_is_a_422_naming_the_field(tenant: Tenant, body: Any) -> None:
    answer = tenant.editor.post("/api/v1/apply", json=body)
    assert (answer.status_code, answer.headers["content-type"]) == \
        (422, "application/problem+json")


def test_viewers_may_plan_but_not_apply(tenant: Tenant) -> None:
    planned = tenant.viewer.post("/api/v1/apply", json={
        "source": "x", "windows": [patch_night()], "dry_run": True})
    applied = tenant.viewer.post("/api/v1/apply", json={"source": "x",
                                                        "windows": [patch_night()]})
    assert (planned.status_code, applied.status_code, applied.json()["field"],
            live_windows(tenant)) == (200, 403, "dry_run", [])


def test_two_applies_racing_leave_one_result(tenant: Tenant) -> None:
    """The second apply waits for the first and then sees its result (no change), or fails
    cleanly; never two windows for one key."""
    windows = [patch_night(f"w{i}") for i in range(8)]
    results: list[tuple[int, int]] = []

    def run() -> None:  # one client per thread, as separate CI jobs would
        with httpx.Client(base_url=tenant.base_url, timeout=60, headers={
                "Authorization": f"Bearer {tenant.keys[Role.EDITOR]}"}) as client:
            answer = client.post("/api/v1/apply", json={
                "source": "ops-repo", "windows": windows, "groups": [WEB]})
            created = sum(c["action"] == "create" for c in answer.json().get("changes", []))
            results.append((answer.status_code, created))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [k for k, _, _ in live_windows(tenant)]
    assert (keys, all(code in (200, 409, 503) for code, _ in results),
            sum(created for _, created in results)) == (sorted(f"w{i}" for i in range(8)), True, 9)


def test_the_next_apply_reverts_a_hand_edit_and_recreates_a_hand_deleted_window(
        tenant: Tenant) -> None:
    created = {c["key"]: c["id"] for c in apply(
        tenant, windows=[patch_night(), release_freeze()]).json()["changes"]}
    tenant.editor.patch(f"/api/v1/windows/{created['patch-night']}", json={"name": "By hand"})
    tenant.editor.delete(f"/api/v1/windows/{created['freeze']}")
    answer = apply(tenant, windows=[patch_night(), release_freeze()])
    changes = [(c["key"], c["action"], [(d["field"], d["before"], d["after"]) for d in c["diff"]]
                if c["action"] == "change" else None) for c in answer.json()["changes"]]
    assert (changes, live_windows(tenant)) == (
        [("patch-night", "change", [("name", "By hand", "Patch night")]),
         ("freeze", "create", None)],
        [("freeze", "ops-repo", "Release freeze"), ("patch-night", "ops-repo", "Patch night")])


def test_an_applied_window_takes_effect_in_decisions(tenant: Tenant) -> None:
    start = now() - timedelta(minutes=5)
    apply(tenant, windows=[{"key": "now", "name": "Now", "targets": ["service:db"],
                            "schedule": once(start, start + timedelta(hours=1))}])
    decided = tenant.viewer.get("/api/v1/decide", params={"target": "service:db"}).json()
    assert decided["verdict"] == "mute"


def test_errors_of_new_and_changed_windows_are_listed_in_file_order(tenant: Tenant) -> None:
    """New windows are created together after the changes; their errors still come in the
    file's order, each named by its place."""
    apply(tenant, windows=[patch_night("kept")])
    past = now() - timedelta(days=2)
    answer = apply(tenant, windows=[
        patch_night("new-bad", groups=["no-such-group"]),
        patch_night("kept", groups=["nor-this-one"]),
        patch_night("new-ok"),
        {**patch_night("new-ended"), "schedule": once(past, past + timedelta(hours=1))}])
    assert (answer.status_code, [e["field"] for e in answer.json()["errors"]]) == (
        422, ["windows[0].groups[0]", "windows[1].groups[0]", "windows[3].schedule.end"])


def test_many_new_windows_are_planned_in_file_order_with_ids_and_previews(
        db: Database, tenant: Tenant) -> None:
    apply(tenant, windows=[patch_night("existing")])
    wanted = [patch_night(f"n{i}", name=f"Night {i}") for i in range(40)]
    wanted.insert(20, patch_night("existing", name="Renamed"))
    plan = apply(tenant, windows=wanted).json()["changes"]
    assert ([(c["key"], c["action"]) for c in plan],
            all(c["id"] and c["window"]["id"] == c["id"] and len(c["next_occurrences"]) == 3
                for c in plan),
            [c["id"] for c in plan if c["action"] == "create"] == sorted(
                c["id"] for c in plan if c["action"] == "create"),
            len(live_windows(tenant))) == (
        [(w["key"], "change" if w["key"] == "existing" else "create") for w in wanted],
        True, True, 41)
