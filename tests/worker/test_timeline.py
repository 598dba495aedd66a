"""Which occurrence events a window has, and when: named tables, one assertion each.

Transitions checked across the Berlin spring-forward night (2026-03-29, 02:00 → 03:00 CEST):
a daily 01:00 to 04:00 window lasts 2 h that night, so its ``ending_soon`` and ``ended`` move with
the wall clock, not with elapsed time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from quietly.core.model import Effect, OnceSchedule, RecurringSchedule, SimpleRule, Window
from quietly.worker.timeline import Leads, next_due, transitions


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def once(start: datetime, end: datetime, **extra: object) -> Window:
    return Window(id=1, workspace_id=1, name="w", schedule=OnceSchedule(start, end),
                  effects=frozenset({Effect.MUTE}), **extra)  # type: ignore[arg-type]


DAILY_BERLIN = Window(
    id=2, workspace_id=1, name="nightly", effects=frozenset({Effect.MUTE}),
    schedule=RecurringSchedule(timezone="Europe/Berlin", rule=SimpleRule("daily"),
                               start_time=time(1, 0), end_time=time(4, 0),
                               starts_on=date(2026, 3, 27)))


def events(window: Window, leads: Leads, low: datetime, high: datetime
           ) -> list[tuple[str, str]]:
    return [(t.event, t.at.isoformat()) for t in transitions(window, leads, low, high)]


def test_one_time_window_with_leads() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12))
    assert events(window, Leads(15, 5), utc(2026, 5, 1), utc(2026, 5, 2)) == [
        ("starting_soon", "2026-05-01T09:45:00+00:00"),
        ("started", "2026-05-01T10:00:00+00:00"),
        ("ending_soon", "2026-05-01T11:55:00+00:00"),
        ("ended", "2026-05-01T12:00:00+00:00"),
    ]


def test_the_range_is_half_open_and_leads_of_zero_mean_none() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12))
    cases = {
        (utc(2026, 5, 1, 10), utc(2026, 5, 1, 12)): [("started", "2026-05-01T10:00:00+00:00")],
        (utc(2026, 5, 1, 12), utc(2026, 5, 1, 13)): [("ended", "2026-05-01T12:00:00+00:00")],
        (utc(2026, 5, 1, 10, 0, 1), utc(2026, 5, 1, 12)): [],
    }
    assert {k: events(window, Leads(0, None), *k) for k in cases} == cases


def test_an_ending_lead_longer_than_the_occurrence_fires_at_the_start() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 10, 3))
    assert [e for e, _ in events(window, Leads(None, 10), utc(2026, 5, 1), utc(2026, 5, 2))
            ] == ["started", "ending_soon", "ended"]
    assert transitions(window, Leads(None, 10), utc(2026, 5, 1),
                       utc(2026, 5, 2))[1].at == utc(2026, 5, 1, 10)


def test_cancelling_a_running_occurrence_ends_it_there() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12),
                  cancelled_at=utc(2026, 5, 1, 11))
    assert events(window, Leads(), utc(2026, 5, 1), utc(2026, 5, 2)) == [
        ("started", "2026-05-01T10:00:00+00:00"), ("ended", "2026-05-01T11:00:00+00:00")]


def test_cancelling_before_the_start_leaves_no_events() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12),
                  cancelled_at=utc(2026, 5, 1, 9))
    assert (events(window, Leads(30), utc(2026, 5, 1, 9), utc(2026, 5, 2)),
            next_due(window, Leads(30), utc(2026, 5, 1, 9))) == ([], None)


def test_daily_berlin_window_across_spring_forward() -> None:
    got = events(DAILY_BERLIN, Leads(None, 30), utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert got == [
        ("started", "2026-03-29T00:00:00+00:00"),       # 01:00 CET
        ("ending_soon", "2026-03-29T01:30:00+00:00"),   # 03:30 CEST
        ("ended", "2026-03-29T02:00:00+00:00"),         # 04:00 CEST: 2 h after the start
    ]


def test_ending_events_are_keyed_by_the_end_so_an_extension_announces_again() -> None:
    short = transitions(once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12)), Leads(None, 5),
                        utc(2026, 5, 1), utc(2026, 5, 2))
    longer = transitions(once(utc(2026, 5, 1, 10), utc(2026, 5, 1, 13)), Leads(None, 5),
                         utc(2026, 5, 1), utc(2026, 5, 2))
    assert [(a.key == b.key) for a, b in zip(short, longer, strict=True)] == [
        True, False, False]


def test_next_due_finds_the_next_transition_near_and_far() -> None:
    window = once(utc(2026, 5, 1, 10), utc(2026, 5, 8, 10))  # a week-long occurrence
    far = once(utc(2027, 5, 1, 10), utc(2027, 5, 1, 11))
    cases = {
        "before, with a lead": next_due(window, Leads(60), utc(2026, 4, 1)),
        "running, a week to go": next_due(window, Leads(), utc(2026, 5, 2)),
        "exactly at the end": next_due(window, Leads(), utc(2026, 5, 8, 10)),
        "after everything": next_due(window, Leads(), utc(2026, 5, 9)),
        "a year away": next_due(far, Leads(), utc(2026, 5, 1)),
        "recurring": next_due(DAILY_BERLIN, Leads(), utc(2026, 3, 29, 3)),
    }
    assert cases == {
        "before, with a lead": utc(2026, 5, 1, 9),
        "running, a week to go": utc(2026, 5, 8, 10),
        "exactly at the end": utc(2026, 5, 8, 10),
        "after everything": None,
        "a year away": utc(2027, 5, 1, 10),
        "recurring": utc(2026, 3, 29, 23),
    }


def test_transitions_never_leave_the_range() -> None:
    low, high = utc(2026, 3, 1), utc(2026, 4, 30)
    found = transitions(DAILY_BERLIN, Leads(45, 15), low, high)
    assert all(low <= t.at < high for t in found)
    assert len({(t.key, t.at) for t in found}) == len(found)
    assert [t.at for t in found] == sorted(t.at for t in found)
    # Mar 27 to Apr 29: 34 whole occurrences; Apr 30 starts at 23:00Z on Apr 29, inside.
    assert len(found) == 34 * 4 + 2
