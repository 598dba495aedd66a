"""Windows → Icinga 2 downtimes: objects, reasons, bounds and tags (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.model import (
    ConditionGroup,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    SimpleRule,
    Window,
)
from quietly.sync.icinga2.translate import (
    DEFAULT_TARGET_OBJECTS,
    DowntimePayload,
    IcingaObject,
    IcingaScope,
    desired_downtimes,
    occurrence_end_to_downtime_end,
    translate_scope,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def window(**extra: object) -> Window:
    fields: dict[str, object] = {
        "id": 7, "workspace_id": 1, "name": "patching",
        "schedule": OnceSchedule(T0, T0 + timedelta(hours=2)),
        "effects": frozenset({Effect.MUTE})}
    fields.update(extra)
    return Window(**fields)  # type: ignore[arg-type]


HOST = IcingaObject("Host", "web1", "", True)
SCOPES = {
    "a host, with its services": (
        window(targets=frozenset({"host:web1"})), (HOST,), ()),
    "a service": (
        window(targets=frozenset({"service:web1!http"})),
        (IcingaObject("Service", "web1", "http"),), ()),
    "a group, expanded": (
        window(groups=frozenset({"web"})),
        (HOST, IcingaObject("Host", "web2", "", True)), ()),
    "a service without its host": (
        window(targets=frozenset({"service:http"})), (),
        ("target 'service:http': a service target stands for an Icinga service and must be "
         "written host!service",)),
    "an unmapped kind": (
        window(targets=frozenset({"host:web1", "monitor:1", "monitor:2"})), (HOST,),
        ("targets of kind 'monitor' (2): no Icinga object type stands for this kind "
         "(target_objects)",)),
    "label matchers": (
        window(targets=frozenset({"host:web1"}),
               match=(ConditionGroup((Matcher("env", MatcherOp.EQ, "prod"),)),)),
        (HOST,),
        ("match (1 condition group(s)): Icinga has no alert labels; only targets become "
         "downtimes",)),
    "all targets": (
        window(all_targets=True), (),
        ("all_targets: Icinga downtimes are scheduled per host or service, not on "
         "everything",)),
    "reroute only": (
        window(targets=frozenset({"host:web1"}), effects=frozenset({Effect.REROUTE})), (),
        ("effects reroute: an Icinga downtime can only silence (mute, suppress_incidents, "
         "drop)",)),
}


@pytest.mark.parametrize("case", SCOPES)
def test_translate_scope(case: str) -> None:
    win, objects, reasons = SCOPES[case]
    got = translate_scope(win, {"web": frozenset({"host:web1", "host:web2"})},
                          DEFAULT_TARGET_OBJECTS, all_services=True)
    assert (got.objects, got.reasons) == (objects, reasons)


def test_host_downtimes_leave_services_out_when_asked() -> None:
    got = translate_scope(window(targets=frozenset({"host:web1"})), {},
                          DEFAULT_TARGET_OBJECTS, all_services=False)
    assert got.objects == (IcingaObject("Host", "web1", "", False),)


def _scope(lead: timedelta = timedelta(hours=24)) -> IcingaScope:
    return IcingaScope(1, 3, DEFAULT_TARGET_OBJECTS, True, lead, "https://q.example")


def test_each_occurrence_within_the_lead_is_one_downtime_per_object() -> None:
    # Daily 02:00-04:00 Berlin: with a 30 h lead at 01:00Z, today's and tomorrow's run.
    daily = window(targets=frozenset({"host:web1", "service:db1!pg"}), schedule=RecurringSchedule(
        timezone="Europe/Berlin", rule=SimpleRule("daily"), start_time=time(2, 0),
        end_time=time(4, 0)))
    desired, problems = desired_downtimes([daily], {}, _scope(timedelta(hours=30)),
                                          datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    got = sorted((d.starts_at.isoformat(), d.ends_at.isoformat(),
                  d.payload.object.full_name) for d in desired
                 if isinstance(d.payload, DowntimePayload))
    assert (got, problems) == ([
        ("2026-03-02T01:00:00+00:00", "2026-03-02T02:59:59.999000+00:00", "db1!pg"),
        ("2026-03-02T01:00:00+00:00", "2026-03-02T02:59:59.999000+00:00", "web1"),
        ("2026-03-03T01:00:00+00:00", "2026-03-03T02:59:59.999000+00:00", "db1!pg"),
        ("2026-03-03T01:00:00+00:00", "2026-03-03T02:59:59.999000+00:00", "web1"),
    ], [])


def test_the_comment_names_the_window_and_carries_the_tag() -> None:
    desired, _ = desired_downtimes([window(targets=frozenset({"host:web1"}))], {}, _scope(),
                                   T0)
    payload = desired[0].payload
    assert isinstance(payload, DowntimePayload)
    assert payload.comment == (
        "patching — https://q.example/windows/7\n" + desired[0].tag.render())


def test_ended_and_cancelled_windows_want_nothing() -> None:
    ended = window(targets=frozenset({"host:web1"}), schedule=OnceSchedule(
        T0 - timedelta(hours=3), T0 - timedelta(hours=1)))
    cancelled = window(id=8, targets=frozenset({"host:web1"}), cancelled_at=T0)
    assert desired_downtimes([ended, cancelled], {}, _scope(), T0) == ([], [])


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_a_downtime_ends_in_the_last_millisecond_before_the_occurrence(end: datetime) -> None:
    got = occurrence_end_to_downtime_end(end)
    assert (got < end, end - got <= timedelta(milliseconds=1), got.microsecond % 1000) == (
        True, True, 0)
