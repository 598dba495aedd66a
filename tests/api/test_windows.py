"""Windows end to end through a real server: create, read, update rules, cancel, delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.helpers import active_body, completed_body, iso, now, once, window_body
from tests.conftest import Tenant

RECURRING_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("rrule", {"rrule": "FREQ=WEEKLY;BYDAY=SU", "start_time": "02:00", "end_time": "04:00"},
     "Sunday"),
    ("cron", {"cron": "0 2 * * 0", "duration": "PT2H"}, "2 hours"),
    ("daily", {"every": "daily", "start_time": "22:00", "end_time": "06:00"}, "day"),
    ("weekly", {"every": "weekly", "days_of_week": ["tue", "thu"], "start_time": "02:00",
                "end_time": "03:00"}, "Tuesday and Thursday"),
    ("monthly day", {"every": "monthly", "day_of_month": 31, "start_time": "02:00",
                     "duration": "PT1H"}, "31"),
    ("monthly last", {"every": "monthly", "day_of_month": -1, "short_month": "skip",
                      "start_time": "02:00", "duration": "PT1H"}, "last"),
    ("patch tuesday", {"every": "monthly", "weekday_of_month": "2TU", "start_time": "02:00",
                       "end_time": "05:00"}, "second Tuesday"),
]


@pytest.mark.parametrize(("form", "rule", "words"), RECURRING_FORMS,
                         ids=[f[0] for f in RECURRING_FORMS])
def test_every_recurring_form_is_created_with_next_occurrence_and_words(
        tenant: Tenant, form: str, rule: dict[str, Any], words: str) -> None:
    # Starting next week, so no occurrence runs now whatever the time of the test run.
    starts_on = (now().astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=8))
    body = window_body(form, schedule={"kind": "recurring", "timezone": "Europe/Berlin",
                                       "starts_on": starts_on.isoformat(), **rule})
    created = tenant.editor.post("/api/v1/windows", json=body)
    assert created.status_code == 201, created.text
    window = created.json()
    assert (window["state"], window["next_occurrence"] is not None, words in
            window["human_schedule"]) == ("scheduled", True, True)
    fetched = tenant.viewer.get(f"/api/v1/windows/{window['id']}").json()
    assert fetched["schedule"] == window["schedule"]


def test_recurring_schedule_starting_in_the_past_is_valid(tenant: Tenant) -> None:
    body = window_body(schedule={"kind": "recurring", "timezone": "UTC", "every": "daily",
                                 "start_time": "03:00", "duration": "PT1H",
                                 "starts_on": "2024-01-01"})
    assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201


def test_naive_once_times_are_read_in_the_window_zone(tenant: Tenant) -> None:
    body = window_body(schedule={"kind": "once", "start": "2030-07-01T02:00:00",
                                 "end": "2030-07-01T04:00:00", "timezone": "America/New_York"})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    assert (window["schedule"]["start"], window["schedule"]["end"]) == (
        "2030-07-01T06:00:00Z", "2030-07-01T08:00:00Z")


def test_naive_once_times_without_zone_use_the_workspace_zone(tenant: Tenant) -> None:
    # The tenant's workspace zone is Europe/Berlin (CEST in July: +02:00).
    body = window_body(schedule={"kind": "once", "start": "2030-07-01T02:00:00",
                                 "end": "2030-07-01T04:00:00"})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    assert window["schedule"]["start"] == "2030-07-01T00:00:00Z"


BAD_WINDOWS: list[tuple[str, dict[str, Any], str]] = [
    ("bad zone", {"schedule": {"kind": "recurring", "timezone": "Mars/Olympus",
                               "every": "daily", "start_time": "02:00", "duration": "PT1H"}},
     "schedule.timezone"),
    ("bad rrule", {"schedule": {"kind": "recurring", "timezone": "UTC", "rrule": "FREQ=SOMETIMES",
                                "start_time": "02:00", "duration": "PT1H"}}, "schedule.rrule"),
    ("impossible rrule", {"schedule": {"kind": "recurring", "timezone": "UTC",
                                       "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
                                       "start_time": "02:00", "duration": "PT1H"}},
     "schedule.rrule"),
    ("bad cron", {"schedule": {"kind": "recurring", "timezone": "UTC", "cron": "61 * * * *",
                               "duration": "PT1H"}}, "schedule.cron"),
    ("end before start", {"schedule": once(now() + timedelta(hours=2),
                                           now() + timedelta(hours=1))}, "schedule.end"),
    ("already ended", {"schedule": once(now() - timedelta(hours=2),
                                        now() - timedelta(hours=1))}, "schedule.end"),
    ("no scope", {"targets": []}, "targets"),
    ("bad target", {"targets": ["checkout"]}, "targets[0]"),
    ("unknown group", {"groups": ["nope"]}, "groups[0]"),
    ("bad regex", {"match": [[{"label": "env", "op": "=~", "value": "("}]]}, "match[0][0].value"),
    ("reroute without targets", {"effects": ["reroute"]}, "escalation_targets"),
    ("bad duration", {"schedule": {"kind": "recurring", "timezone": "UTC", "every": "daily",
                                   "start_time": "02:00", "duration": "two hours"}},
     "schedule.duration"),
    ("missing name", {"name": ""}, "name"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("bad effect", {"effects": ["explode"]}, "effects[0]"),
    ("rrule COUNT and count", {"schedule": {"kind": "recurring", "timezone": "UTC",
                                            "rrule": "FREQ=DAILY;COUNT=5", "count": 3,
                                            "start_time": "02:00", "duration": "PT1H"}},
     "schedule.count"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_WINDOWS,
                         ids=[b[0] for b in BAD_WINDOWS])
def test_bad_window_is_a_problem_naming_the_field(
        tenant: Tenant, case: str, change: dict[str, Any], field: str) -> None:
    response = tenant.editor.post("/api/v1/windows", json={**window_body(), **change})
    body = response.json()
    assert (response.status_code, response.headers["content-type"], body["field"]) == (
        422, "application/problem+json", field), body


RE2_REFUSED = [
    ("look-ahead", "(?=db)db-.*", "invalid perl operator: (?="),
    ("back-reference", r"(a)\1", r"invalid escape sequence: \1"),
]


@pytest.mark.parametrize(("case", "pattern", "construct"), RE2_REFUSED,
                         ids=[r[0] for r in RE2_REFUSED])
def test_a_regex_re2_refuses_is_a_problem_naming_field_and_construct(
        tenant: Tenant, case: str, pattern: str, construct: str) -> None:
    match = [[{"label": "env", "op": "=", "value": "prod"},
              {"label": "service", "op": "!~", "value": pattern}]]
    response = tenant.editor.post("/api/v1/windows", json={**window_body(), "match": match})
    body = response.json()
    assert (response.status_code, body["field"], construct in body["detail"]) == (
        422, "match[0][1].value", True), body


def test_malformed_json_is_400(tenant: Tenant) -> None:
    response = tenant.editor.post("/api/v1/windows", content=b"{not json",
                                  headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["title"]) == (400, "Bad request")


def test_scheduled_window_changes_freely(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    changed = tenant.editor.patch(f"/api/v1/windows/{window['id']}", json={
        "name": "renamed", "targets": ["service:billing"], "effects": ["drop"],
        "schedule": {"kind": "recurring", "timezone": "UTC", "every": "daily",
                     "start_time": "01:00", "end_time": "02:00"}})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["targets"], body["effects"], body["schedule"]["every"]) == (
        "renamed", ["service:billing"], ["drop"], "daily")


def test_active_window_can_extend_and_shorten_its_end_but_not_move_its_start(
        tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=active_body()).json()
    url = f"/api/v1/windows/{window['id']}"
    later = iso(now() + timedelta(hours=5))
    extended = tenant.editor.patch(url, json={"schedule": {"end": later},
                                              "description": "taking longer"})
    moved = tenant.editor.patch(url, json={"schedule": {"start": iso(now())}})
    too_early = tenant.editor.patch(url, json={"schedule": {"end": iso(now() - timedelta(
        minutes=5))}})
    assert (extended.status_code, extended.json()["schedule"]["end"], moved.status_code,
            moved.json()["field"], too_early.status_code, too_early.json()["field"]) == (
        200, later, 409, "schedule", 422, "schedule.end")


def test_active_window_changes_its_words_scope_and_effects_from_now_on(
        tenant: Tenant) -> None:
    """"Add one more host to the maintenance that is running" (issue 16, point 5)."""
    tenant.editor.post("/api/v1/groups", json={"name": "caches", "targets": ["host:c1"]})
    window = tenant.editor.post("/api/v1/windows", json=active_body(
        "db work", ["host:db1"])).json()
    url = f"/api/v1/windows/{window['id']}"
    changed = tenant.editor.patch(url, json={
        "name": "db and cache work", "description": "now with caches",
        "publish_to_status_page": True, "targets": ["host:db1", "host:db2"],
        "groups": ["caches"], "match": [[{"label": "env", "op": "=", "value": "staging"}]],
        "effects": ["drop"]})
    verdicts = [tenant.viewer.get(f"/api/v1/decide?{q}").json()["verdict"] for q in (
        "target=host:db2", "target=host:c1", "label.env=staging", "target=host:other")]
    audit = tenant.viewer.get("/api/v1/audit", params={
        "object_type": "window", "object_id": str(window["id"])}).json()["entries"][-1]
    body = changed.json()
    assert (changed.status_code, body["state"], body["name"], body["publish_to_status_page"],
            verdicts, (audit["before"]["targets"], audit["after"]["targets"]),
            (audit["before"]["name"], audit["after"]["name"])) == (
        200, "active", "db and cache work", True, ["drop", "drop", "drop", "deliver"],
        (["host:db1"], ["host:db1", "host:db2"]), ("db work", "db and cache work"))


def test_active_recurring_window_keeps_its_rule(tenant: Tenant) -> None:
    start = now() - timedelta(minutes=5)
    window = tenant.editor.post("/api/v1/windows", json=window_body("nightly", schedule={
        "kind": "recurring", "timezone": "UTC", "every": "daily",
        "start_time": start.strftime("%H:%M"), "duration": "PT1H",
        "starts_on": (start - timedelta(days=1)).date().isoformat()})).json()
    url = f"/api/v1/windows/{window['id']}"
    renamed = tenant.editor.patch(url, json={"name": "nightly, renamed"})
    rule = tenant.editor.patch(url, json={"schedule": {"duration": "PT2H"}})
    assert (window["state"], renamed.status_code, rule.status_code, rule.json()["field"]) == (
        "active", 200, 409, "schedule")


def test_active_window_shortened_to_now_stops_suppressing(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:x"]))
    url = f"/api/v1/windows/{window.json()['id']}"
    assert tenant.viewer.get("/api/v1/decide?target=service:x").json()["verdict"] == "mute"
    tenant.editor.patch(url, json={"schedule": {"end": iso(now() + timedelta(seconds=1))}})
    later = iso(now() + timedelta(seconds=2))
    assert tenant.viewer.get(f"/api/v1/decide?target=service:x&at={later}").json()[
        "verdict"] == "deliver"


@pytest.mark.parametrize("how", ["completed", "cancelled"])
def test_completed_and_cancelled_windows_are_immutable(tenant: Tenant, how: str) -> None:
    body = completed_body() if how == "completed" else window_body()
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    if how == "cancelled":
        tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel")
    response = tenant.editor.patch(f"/api/v1/windows/{window['id']}",
                                   json={"description": "late edit"})
    assert (response.status_code, how in response.json()["detail"]) == (409, True)


def test_cancel_stops_suppression_at_once_and_twice_is_conflict(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows",
                                json=active_body(targets=["service:y"])).json()
    before = tenant.viewer.get("/api/v1/decide?target=service:y").json()["verdict"]
    cancelled = tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel")
    after = tenant.viewer.get("/api/v1/decide?target=service:y").json()["verdict"]
    again = tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel")
    assert (before, cancelled.json()["state"], after, again.status_code) == (
        "mute", "cancelled", "deliver", 409)


def test_delete_removes_the_window_and_keeps_the_audit_record(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    deleted = tenant.editor.delete(f"/api/v1/windows/{window['id']}")
    gone = tenant.viewer.get(f"/api/v1/windows/{window['id']}")
    audit = tenant.viewer.get("/api/v1/audit", params={"object_type": "window",
                                                       "object_id": str(window["id"])}).json()
    actions = [e["action"] for e in audit["entries"]]
    assert (deleted.status_code, gone.status_code, actions,
            audit["entries"][-1]["before"]["name"]) == (204, 404, ["create", "delete"], "w")


def test_audit_records_actor_time_before_and_after(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    tenant.editor.patch(f"/api/v1/windows/{window['id']}", json={"name": "second"})
    tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel")
    entries = tenant.viewer.get("/api/v1/audit", params={"object_id": str(window["id"])}).json()[
        "entries"]
    summary = [(e["action"], e["actor"], (e["before"] or {}).get("name"),
                (e["after"] or {}).get("name")) for e in entries]
    assert summary == [("create", "key:editor-key", None, "w"),
                       ("update", "key:editor-key", "w", "second"),
                       ("cancel", "key:editor-key", "second", "second")]


def test_occurrences_in_a_range(tenant: Tenant) -> None:
    body = window_body(schedule={"kind": "recurring", "timezone": "Europe/Berlin",
                                 "every": "weekly", "days_of_week": ["sun"],
                                 "start_time": "01:00", "end_time": "04:00",
                                 "starts_on": "2025-10-01"})
    window = tenant.editor.post("/api/v1/windows", json=body).json()
    found = tenant.viewer.get(f"/api/v1/windows/{window['id']}/occurrences", params={
        "from": "2025-10-19T00:00:00Z", "to": "2025-11-03T00:00:00Z"}).json()
    # 2025-10-26 is the fall-back Sunday: 01:00 CEST → 04:00 CET lasts four hours.
    assert found["occurrences"] == [
        {"start": "2025-10-18T23:00:00Z", "end": "2025-10-19T02:00:00Z"},
        {"start": "2025-10-25T23:00:00Z", "end": "2025-10-26T03:00:00Z"},
        {"start": "2025-11-02T00:00:00Z", "end": "2025-11-02T03:00:00Z"},
    ]


def test_occurrence_range_errors_name_the_parameter(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    url = f"/api/v1/windows/{window['id']}/occurrences"
    backwards = tenant.viewer.get(url, params={"from": "2026-01-02T00:00:00Z",
                                               "to": "2026-01-01T00:00:00Z"})
    garbage = tenant.viewer.get(url, params={"from": "yesterday"})
    assert (backwards.status_code, backwards.json()["field"], garbage.status_code,
            garbage.json()["field"]) == (422, "to", 422, "from")


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00", "9999-12-31T23:59:00+00:00",
                                     "2030-02-30T00:00:00Z", "2030-01-01T25:00:00Z"])
def test_instants_outside_the_calendar_are_422_not_500(tenant: Tenant, instant: str) -> None:
    body = window_body(schedule={"kind": "once", "start": instant,
                                 "end": "2030-01-01T00:00:00Z", "timezone": "Pacific/Kiritimati"})
    response = tenant.editor.post("/api/v1/windows", json=body)
    assert (response.status_code, response.json()["field"]) == (422, "schedule.start")


@pytest.mark.parametrize(("where", "request_kwargs"), [
    ("body", {"json": {"targets": ["service:a\u0000b"]}}),
    ("query", {"params": {"target": "service:a\u0000"}}),
])
def test_nul_characters_are_refused_on_every_backend(
        tenant: Tenant, where: str, request_kwargs: dict[str, Any]) -> None:
    method, url = (("POST", "/api/v1/maintenance/start") if where == "body"
                   else ("GET", "/api/v1/decide"))
    response = tenant.editor.request(method, url, **request_kwargs)
    assert (response.status_code, response.json()["field"]) == (422, where)


def test_nul_in_a_vendor_api_answers_in_the_vendor_shape(tenant: Tenant) -> None:
    response = tenant.editor.post("/compat/ohdear/api/maintenance-periods",
                                  json={"monitor_id": 1, "name": "a\u0000"})
    assert (response.status_code, "errors" in response.json()) == (422, True)
