"""``POST /api/v1/windows/batch`` (issue #19): up to 10,000 windows, all or none, each
created as by ``POST /api/v1/windows`` (audit, events, decisions at once)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.api.helpers import iso, now, once, window_body
from tests.conftest import Tenant

BATCH = "/api/v1/windows/batch"


def _count(tenant: Tenant) -> int:
    found = tenant.viewer.get("/api/v1/windows", params={"limit": 500}).json()
    return len(found["windows"])


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


def test_a_batch_creates_every_window_in_order_as_single_creates_do(tenant: Tenant) -> None:
    bodies = [window_body(f"b{i}", targets=[f"service:batch-{i}"]) for i in range(25)]
    response = tenant.editor.post(BATCH, json={"windows": bodies})
    ids = response.json()["ids"]
    shown = [tenant.viewer.get(f"/api/v1/windows/{i}").json() for i in ids]
    single = tenant.editor.post("/api/v1/windows", json=bodies[0]).json()
    same_shape = {k for k in single if k not in ("id", "created_at", "updated_at")}
    assert (response.status_code, response.json()["created"], ids == sorted(ids),
            [w["name"] for w in shown], set(shown[0]) >= same_shape) == (
        201, 25, True, [b["name"] for b in bodies], True), response.text


def test_a_batch_window_decides_at_once(tenant: Tenant) -> None:
    start = now() - timedelta(minutes=5)
    body = window_body("running", targets=["service:batch-now"],
                       schedule=once(start, start + timedelta(hours=1)))
    created = tenant.editor.post(BATCH, json={"windows": [body]}).json()
    decision = tenant.viewer.get("/api/v1/decide", params={"target": "service:batch-now"})
    assert (decision.json()["verdict"], decision.json()["windows"]) == (
        "mute", created["ids"]), decision.text


def test_every_window_of_a_batch_has_its_audit_entry_with_after(tenant: Tenant) -> None:
    bodies = [window_body(f"audited-{i}") for i in range(3)]
    ids = tenant.editor.post(BATCH, json={"windows": bodies}).json()["ids"]
    log = tenant.admin.get("/api/v1/audit", params={"object_type": "window"}).json()
    entries = {int(e["object_id"]): e for e in log["entries"] if e["action"] == "create"}
    assert [(entries[i]["before"], entries[i]["after"]["id"], entries[i]["after"]["name"])
            for i in ids] == [(None, i, b["name"]) for i, b in zip(ids, bodies, strict=True)]


def test_the_create_entry_keeps_the_window_as_created_after_an_update(
        tenant: Tenant) -> None:
    created = tenant.editor.post("/api/v1/windows", json=window_body("first name")).json()
    tenant.editor.patch(f"/api/v1/windows/{created['id']}", json={"name": "second name"})
    log = tenant.admin.get("/api/v1/audit", params={
        "object_type": "window", "object_id": str(created["id"])}).json()["entries"]
    assert [(e["action"], (e["before"] or {}).get("name"), e["after"]["name"])
            for e in log] == [("create", None, "first name"),
                              ("update", "first name", "second name")]
    assert log[0]["after"] == created  # the response of the create, exactly


@pytest.mark.parametrize(("case", "bad", "field"), [
    ("ended one-time window", {"schedule": once(now() - timedelta(hours=2),
                                                now() - timedelta(hours=1))},
     "windows[1].schedule.end"),
    ("no name", {"name": ""}, "windows[1].name"),
    ("bad target", {"targets": ["not a target"]}, "windows[1].targets[0]"),
    ("unknown group", {"targets": [], "groups": ["nope"]}, "windows[1].groups[0]"),
    ("unknown field", {"colour": "red"}, "windows[1].colour"),
    ("end before start", {"schedule": once(now() + timedelta(hours=2),
                                           now() + timedelta(hours=1))},
     "windows[1].schedule.end"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_one_bad_item_refuses_the_whole_batch_naming_it(
        tenant: Tenant, case: str, bad: dict[str, Any], field: str) -> None:
    before = _count(tenant)
    bodies = [window_body("ok"), {**window_body("bad"), **bad}, window_body("ok too")]
    response = tenant.editor.post(BATCH, json={"windows": bodies})
    assert (response.status_code, response.headers["content-type"], field in _fields(response),
            _count(tenant) - before) == (422, "application/problem+json", True, 0), \
        response.text


def test_every_bad_item_is_named_at_once(tenant: Tenant) -> None:
    past = now() - timedelta(hours=2)
    bodies = [window_body("ok"), {**window_body("x"), "name": "  "}, window_body("ok"),
              window_body("y", schedule=once(past, past + timedelta(hours=1)))]
    response = tenant.editor.post(BATCH, json={"windows": bodies})
    assert (response.status_code, _fields(response)) == (
        422, ["windows[1].name", "windows[3].schedule.end"]), response.text


@pytest.mark.parametrize(("case", "windows", "field"), [
    ("empty", [], "windows"),
    ("10,001 items", None, "windows"),
    ("not a list", {"a": 1}, "windows"),
])
def test_the_size_of_a_batch_is_capped(tenant: Tenant, case: str, windows: Any,
                                       field: str) -> None:
    if windows is None:
        start = now() + timedelta(days=1)
        small = {"name": "n", "targets": ["s:1"],
                 "schedule": {"kind": "once", "start": iso(start),
                              "end": iso(start + timedelta(hours=1))}}
        windows = [small] * 10_001
    before = _count(tenant)
    response = tenant.editor.post(BATCH, json={"windows": windows})
    assert (response.status_code, _fields(response)[:1], _count(tenant) - before) == (
        422, [field], 0), response.text[:300]


def test_a_body_over_the_cap_is_413(tenant: Tenant) -> None:
    huge = b'{"windows": [' + b" " * (33 * 1024 * 1024) + b"]}"
    response = tenant.editor.post(BATCH, content=huge,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text


@pytest.mark.parametrize(("case", "raw", "fields"), [
    ("a member of an item twice",
     '{"windows": [%(w)s, {"name": "a", "name": "b", "targets": ["s:1"], "schedule": %(s)s}]}',
     ["windows[1].name"]),
    ("windows twice", '{"windows": [%(w)s], "windows": [%(w)s]}', ["windows"]),
    ("in the schedule", '{"windows": [{"name": "a", "targets": ["s:1"], '
     '"schedule": {"kind": "once", "kind": "once", "start": "%(start)s", "end": "%(end)s"}}]}',
     ["windows[0].schedule.kind"]),
])
def test_duplicate_keys_in_one_batch_create_nothing(tenant: Tenant, case: str, raw: str,
                                                    fields: list[str]) -> None:
    start = now() + timedelta(days=1)
    sched = {"kind": "once", "start": iso(start), "end": iso(start + timedelta(hours=1))}
    item = {"name": "ok", "targets": ["s:1"], "schedule": sched}
    text = raw % {"w": json.dumps(item), "s": json.dumps(sched), "start": sched["start"],
                  "end": sched["end"]}
    before = _count(tenant)
    response = tenant.editor.post(BATCH, content=text,
                                  headers={"Content-Type": "application/json"})
    assert (response.status_code, _fields(response), _count(tenant) - before) == (
        422, fields, 0), response.text


def test_the_same_window_twice_is_two_windows(tenant: Tenant) -> None:
    """Like two POST /api/v1/windows with one body: windows have no natural key."""
    body = window_body("twice")
    response = tenant.editor.post(BATCH, json={"windows": [body, body]})
    assert (response.status_code, len(set(response.json()["ids"]))) == (201, 2), response.text


def test_idempotency_key_replays_a_batch_and_refuses_another_body(tenant: Tenant) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"windows": [window_body("idem-1"), window_body("idem-2")]}
    before = _count(tenant)
    first = tenant.editor.post(BATCH, json=body, headers=headers)
    again = tenant.editor.post(BATCH, json=body, headers=headers)
    other = tenant.editor.post(BATCH, json={"windows": [window_body("idem-3")]},
                               headers=headers)
    assert (first.status_code, again.status_code, again.json() == first.json(),
            again.headers.get("idempotent-replayed"), other.status_code,
            _count(tenant) - before) == (201, 201, True, "true", 422, 2), other.text


@pytest.mark.parametrize("role", ["viewer"])
def test_a_viewer_cannot_create_a_batch(tenant: Tenant, role: str) -> None:
    response = tenant.viewer.post(BATCH, json={"windows": [window_body()]})
    assert response.status_code == 403, response.text


def test_the_batch_is_in_the_openapi_document(tenant: Tenant) -> None:
    spec = tenant.viewer.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/windows/batch"]["post"]
    assert (operation["operationId"], "201" in operation["responses"],
            "422" in operation["responses"]) == ("create_windows_batch", True, True)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_the_batch_path_has_only_post(tenant: Tenant, method: str) -> None:
    # Not routed to /windows/{window_id} with the id "batch" (a 404 or the window's methods).
    response = tenant.editor.request(method, BATCH)
    assert (response.status_code, response.headers.get("allow")) == (405, "POST")
