"""The decision index against the domain rules: named cases, then the property of issue 3.

Acceptance 1 of issue 3: for random windows (one-time and recurring — simple daily/weekly
forms and RRULEs — in Europe/Berlin, America/New_York, Australia/Lord_Howe and UTC), random
targets, groups and labels, random instants clustered around each zone's DST transitions,
and after random upserts, removes, cancellations, group changes and horizon moves, the
index's decision equals ``brute_force_decide``'s, with no disagreement.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from quietly.core import schedule as sched
from quietly.core.engine import DecisionIndex, brute_force_decide
from quietly.core.errors import ScheduleError
from quietly.core.lifecycle import window_occurrences
from quietly.core.model import (
    Alert,
    ConditionGroup,
    CronRule,
    Decision,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    RecurringSchedule,
    RRuleRule,
    Schedule,
    SimpleRule,
    Verdict,
    Window,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def window(wid: int, effect: Effect = Effect.MUTE, **fields: object) -> Window:
    """A window running NOW-1h … NOW+1h unless told otherwise."""
    base = Window(
        id=wid,
        workspace_id=1,
        name=f"w{wid}",
        schedule=OnceSchedule(NOW - HOUR, NOW + HOUR),
        effects=frozenset({effect}),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def group(*matchers: Matcher) -> ConditionGroup:
    return ConditionGroup(matchers)


EQ_PROD = Matcher("env", MatcherOp.EQ, "prod")
RE_DB = Matcher("service", MatcherOp.RE, "db-.*")
NE_P1 = Matcher("severity", MatcherOp.NE, "p1")
EQ_EMPTY_TEAM = Matcher("team", MatcherOp.EQ, "")
A = frozenset({"service:a"})


@dataclass(frozen=True)
class Case:
    name: str
    windows: list[Window]
    alert: Alert
    expected: Decision
    groups: dict[str, set[str]] = field(default_factory=dict)
    at: datetime = NOW


CASES = [
    Case("no windows", [], Alert(("service:a",)), Decision(Verdict.DELIVER)),
    Case(
        "target",
        [window(1, targets=frozenset({"service:a"})), window(2, targets=frozenset({"service:b"}))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
    ),
    Case(
        "target, window not running yet",
        [window(1, targets=A, schedule=OnceSchedule(NOW + HOUR, NOW + 9 * HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "target, at the end instant (half-open)",
        [window(1, targets=frozenset({"service:a"}))],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
        at=NOW + HOUR,
    ),
    Case(
        "target, at the start instant",
        [window(1, targets=frozenset({"service:a"}))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
        at=NOW - HOUR,
    ),
    Case(
        "group member",
        [window(3, groups=frozenset({"web"}))],
        Alert(("service:w2",)),
        Decision(Verdict.MUTE, (3,)),
        groups={"web": {"service:w1", "service:w2"}},
    ),
    Case(
        "group non-member",
        [window(3, groups=frozenset({"web"}))],
        Alert(("service:db",)),
        Decision(Verdict.DELIVER),
        groups={"web": {"service:w1"}, "db": {"service:db"}},
    ),
    Case(
        "all targets",
        [window(4, Effect.DROP, all_targets=True)],
        Alert(()),
        Decision(Verdict.DROP, (4,)),
    ),
    Case(
        "label anchor and regex",
        [window(5, match=(group(EQ_PROD, RE_DB),))],
        Alert(labels={"env": "prod", "service": "db-1"}),
        Decision(Verdict.MUTE, (5,)),
    ),
    Case(
        "label anchor, regex fails",
        [window(5, match=(group(EQ_PROD, RE_DB),))],
        Alert(labels={"env": "prod", "service": "web"}),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "scan group on an alert without labels",
        [window(6, match=(group(NE_P1),))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (6,)),
    ),
    Case(
        "empty equality matches a missing label",
        [window(6, match=(group(EQ_EMPTY_TEAM, NE_P1),))],
        Alert(labels={"severity": "p2"}),
        Decision(Verdict.MUTE, (6,)),
    ),
    Case(
        "second condition group",
        [window(7, match=(group(EQ_PROD), group(RE_DB)))],
        Alert(labels={"service": "db-9"}),
        Decision(Verdict.MUTE, (7,)),
    ),
    Case(
        "precedence across windows, all listed",
        [
            window(8, Effect.SUPPRESS_INCIDENTS, targets=frozenset({"service:a"})),
            window(2, Effect.REROUTE, match=(group(EQ_PROD),)),
            window(5, Effect.ATTACH, all_targets=True),
        ],
        Alert(("service:a",), {"env": "prod"}),
        Decision(Verdict.REROUTE, (2, 5, 8)),
    ),
    Case(
        "a window matched twice is listed once",
        [window(9, targets=frozenset({"service:a", "service:b"}), match=(group(EQ_PROD),))],
        Alert(("service:a", "service:b"), {"env": "prod"}),
        Decision(Verdict.MUTE, (9,)),
    ),
    Case(
        "cancelled window",
        [window(1, targets=frozenset({"service:a"}), cancelled_at=NOW)],
        Alert(("service:a",)),
        Decision(Verdict.DELIVER),
    ),
    Case(
        "cancel still to come",
        [window(1, targets=frozenset({"service:a"}), cancelled_at=NOW + timedelta(seconds=1))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
    ),
    Case(
        "far outside the horizon",
        [window(1, targets=A, schedule=OnceSchedule(NOW + 900 * HOUR, NOW + 901 * HOUR))],
        Alert(("service:a",)),
        Decision(Verdict.MUTE, (1,)),
        at=NOW + 900 * HOUR,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decide(case: Case) -> None:
    index = DecisionIndex(NOW)
    for name, members in case.groups.items():
        index.set_group(name, members)
    for w in case.windows:
        index.upsert(w)
    assert index.decide(case.alert, case.at) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_brute_force_agrees_with_table(case: Case) -> None:
    assert brute_force_decide(case.windows, case.groups, case.alert, case.at) == case.expected


def test_group_membership_applies_at_once() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, groups=frozenset({"web"})))
    alert = Alert(("service:w3",))
    before = index.decide(alert, NOW)
    index.set_group("web", {"service:w3"})
    during = index.decide(alert, NOW)
    index.remove_group("web")
    assert (before, during, index.decide(alert, NOW)) == (
        Decision(Verdict.DELIVER),
        Decision(Verdict.MUTE, (1,)),
        Decision(Verdict.DELIVER),
    )


def test_upsert_replaces_the_old_scope() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"}), match=(group(EQ_PROD),)))
    index.upsert(window(1, Effect.DROP, targets=frozenset({"service:b"}), match=(group(RE_DB),)))
    decisions = [
        index.decide(Alert(("service:a",)), NOW),
        index.decide(Alert(labels={"env": "prod"}), NOW),
        index.decide(Alert(("service:b",)), NOW),
    ]
    assert decisions == [
        Decision(Verdict.DELIVER),
        Decision(Verdict.DELIVER),
        Decision(Verdict.DROP, (1,)),
    ]


VERSION_CASES = [
    # (versions delivered in this order, the effect of each, the verdict left)
    ("newer replaces older", [NOW, NOW + HOUR], [Effect.MUTE, Effect.DROP], Verdict.DROP),
    ("older copy after newer is ignored", [NOW + HOUR, NOW], [Effect.DROP, Effect.MUTE],
     Verdict.DROP),
    ("same version delivered again replaces", [NOW, NOW], [Effect.MUTE, Effect.DROP],
     Verdict.DROP),
    ("unknown version replaces", [NOW + HOUR, None], [Effect.DROP, Effect.MUTE], Verdict.MUTE),
    ("replacing an unknown version", [None, NOW], [Effect.DROP, Effect.MUTE], Verdict.MUTE),
]


@pytest.mark.parametrize(("case", "versions", "effects", "verdict"), VERSION_CASES,
                         ids=[c[0] for c in VERSION_CASES])
def test_upsert_keeps_the_newest_version(case: str, versions: list[datetime | None],
                                         effects: list[Effect], verdict: Verdict) -> None:
    """A stale copy (read before a later change, delivered after it) never wins."""
    index = DecisionIndex(NOW)
    for version, effect in zip(versions, effects, strict=True):
        index.upsert(window(1, effect, targets=frozenset({"service:a"}), updated_at=version))
    assert index.decide(Alert(("service:a",)), NOW).verdict is verdict


def test_remove_leaves_no_trace() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"}), match=(group(EQ_PROD), group(NE_P1))))
    index.upsert(window(2, all_targets=True, groups=frozenset({"g"})))
    index.remove(1)
    index.remove(2)
    index.remove(99)
    assert index.stats() == {
        "windows": 0,
        "intervals": 0,
        "targets": 0,
        "groups": 0,
        "label_slots": 0,
        "scan_slots": 0,
        "all_targets_windows": 0,
    }


def test_decide_many_matches_decide() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"})))
    index.upsert(window(2, Effect.DROP, match=(group(EQ_PROD),)))
    alerts = [Alert(("service:a",)), Alert(labels={"env": "prod"}), Alert(("service:z",))]
    assert index.decide_many(alerts, NOW) == [index.decide(a, NOW) for a in alerts]


def test_advance_refreshes_only_horizon_bound_windows() -> None:
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=frozenset({"service:a"})))  # one-time: complete already
    daily = RecurringSchedule("UTC", SimpleRule("daily"), time(12), duration=HOUR)
    index.upsert(window(2, targets=frozenset({"service:a"}), schedule=daily))
    refreshed = [index.advance(NOW + HOUR), index.advance(NOW + 30 * HOUR)]
    assert refreshed == [0, 1]


def test_readers_never_see_a_half_updated_window() -> None:
    """One writer flips window 1 between two shapes (targets, group, labels, effect) while
    readers decide: every answer is one shape's, never a mix or a miss, and nothing raises."""
    shape_a = window(1, Effect.MUTE, targets=A, match=(group(EQ_PROD),))
    shape_b = window(1, Effect.DROP, groups=frozenset({"g"}), match=(group(RE_DB), group(NE_P1)))
    index = DecisionIndex(NOW)
    index.set_group("g", {"service:c"})
    index.upsert(shape_a)
    alert = Alert(("service:a", "service:c"), {"env": "prod", "service": "db-1", "severity": "p1"})
    allowed = {Decision(Verdict.MUTE, (1,)), Decision(Verdict.DROP, (1,))}
    seen: list[Decision] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(index.decide(alert, NOW))
                seen.extend(index.decide_many([alert, alert], NOW))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    readers = [threading.Thread(target=read) for _ in range(2)]
    try:
        for reader in readers:
            reader.start()
        for i in range(2_000):
            index.upsert(shape_b if i % 2 == 0 else shape_a)
            if i % 100 == 0:
                index.set_group("g", {"service:c"} if i % 200 else {"service:c", "service:d"})
    finally:
        done.set()
        for reader in readers:
            reader.join()
        sys.setswitchinterval(interval)
    assert (errors, sorted({d for d in seen if d not in allowed}, key=repr)) == ([], [])


