"""``core.construct.slot_constructor`` builds the instance the dataclass's own ``__init__``
builds: equal, of the same class, every field set (defaults and default factories included),
for any values; and it refuses classes it cannot build that way."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.construct import slot_constructor
from quietly.core.model import Effect, OnceSchedule, Window
from quietly.core.records import WindowFields, WindowRecord

_instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                         timezones=st.just(UTC))
_once = st.builds(OnceSchedule, start=_instants, end=_instants,
                  timezone=st.none() | st.sampled_from(["UTC", "Europe/Berlin"]))
_names = st.lists(st.sampled_from(["service:a", "host:h", "monitor:7"]), max_size=3)
_values: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers(1, 10**9), "workspace_id": st.integers(1, 100),
    "name": st.text(max_size=8), "schedule": _once, "description": st.none() | st.text(),
    "targets": _names.map(tuple), "effects": st.sets(st.sampled_from(list(Effect))),
    "all_targets": st.booleans(), "incident_id": st.none() | st.text(max_size=5),
    "created_at": _instants, "updated_at": _instants,
    "cancelled_at": st.none() | _instants, "archived_at": st.none() | _instants,
    "created_by": st.none() | st.text(max_size=5), "start": _instants, "end": _instants,
    "timezone": st.none() | st.just("UTC"),
}

# (class, the fields given): the constructors the bulk create uses, and some others.
CASES = [
    (WindowFields, ("name", "schedule", "description", "targets")),
    (WindowFields, ("name", "schedule")),
    (OnceSchedule, ("start", "end", "timezone")),
    (WindowRecord, ("id", "workspace_id", "fields", "created_by", "created_at",
                    "updated_at")),
    (Window, tuple(f.name for f in dataclasses.fields(Window))),
    (Window, ("id", "workspace_id", "name", "schedule", "effects")),
]


def _value_of(draw: st.DrawFn, cls: type, name: str) -> Any:
    if cls is WindowRecord and name == "fields":
        return WindowFields(name=draw(st.text(max_size=5)), schedule=draw(_once))
    if cls is Window and name in ("targets", "groups", "effects"):
        return frozenset(draw(_values["effects"] if name == "effects" else _names))
    if name in ("groups", "escalation_targets"):
        return tuple(draw(_names))
    if name == "match":
        return ()
    return draw(_values[name])


@pytest.mark.parametrize(("cls", "names"), CASES, ids=lambda c: getattr(c, "__name__", ""))
@given(data=st.data())
def test_the_instance_is_the_one_init_builds(cls: type, names: tuple[str, ...],
                                             data: st.DataObject) -> None:
    values = [_value_of(data.draw, cls, name) for name in names]
    built = slot_constructor(cls, names)(*values)
    expected = cls(**dict(zip(names, values, strict=True)))
    assert (type(built), built, [getattr(built, f.name) for f in dataclasses.fields(cls)]) \
        == (cls, expected, [getattr(expected, f.name) for f in dataclasses.fields(cls)])


def test_a_default_factory_is_called_for_each_instance() -> None:
    make = slot_constructor(WindowFields, ("name", "schedule"))
    once = OnceSchedule(datetime(2030, 1, 1, tzinfo=UTC),
                        datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=1))
    first, second = make("a", once), make("a", once)
    assert (first.vendor, first.vendor is second.vendor) == ({}, False)


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    a: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a")


@dataclasses.dataclass(frozen=True, slots=True)
class _Required:
    a: int
    b: int


@pytest.mark.parametrize(("cls", "names", "why"), [
    (_NoSlots, ("a",), "is not a slotted dataclass"),
    (dict, (), "is not a slotted dataclass"),
    (_Checked, ("a",), "checks its fields in __post_init__"),
    (_Required, ("a",), "_Required.b has no default: name it"),
    (_Required, ("a", "b", "c"), "_Required has no field c"),
])
def test_classes_it_cannot_build_so_are_refused(cls: type, names: tuple[str, ...],
                                                why: str) -> None:
    with pytest.raises(TypeError) as refused:
        slot_constructor(cls, names)
    assert why in str(refused.value)
