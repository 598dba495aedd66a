"""``batch_fastpath.batch_fields`` reads a batch of common creates without pydantic: for any
body it gives exactly the fields ``WindowBatch`` and the conversion give, or None — and None
whenever the route would refuse the body (the model, the conversion, or a member named twice),
so every error is still the route's. Tables of batches and near misses, hypothesis
properties over bodies with repeated members and escaped names, and the answers over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.api.native.batch_fastpath import batch_fields, names_members_once
from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.create_fastpath import common_fields
from quietly.api.native.window_batch import WindowBatch, repeated_members
from quietly.core.records import WindowFields
from tests.api.helpers import iso, now, window_body
from tests.api.test_create_common_fields import ZONES, documents
from tests.conftest import Tenant

BATCH = "/api/v1/windows/batch"


def _route(raw: bytes, zone: str) -> list[WindowFields] | None:
    """What the route makes of ``raw``: the fields of every item, or None where it refuses
    the body (not JSON, the model, a member named twice, an item's conversion)."""
    try:
        body = WindowBatch.model_validate(json.loads(raw))
        if repeated_members(raw):
            return None
        return [window_fields_from_create(item, zone) for item in body.windows]
    except Exception:
        return None


def _agree(raw: bytes, zone: str) -> list[WindowFields] | None:
    try:
        document = json.loads(raw)
    except ValueError:
        return None  # the shortcut leaves a body that is not JSON to the route
    fast = batch_fields(raw, document, zone)
    if fast is not None:
        assert fast == _route(raw, zone), raw[:300]
    return fast


def _item(i: int = 0, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"w{i}", "targets": [f"service:s{i}"],
                            "schedule": {"kind": "once", "start": "2030-01-07T02:00:00Z",
                                         "end": "2030-01-07T04:00:00+01:00"}}
    body.update(changes)
    return body


def _raw(document: Any, **dumps: Any) -> bytes:
    return json.dumps(document, **dumps).encode()


def _with_sched(text: str) -> bytes:
    """``text`` with each ``S`` a one-time schedule's JSON."""
    return text.replace("S}", _SCHED + "}").replace("S,", _SCHED + ",").encode()


_SCHED = '{"kind": "once", "start": "2030-01-07T02:00:00Z", "end": "2030-01-07T04:00:00Z"}'


@pytest.mark.parametrize("raw", [
    _raw({"windows": [_item()]}),
    _raw({"windows": [_item(i) for i in range(50)]}),
    _raw({"windows": [_item(description="kernel"), _item(1, description=None),
                      _item(2, targets=[])]}),
    _raw({"windows": [{k: v for k, v in _item().items() if k != "targets"}]}),
    _raw({"windows": [_item(name="Wartung \u00fcber \u00c4nderung")]}),  # \u escapes
    _raw({"windows": [_item(name="Wartung \u00fcber")]}, ensure_ascii=False),
    _raw({"windows": [_item(name="name"), _item(1, description="schedule")]}),
    _raw({"windows": [_item(name='say "name" and "kind"')]}),
    b' {"windows":[' + _raw(_item()) + b"]}\n",
], ids=lambda raw: raw[:60].decode())
def test_batches_of_common_creates_are_taken_as_the_route_takes_them(raw: bytes) -> None:
    assert _agree(raw, "Europe/Berlin") is not None


@pytest.mark.parametrize("raw", [
    _raw({"windows": []}),
    _raw({"windows": [_item()] * 10_001}),
    _raw({"windows": [_item()], "dry_run": True}),
    _raw({"windows": {"0": _item()}}),
    _raw([_item()]),
    _raw({"windows": [_item(), _item(1, effects=["mute"])]}),
    _raw({"windows": [_item(), _item(1, name="")]}),
    _raw({"windows": [_item(), _item(1, targets=["not a target"])]}),
    _raw({"windows": [_item(), None]}),
    _with_sched('{"windows": [{"name": "a", "name": "b", "targets": [], "schedule": S}]}'),
    _with_sched('{"windows": [{"name": "a", "targets": [], "schedule": S}], "windows": '
                '[{"name": "a", "schedule": S}]}'),
    b'{"windows": [{"name": "a", "schedule": {"kind": "once", "kind": "once", '
    b'"start": "2030-01-07T02:00:00Z", "end": "2030-01-07T04:00:00Z"}}]}',
    _with_sched('{"windows": [{"name": "a", "n\\u0061me": "b", "schedule": S}]}'),
    _with_sched('{"windows": [{"name": "a", "schedule": S, "sch\\u0065dule": S}]}'),
    _with_sched('{"windows": [{"targets": [], "name": "a", "schedule": S, '
                '"targets": ["s:1"]}]}'),
    _with_sched('{"windows": [{"name": "a", "description": null, "description": "x", '
                '"schedule": S}]}'),
], ids=lambda raw: raw[:70].decode())
def test_anything_else_is_left_to_the_route(raw: bytes) -> None:
    assert batch_fields(raw, json.loads(raw), "UTC") is None


def test_a_batch_in_utf_16_is_read_with_the_exact_check() -> None:
    raw = json.dumps({"windows": [_item()]}).encode("utf-16")
    assert (names_members_once(raw, [_item()]), _agree(raw, "UTC") is not None) == (
        True, True)


_names = ("windows", "name", "schedule", "targets", "description", "kind", "start", "end")


@st.composite
def _texts(draw: st.DrawFn, document: Any) -> str:
    """``document`` as JSON text, written with some member names repeated (with another
    value), some spelled with \\u escapes, and with or without ASCII escaping of values."""
    ascii_only = draw(st.booleans())

    def name(key: str) -> str:
        if draw(st.integers(0, 7)) == 0 and key:
            at = draw(st.integers(0, len(key) - 1))
            return (json.dumps(key[:at])[:-1] + f"\\u{ord(key[at]):04x}"
                    + json.dumps(key[at + 1:])[1:])
        return json.dumps(key, ensure_ascii=ascii_only)

    def text(node: Any) -> str:
        if isinstance(node, dict):
            members = [f"{name(k)}: {text(v)}" for k, v in node.items()]
            if members and draw(st.integers(0, 9)) == 0:
                key = draw(st.sampled_from(sorted(node)))
                again = f"{name(key)}: {text(draw(st.sampled_from(list(node.values()))))}"
                members.insert(draw(st.integers(0, len(members))), again)
            return "{" + ", ".join(members) + "}"
        if isinstance(node, list):
            return "[" + ", ".join(text(v) for v in node) + "]"
        return json.dumps(node, ensure_ascii=ascii_only)

    return text(document)


@st.composite
def batches(draw: st.DrawFn) -> bytes:
    """Batch bodies: mostly common creates (``documents`` around the common shape, names and
    values that spell member names), sometimes another top level."""
    common = st.builds(_item, st.integers(0, 99), name=st.sampled_from(
        ["w", "name", '"kind"', "\u00fcber", "sched\\u0065"]))
    items = draw(st.lists(st.one_of(common, common, common, documents()), min_size=0,
                          max_size=6))
    top: Any = {"windows": items}
    if draw(st.integers(0, 14)) == 0:
        top = draw(st.sampled_from([items, {"windows": items, "name": "x"}, {}]))
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16"]))
    return draw(_texts(top)).encode(encoding, "surrogatepass")  # json.loads reads it so


@settings(max_examples=300, deadline=None)
@given(raw=batches(), zone=st.sampled_from(ZONES))
def test_any_batch_reads_as_the_route_reads_it(raw: bytes, zone: str) -> None:
    _agree(raw, zone)


@settings(max_examples=300, deadline=None)
@given(raw=batches())
def test_the_count_of_members_agrees_with_the_exact_check(raw: bytes) -> None:
    document = json.loads(raw)
    items = document.get("windows") if isinstance(document, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return
    assert names_members_once(raw, items) == (not repeated_members(raw)), raw[:300]


def test_the_shortcut_answers_as_the_route_does(tenant: Tenant) -> None:
    """The same status, headers and body shape whether the shortcut or the route answers
    (an item with ``effects`` is not a common create: the route reads that batch)."""
    start = now() + timedelta(days=1)
    sched = {"kind": "once", "start": iso(start), "end": iso(start + timedelta(hours=1))}
    common = {"windows": [window_body(f"fast-{i}", schedule=sched) for i in range(3)]}
    routed = {"windows": [{**window_body(f"slow-{i}", schedule=sched), "effects": ["mute"]}
                          for i in range(3)]}
    answers = [tenant.editor.post(BATCH, json=body) for body in (common, routed)]

    def shape(response: Any) -> tuple[Any, ...]:
        ids = response.json()["ids"]
        return (response.status_code, response.headers["content-type"],
                response.content == json.dumps({"created": 3, "ids": ids},
                                               separators=(",", ":")).encode(),
                len(ids), ids == sorted(ids))

    assert [shape(a) for a in answers] == [(201, "application/json", True, 3, True)] * 2


def test_a_batch_through_the_shortcut_is_stored_as_through_the_route(tenant: Tenant) -> None:
    start = now() + timedelta(days=1)
    sched = {"kind": "once", "start": iso(start), "end": iso(start + timedelta(hours=1))}
    body = window_body("same", schedule=sched, targets=["service:b", "service:a"],
                       description="d")
    fast = tenant.editor.post(BATCH, json={"windows": [body]}).json()["ids"][0]
    slow = tenant.editor.post(BATCH, json={"windows": [{**body, "effects": ["mute"]}]}
                              ).json()["ids"][0]
    shown = [tenant.viewer.get(f"/api/v1/windows/{i}").json() for i in (fast, slow)]
    for window in shown:
        for volatile in ("id", "created_at", "updated_at"):
            window.pop(volatile)
    assert shown[0] == shown[1]


# A few instant texts shared by a batch's windows (``batch_fields`` reads each text once):
# aware, naive (read in the zone, through a DST gap too), with a blank or a lower-case z,
# out of range, not an instant at all.
_SHARED = ["2030-01-07T02:00:00Z", "2030-01-07T04:00:00+01:00", "2030-03-31T02:30:00",
           "2030-03-31T05:00:00", " 2030-01-07T06:00:00z", "0001-01-01T00:00:00Z",
           "2030-02-30T00:00:00Z", "soon", "2030-01-07T04:00:00.1234567Z"]


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(_SHARED), st.sampled_from(_SHARED)),
                      min_size=1, max_size=8),
       zone=st.sampled_from(ZONES))
def test_shared_instants_read_as_each_alone(pairs: list[tuple[str, str]], zone: str) -> None:
    """Windows sharing instant texts: the fields of each as ``common_fields`` reads it
    alone (or None for the batch when one is not taken), and as the route reads them."""
    items = [_item(i, schedule={"kind": "once", "start": a, "end": b})
             for i, (a, b) in enumerate(pairs)]
    raw = _raw({"windows": items})
    alone = [common_fields(item, zone) for item in items]
    expected = None if None in alone else alone
    assert batch_fields(raw, json.loads(raw), zone) == expected
    assert _agree(raw, zone) == expected