def test_advance_with_a_budget_catches_up_over_calls() -> None:
    index = DecisionIndex(NOW)
    for wid in (1, 2, 3):
        daily = RecurringSchedule("UTC", SimpleRule("daily"), time(wid), duration=HOUR)
        index.upsert(window(wid, targets=A, schedule=daily))
    later = NOW + 30 * HOUR
    counts = [index.advance(later, budget=2), index.advance(later, budget=2)]
    assert counts == [2, 1]


def test_decisions_stay_exact_past_the_horizon() -> None:
    daily = RecurringSchedule("UTC", SimpleRule("daily"), time(12), duration=HOUR)
    index = DecisionIndex(NOW)
    index.upsert(window(1, targets=A, schedule=daily))
    # Ten days on without advance(): answered from the rules, not from stale intervals.
    at = NOW + timedelta(days=10, minutes=30)
    assert index.decide(Alert(("service:a",)), at) == Decision(Verdict.MUTE, (1,))


# -- the property: index == brute force -----------------------------------------------------

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")


def _transitions(zone_name: str, year: int) -> list[datetime]:
    """The instants in ``year`` at which ``zone_name`` changes its UTC offset (to 15 min)."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=15)
    while t.year == year:
        if (t + step).astimezone(zone).utcoffset() != t.astimezone(zone).utcoffset():
            found.append(t + step)
        t += step
    return found


# Spring-forward and fall-back of 2026 in each zone with DST (Lord Howe shifts by 30 minutes);
# UTC gets a plain instant so that it still has a cluster of instants.
EDGES = sorted(
    {t for z in ZONES for t in _transitions(z, 2026)} | {datetime(2026, 6, 1, tzinfo=UTC)}
)
assert len(EDGES) == 7, EDGES

TARGETS = ("service:a", "service:b", "monitor:1", "monitor:2")
GROUP_NAMES = ("g1", "g2")
LABELS = {"env": ("prod", "dev", ""), "service": ("db-1", "web", "")}
IDS = st.integers(1, 6)

instants = st.builds(
    lambda edge, minutes, seconds: edge + timedelta(minutes=minutes, seconds=seconds),
    st.sampled_from(EDGES),
    st.one_of(st.integers(-180, 180), st.integers(-4 * 1440, 4 * 1440)),
    st.sampled_from([0, 0, 0, 59]),
)

wall_times = st.sampled_from(
    [time(0), time(1, 30), time(2), time(2, 15), time(2, 30), time(3), time(12), time(23, 30)]
)

rules = st.one_of(
    st.just(SimpleRule("daily")),
    st.builds(
        lambda days: SimpleRule("weekly", days_of_week=tuple(days)),
        st.lists(st.sampled_from(["mon", "sat", "sun"]), min_size=1, max_size=3, unique=True),
    ),
    st.sampled_from(
        [
            RRuleRule("FREQ=DAILY"),
            RRuleRule("FREQ=DAILY;INTERVAL=2"),
            RRuleRule("FREQ=WEEKLY;BYDAY=SU"),
            RRuleRule("FREQ=WEEKLY;BYDAY=SA,SU"),
            RRuleRule("FREQ=MONTHLY;BYDAY=-1SU"),
        ]
    ),
)


# Cron keeps cron's own DST rules: 02:30 falls in Berlin's and New York's gaps, 01:30 in folds.
crons = st.sampled_from([CronRule("30 2 * * *"), CronRule("30 1 * * 0"), CronRule("0 */6 * * *")])


@st.composite
def recurring(draw: st.DrawFn) -> Schedule:
    first: date | None = draw(st.one_of(st.none(), instants.map(lambda t: t.date())))
    until = None
    if first is not None and draw(st.booleans()):
        until = first + timedelta(days=draw(st.integers(0, 10)))
    rule = draw(st.one_of(rules, crons))
    is_cron = isinstance(rule, CronRule)  # cron gives the start instants: needs a duration
    use_duration = is_cron or draw(st.booleans())
    schedule = RecurringSchedule(
        timezone=draw(st.sampled_from(ZONES)),
        rule=rule,
        start_time=None if is_cron else draw(wall_times),
        end_time=None if use_duration else draw(wall_times),
        duration=draw(st.sampled_from([timedelta(minutes=30), 3 * HOUR, 26 * HOUR]))
        if use_duration
        else None,
        starts_on=first,
        until=until,
        # RFC 5545 forbids count together with until (validate rejects it): draw one.
        count=None if until else draw(st.one_of(st.none(), st.integers(1, 5))),
    )
    try:
        sched.validate(schedule)
    except ScheduleError:
        assume(False)
    return schedule


once_schedules = st.builds(
    lambda start, minutes: OnceSchedule(start, start + timedelta(minutes=minutes)),
    instants,
    st.integers(1, 3 * 1440),
)

matchers = st.one_of(
    st.builds(
        Matcher,
        st.sampled_from(sorted(LABELS)),
        st.sampled_from([MatcherOp.EQ, MatcherOp.NE]),
        st.sampled_from(["prod", "dev", "db-1", "web", ""]),
    ),
    st.builds(
        Matcher,
        st.sampled_from(sorted(LABELS)),
        st.sampled_from([MatcherOp.RE, MatcherOp.NRE]),
        st.sampled_from(["db-.*", "prod|dev", ".*", ".+"]),
    ),
    st.builds(
        lambda label, op, values: Matcher(label, op, values=tuple(values)),
        st.sampled_from(sorted(LABELS)),
        st.sampled_from([MatcherOp.ONE_OF, MatcherOp.NOT_ONE_OF]),
        st.lists(st.sampled_from(["prod", "dev", "web", ""]), min_size=1, max_size=2),
    ),
    st.builds(
        Matcher,
        st.sampled_from(sorted(LABELS)),
        st.sampled_from([MatcherOp.IS_SET, MatcherOp.IS_BLANK]),
    ),
)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    effects = draw(st.frozensets(st.sampled_from(list(Effect)), min_size=1, max_size=2))
    return Window(
        id=draw(IDS),
        workspace_id=1,
        name="w",
        schedule=draw(st.one_of(once_schedules, recurring())),
        effects=effects,
        targets=draw(st.frozensets(st.sampled_from(TARGETS), max_size=2)),
        groups=draw(st.frozensets(st.sampled_from(GROUP_NAMES), max_size=1)),
        match=tuple(
            ConditionGroup(tuple(ms))
            for ms in draw(st.lists(st.lists(matchers, min_size=1, max_size=3), max_size=2))
        ),
        all_targets=draw(st.integers(0, 9)) == 0,
        cancelled_at=draw(st.one_of(st.none(), st.none(), instants)),
    )


operations = st.one_of(
    st.tuples(st.just("upsert"), windows()),
    st.tuples(st.just("upsert"), windows()),
    st.tuples(st.just("remove"), IDS),
    st.tuples(st.just("cancel"), IDS, instants),
    st.tuples(
        st.just("group"),
        st.sampled_from(GROUP_NAMES),
        st.frozensets(st.sampled_from(TARGETS), max_size=3),
    ),
    st.tuples(st.just("advance"), instants),
)

alerts = st.builds(
    Alert,
    st.lists(st.sampled_from(TARGETS), max_size=2).map(tuple),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in LABELS.items()}),
)


# When to decide: an absolute instant near a DST edge, an offset from the index's "now", or
# an occurrence boundary of one of the windows (pick, occurrence, start/end, ±1 µs).
Boundary = tuple[int, int, bool, int]
when = st.one_of(
    instants,
    st.builds(lambda m: timedelta(minutes=m), st.integers(-8 * 60, 30 * 60)),
    st.tuples(st.integers(0, 9), st.integers(0, 9), st.booleans(), st.sampled_from([-1, 0, 1])),
)


class Model:
    """The plain state the brute force reads: windows by id and group memberships."""

    def __init__(self, now: datetime) -> None:
        self.windows: dict[int, Window] = {}
        self.groups: dict[str, frozenset[str]] = {}
        self.now = now  # the index's horizon is around it

    def resolve(self, moment: datetime | timedelta | Boundary) -> datetime:
        if isinstance(moment, datetime):
            return moment
        if isinstance(moment, timedelta):
            return self.now + moment
        pick, nth, at_start, micros = moment
        ordered = sorted(self.windows.values(), key=lambda w: w.id)
        if not ordered:
            return self.now
        w = ordered[pick % len(ordered)]
        found = window_occurrences(w, self.now - 4 * DAY, self.now + 4 * DAY)
        if not found:
            return self.now
        occurrence = found[nth % len(found)]
        edge = occurrence.start if at_start else occurrence.end
        return edge + timedelta(microseconds=micros)

    def apply(self, index: DecisionIndex, op: tuple[object, ...]) -> None:
        kind = op[0]
        if kind == "upsert":
            w = op[1]
            assert isinstance(w, Window)
            self.windows[w.id] = w
            index.upsert(w)
        elif kind == "remove":
            wid = op[1]
            assert isinstance(wid, int)
            self.windows.pop(wid, None)
            index.remove(wid)
        elif kind == "cancel":
            wid, at = op[1], op[2]
            assert isinstance(wid, int)
            assert isinstance(at, datetime)
            if wid in self.windows:
                self.windows[wid] = replace(self.windows[wid], cancelled_at=at)
                index.upsert(self.windows[wid])
        elif kind == "group":
            name, members = op[1], op[2]
            assert isinstance(name, str)
            assert isinstance(members, frozenset)
            self.groups[name] = members
            index.set_group(name, members)
        else:
            at = op[1]
            assert isinstance(at, datetime)
            self.now = at
            index.advance(at)


@pytest.mark.timeout(600)  # expanding random rules is slow on a busy machine; never endless
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    now=instants,
    ops=st.lists(operations, min_size=1, max_size=10),
    queries=st.lists(st.tuples(alerts, when), min_size=1, max_size=8),
)
def test_index_agrees_with_brute_force(
    now: datetime,
    ops: list[tuple[object, ...]],
    queries: list[tuple[Alert, datetime | timedelta | Boundary]],
) -> None:
    index = DecisionIndex(now, lookback=6 * HOUR, lookahead=24 * HOUR)
    model = Model(now)
    for op in ops:
        model.apply(index, op)
    disagreements = []
    for alert, moment in queries:
        at = model.resolve(moment)
        expected = brute_force_decide(model.windows.values(), model.groups, alert, at)
        found = index.decide(alert, at)
        event(f"verdict: {expected.verdict}")
        event("inside the horizon" if -6 * HOUR <= at - model.now < 24 * HOUR else "outside")
        if found != expected:
            disagreements.append((alert, at, found, expected))
    assert disagreements == []
