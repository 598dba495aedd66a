"""Start-up reads the store straight into compact index entries (issue 19).

``index_load.read_entries`` skips the ORM and the full window records; what it builds for
each stored window must be what ``Entry.of`` makes of the same window read the usual way
(``load_all_windows``), for every kind of window the API can store — on SQLite and on
PostgreSQL, whose drivers hand instants and JSON over differently. And a service loaded that
way decides exactly as before, during and after its background expansion.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.engine import brute_force_decide
from quietly.core.entries import Entry
from quietly.core.model import Alert
from quietly.services.decisions import DecisionService
from quietly.services.index_load import _loads, _target_list, read_entries
from quietly.services.windows import load_all_windows
from quietly.storage.db import Database
from tests.api.helpers import active_body, now, once, window_body
from tests.conftest import Tenant


def _bodies() -> list[tuple[str, dict[str, Any]]]:
    start = now() - timedelta(minutes=30)
    many = [f"host:h{i}" for i in range(12)]  # more than a tuple keeps: a frozenset
    recurring = {"kind": "recurring", "timezone": "Europe/Berlin", "start_time": "02:00"}
    return [
        ("once, running", active_body("running", ["service:a", "service:b"])),
        ("once, later, two effects", window_body(
            "later", ["service:a"], effects=["mute", "suppress_incidents"])),
        ("many targets", window_body("many", many, schedule=once(start, start + 3 * _H))),
        ("rrule", window_body("rrule", ["service:c"], schedule={
            **recurring, "rrule": "FREQ=WEEKLY;BYDAY=SU,WE", "end_time": "04:00"})),
        ("cron", window_body("cron", ["service:c"], schedule={
            "kind": "recurring", "timezone": "America/New_York", "cron": "30 1 * * *",
            "duration": "PT90M"})),
        ("simple monthly", window_body("monthly", ["service:d"], schedule={
            **recurring, "every": "monthly", "day_of_month": 31, "duration": "PT3H"})),
        ("labels", window_body("labels", [], match=[
            [{"label": "env", "op": "=", "value": "prod"},
             {"label": "alertname", "op": "=~", "value": "Disk.*"}],
            [{"label": "team", "op": "one_of", "values": ["a", "b"]}]])),
        ("same labels again", window_body("labels2", [], match=[
            [{"label": "env", "op": "=", "value": "prod"},
             {"label": "alertname", "op": "=~", "value": "Disk.*"}],
            [{"label": "team", "op": "one_of", "values": ["a", "b"]}]])),
        ("group", window_body("group", [], groups=["tier"])),
        ("all targets, drop", window_body("all", [], all_targets=True, effects=["drop"])),
    ]


_H = timedelta(hours=1)


def _store(tenant: Tenant) -> dict[str, int]:
    tenant.editor.put("/api/v1/groups/tier", json={"targets": ["service:e"]}).raise_for_status()
    made = {}
    for name, body in _bodies():
        answer = tenant.editor.post("/api/v1/windows", json=body)
        assert answer.status_code == 201, (name, answer.text)
        made[name] = answer.json()["id"]
    cancelled = tenant.editor.post("/api/v1/windows", json=active_body("cancelled")).json()
    tenant.editor.post(f"/api/v1/windows/{cancelled['id']}/cancel").raise_for_status()
    made["cancelled"] = cancelled["id"]
    deleted = tenant.editor.post("/api/v1/windows", json=active_body("deleted")).json()
    tenant.editor.delete(f"/api/v1/windows/{deleted['id']}").raise_for_status()
    return made


def _slots(entry: Entry) -> list[object]:
    return [set(v) if k in ("targets", "groups") else v
            for k, v in ((s, getattr(entry, s)) for s in Entry.FIELDS if s != "compiled")]


def test_read_entries_gives_what_entry_of_gives_for_every_kind(db: Database,
                                                              tenant: Tenant) -> None:
    made = _store(tenant)
    at = datetime.now(UTC)
    lo, hi = at - timedelta(hours=24), at + timedelta(hours=48)
    with db.read() as session:
        fast = {e.id: e for e in read_entries(session).get(tenant.id, [])}
        slow = {r.id: Entry.of(r.to_window()) for r in load_all_windows(session, tenant.id)}
    assert sorted(fast) == sorted(slow) == sorted(v for k, v in made.items() if k != "deleted")
    assert {wid: _slots(e.expanded(lo, hi)) for wid, e in fast.items()} == {
        wid: _slots(e.expanded(lo, hi)) for wid, e in slow.items()}
    # Equal conditions are compiled once and shared.
    assert fast[made["labels"]].compiled is fast[made["same labels again"]].compiled


def test_a_loaded_service_decides_as_the_store_says_while_and_after_expanding(
        db: Database, tenant: Tenant) -> None:
    made = _store(tenant)
    at = datetime.now(UTC)
    with db.read() as session:
        stored = [r.to_window() for r in load_all_windows(session, tenant.id)]
    groups = {"tier": frozenset({"service:e"})}
    service = DecisionService(db, at)
    service.load(at)
    questions = [
        Alert(("service:a",)), Alert(("service:b",)), Alert(("host:h3",)), Alert(("service:e",)),
        Alert(("service:zzz",)), Alert((), {"env": "prod", "alertname": "DiskFull"}),
        Alert((), {"team": "b"}), Alert(("service:c",)), Alert(("service:d",)),
    ]
    instants = [at + timedelta(minutes=m) for m in (0, 45, 24 * 60 + 5, 30 * 24 * 60)]
    expected = [brute_force_decide(stored, groups, q, t) for q in questions for t in instants]
    before = [service.decide(tenant.id, q, t) for q in questions for t in instants]
    assert service.expanded.wait(60)
    after = [service.decide(tenant.id, q, t) for q in questions for t in instants]
    running = [service.decide(tenant.id, q, at).windows for q in questions[:3]]
    assert (service.pending(), before == expected, after == expected, running) == (
        0, True, True, [(made["once, running"],), (made["once, running"],),
                        (made["many targets"],)])


TARGET_LISTS = [
    # (name, stored text): whatever the spelling, the list JSON means
    ("as SQLAlchemy writes it", '["service:a", "monitor:42"]'),
    ("one", '["service:a"]'),
    ("compact spacing", '["service:a","monitor:42"]'),
    ("an escaped quote", '["service:a\\"b", "monitor:42"]'),
    ("unicode escape", '["service:\\u00e9t\\u00e9"]'),
    ("a comma and quote inside", '["x:a\\",\\"b"]'),
    ("odd spacing", '["service:a" ,  "monitor:42","x:1"]'),
    ("an empty name", '["", "service:a"]'),
    ("commas inside names", '["x:a,b", "x:c, d"]'),
]


@pytest.mark.parametrize(("name", "text"), TARGET_LISTS, ids=[c[0] for c in TARGET_LISTS])
def test_target_lists_read_as_json_says(name: str, text: str) -> None:
    assert _target_list(text) == json.loads(text)


@given(st.lists(st.text(max_size=12), max_size=6), st.sampled_from([(", ", ": "), (",", ":")]))
def test_any_target_list_reads_as_json_says(items: list[str],
                                             separators: tuple[str, str]) -> None:
    text = json.dumps(items, separators=separators)
    assert _target_list(text) == items


STORED_TEXTS = [
    # (name, stored JSON text): decoded as ``json.loads`` decodes it, by msgspec or not
    ("a schedule", '{"kind": "once", "start": "2026-03-29T01:30:00Z", "end": "2026-03-29T03:30'
                   ':00+02:00", "timezone": "Europe/Berlin"}'),
    ("effects", '["mute","suppress_incidents"]'),
    ("conditions", '[[{"label": "env", "op": "=", "value": "pr\\u00f6d"}]]'),
    ("a big integer", '{"count": 123456789012345678901234567890}'),
    ("NaN, which msgspec refuses", '{"count": NaN}'),
    ("a duplicate key: the last wins", '{"kind": "once", "kind": "recurring"}'),
]


@pytest.mark.parametrize(("name", "text"), STORED_TEXTS, ids=[c[0] for c in STORED_TEXTS])
def test_stored_json_reads_as_json_loads_says(name: str, text: str) -> None:
    # (Compared as written back: NaN is not equal to itself.)
    assert json.dumps(_loads(text)) == json.dumps(json.loads(text))
