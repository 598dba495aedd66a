"""``create_fastpath.common_fields`` reads the common create without pydantic: for any JSON
document it gives exactly what ``WindowCreate`` and the conversion give, or None — and None
whenever they refuse it, so every error is still the model's (the same bytes, since the
application answers it). A table of near misses and a hypothesis property over documents
built around the common shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.create_fastpath import common_fields
from quietly.api.native.schemas import WindowCreate
from quietly.core.records import WindowFields

ZONES = ["UTC", "Europe/Berlin", "America/New_York"]


def _full(document: Any, zone: str) -> WindowFields | None:
    """What the model's path makes of ``document``; None where it refuses it."""
    try:
        return window_fields_from_create(WindowCreate.model_validate(document), zone)
    except Exception:
        return None


def _agree(document: Any, zone: str) -> WindowFields | None:
    fast = common_fields(document, zone)
    if fast is not None:
        assert fast == _full(document, zone), document
    return fast


def _once(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "db upgrade", "targets": ["service:db", "host:h-1"],
                            "schedule": {"kind": "once", "start": "2026-12-07T02:00:00Z",
                                         "end": "2026-12-07T04:00:00+01:00"}}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize("document", [
    _once(),
    _once(targets=_DROP),
    _once(targets=[]),
    _once(description="kernel"),
    _once(description=None),
    _once(targets=["service:a", "service:a", "service:b"]),
    _once(name="x" * 500),
    _once(name="Wartung \u00fcber \u00c4nderung 🛠"),
    _once(schedule={"kind": "once", "start": "2026-12-07T02:00:00", "end": "2026-12-07 03:00"}),
    _once(targets=["service:" + "!" * 256]),
], ids=lambda d: json.dumps(d)[:60])
def test_the_common_creates_are_taken_as_the_model_takes_them(document: Any) -> None:
    assert _agree(document, "Europe/Berlin") is not None


@pytest.mark.parametrize("document", [
    None, [], "x", 1,
    _once(name=_DROP), _once(schedule=_DROP),
    _once(name=""), _once(name="x" * 501), _once(name=1), _once(name=None),
    _once(name="a\ud800b"), _once(description="a\udfffb"), _once(description=1),
    _once(description="d" * 10_001),
    _once(targets="service:a"), _once(targets=["service"]), _once(targets=["Service:a"]),
    _once(targets=["service:a b"]), _once(targets=["service:"]), _once(targets=[1]),
    _once(targets=["service:" + "a" * 257]), _once(targets=["service:a"] * 1001),
    _once(schedule={"kind": "once", "start": "2026-12-07T02:00:00Z"}),
    _once(schedule={"kind": "recurring", "start": "2026-12-07T02:00:00Z",
                    "end": "2026-12-07T03:00:00Z"}),
    _once(schedule={"kind": "once", "start": "2026-12-07T02:00:00Z",
                    "end": "2026-12-07T03:00:00Z", "timezone": "Nowhere/Else"}),
    _once(schedule={"kind": "once", "start": "tomorrow", "end": "2026-12-07T03:00:00Z"}),
    _once(schedule={"kind": "once", "start": "", "end": "2026-12-07T03:00:00Z"}),
    _once(schedule={"kind": "once", "start": "0001-01-01T00:00:00Z",
                    "end": "2026-12-07T03:00:00Z"}),
    _once(schedule={"kind": "once", "start": 1, "end": "2026-12-07T03:00:00Z"}),
    _once(schedule={"kind": "once", "start": "2026-12-07T02:00:00Z" + " " * 60,
                    "end": "2026-12-07T03:00:00Z"}),
    _once(schedule=["once"]),
    _once(colour="red"), _once(groups=["g"]), _once(effects=["mute"]),
    _once(all_targets=True), _once(match=[]),
], ids=lambda d: json.dumps(d, default=str)[:60])
def test_anything_else_is_left_to_the_model(document: Any) -> None:
    assert common_fields(document, "UTC") is None


def test_the_model_refuses_the_near_misses_the_fast_read_leaves() -> None:
    """Those the model refuses keep its error: the fast read leaves them all."""
    refused = [_once(name=""), _once(name="a\ud800b"), _once(targets=["service:a b"]),
               _once(schedule={"kind": "once", "start": "tomorrow",
                               "end": "2026-12-07T03:00:00Z"}), _once(colour="red")]
    assert [(_full(d, "UTC"), common_fields(d, "UTC")) for d in refused] == \
        [(None, None)] * len(refused)


_texts = st.one_of(st.text(max_size=12), st.text(min_size=1, max_size=12),
                   st.sampled_from(["", "x" * 500, "x" * 501, "a\ud800", "Ünïcode 🛠"]))
_good_instants = st.sampled_from([
    "2026-12-07T02:00:00Z", "2026-12-07T02:00:00+05:30", "2026-12-07 02:00",
    "2026-12-07T02:00:00.123456Z", "2026-12-07t02:00:00z", " 2026-12-07T02:00:00Z",
    "2026-03-29T02:30:00", "2999-12-31T23:59:59-12:00"])
_instants = st.one_of(
    _good_instants, _good_instants, _good_instants,
    st.sampled_from(["2026-02-30T00:00:00Z", "1969-12-31", "2026-12-07T02:00:00.123456789Z",
                     "", "x" * 65, "2026-12-07T02:00:00Z" + " " * 50]),
    st.text(max_size=30), st.integers())
_targets = st.one_of(
    st.sampled_from(["service:a", "host:h-1", "monitor:7"]),
    st.sampled_from(["service:a", "host:h-1", "service:a b", "Service:a", "svc", "k:é",
                     "service:" + "z" * 256, "service:" + "z" * 257, "k_9:!~"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,5}:[!-~ ]{0,8}", fullmatch=True), st.integers())
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Documents around the common shape: each key present or not, well or badly typed."""
    if draw(st.integers(0, 19)) == 0:
        return draw(_json)
    schedule: dict[str, Any] = {}
    for key, values in (("kind", st.sampled_from(["once"] * 5 + ["recurring", "ONCE", 1])),
                        ("start", _instants), ("end", _instants),
                        ("timezone", st.sampled_from([None, "UTC", "Nowhere"]))):
        if draw(st.integers(0, 9)) < (1 if key == "timezone" else 9):
            schedule[key] = draw(values)
    document: dict[str, Any] = {}
    for key, values in (("name", _texts),
                        ("schedule", st.just(schedule) | st.just(schedule) | _json),
                        ("targets", st.lists(_targets, max_size=4) | st.lists(
                            _targets, max_size=4) | _json),
                        ("description", st.none() | _texts | st.integers()),
                        ("effects", st.just(["mute"])), ("colour", st.just("red"))):
        if draw(st.integers(0, 9)) < {"name": 9, "schedule": 9, "targets": 7,
                                      "description": 3}.get(key, 1):
            document[key] = draw(values)
    return document


@settings(max_examples=1500, deadline=None)
@given(document=documents(), zone=st.sampled_from(ZONES))
def test_any_document_reads_as_the_model_reads_it(document: Any, zone: str) -> None:
    _agree(document, zone)


@settings(max_examples=800, deadline=None)
@given(name=_texts, targets=st.lists(_targets, max_size=4), start=_instants, end=_instants,
       zone=st.sampled_from(ZONES))
def test_a_document_in_the_common_shape_reads_as_the_model_reads_it(
        name: Any, targets: list[Any], start: Any, end: Any, zone: str) -> None:
    _agree({"name": name, "targets": targets,
            "schedule": {"kind": "once", "start": start, "end": end}}, zone)
