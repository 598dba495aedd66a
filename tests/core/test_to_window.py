"""``WindowRecord.to_window`` (by slots, the default effects and no groups as shared sets)
equals the ``Window`` its constructor builds from the record; and an entry's version
(``entries._version``, remembering the last instant) is ``micros`` of it, whatever the order
in which instants, repeated or not, come; ``names`` of one name as of several."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core.entries import _SMALL, _version, names
from quietly.core.intervals import micros
from quietly.core.model import Effect, OnceSchedule, Window
from quietly.core.records import WindowFields, WindowRecord

_BASE = datetime(2031, 6, 1, 22, 0, tzinfo=UTC)
_at = st.builds(lambda m, zone: (_BASE + timedelta(microseconds=m)).astimezone(zone),
                st.integers(-10**15, 10**15),
                st.sampled_from([UTC, timezone(timedelta(hours=2))]))
_names = st.lists(st.sampled_from(["service:a", "service:b", "g"]), max_size=3).map(tuple)
_effects = st.one_of(st.just(WindowFields.__dataclass_fields__["effects"].default),
                     st.lists(st.sampled_from(Effect), max_size=3).map(tuple))


@settings(max_examples=300, deadline=None)
@given(targets=_names, groups=_names, effects=_effects, start=_at, cut=st.none() | _at,
       default=st.booleans())
def test_to_window_is_the_window(targets: tuple[str, ...], groups: tuple[str, ...],
                                 effects: tuple[Effect, ...], start: datetime,
                                 cut: datetime | None, default: bool) -> None:
    fields = WindowFields(name="w", schedule=OnceSchedule(start, start + timedelta(hours=1)),
                          targets=targets, groups=groups, description="d")
    if not default:
        fields = fields.with_changes(effects=effects)
    record = WindowRecord(7, 3, fields, "key:k", start, start, cut, None)
    window = record.to_window()
    assert window == Window(
        id=7, workspace_id=3, name="w", schedule=fields.schedule,
        effects=frozenset(fields.effects), targets=frozenset(targets),
        groups=frozenset(groups), match=(), all_targets=False, description="d",
        escalation_targets=(), incident_id=None, created_at=start, cancelled_at=cut,
        archived_at=None, updated_at=start)
    assert type(window.effects) is frozenset
    assert type(window.groups) is frozenset


@settings(max_examples=300, deadline=None)
@given(picks=st.lists(st.integers(0, 4), max_size=12), instants=st.lists(
    st.none() | _at, min_size=5, max_size=5))
def test_the_version_is_micros(picks: list[int], instants: list[datetime | None]) -> None:
    """The same objects asked about again and again, equal ones, None: always ``micros``."""
    for i in picks:
        at = instants[i]
        expected = None if at is None else micros(at)
        assert _version(at) == expected
        assert _version(at) == expected  # remembered
        if i % 2:
            assert _version(None if at is None else at + timedelta(0)) == expected


@settings(max_examples=200, deadline=None)
@given(items=st.lists(st.text(max_size=4), max_size=12), kind=st.sampled_from(
    [frozenset, tuple, list]))
def test_names_of_one_or_many(items: list[str], kind: type) -> None:
    """``entries.names`` (one name of a frozenset taken without the dict): the names
    interned and without repeats, in a tuple up to ``_SMALL``, else a frozenset."""
    given_ = kind(items)
    unique = tuple(dict.fromkeys(given_))
    got = names(given_)
    assert got == (unique if len(unique) <= _SMALL else frozenset(unique))
    assert all(name is sys.intern(name) for name in got)
