"""Windows → Alertmanager silences: operators, parts, reasons, bounds and tags (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
from quietly.sync.alertmanager.translate import (
    SilenceMatcher,
    SyncScope,
    desired_silences,
    map_matcher,
    occurrence_end_to_silence_end,
    quote_meta,
    translate_scope,
)
from quietly.sync.reconciler import Tag

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LABELS = {"service": "service", "host": "instance"}


def window(**extra: object) -> Window:
    fields: dict[str, object] = {
        "id": 7, "workspace_id": 1, "name": "patching",
        "schedule": OnceSchedule(T0, T0 + timedelta(hours=2)),
        "effects": frozenset({Effect.MUTE})}
    fields.update(extra)
    return Window(**fields)  # type: ignore[arg-type]


def m(label: str, op: str, value: str = "", values: tuple[str, ...] = ()) -> Matcher:
    return Matcher(label, MatcherOp(op), value, values)


# Each operator maps to the Alertmanager matcher with the same meaning.
OPERATORS = {
    "=": (m("env", "=", "prod"), SilenceMatcher("env", "prod")),
    "!=": (m("env", "!=", "prod"), SilenceMatcher("env", "prod", False, False)),
    "=~": (m("svc", "=~", "db-.*"), SilenceMatcher("svc", "db-.*", True)),
    "!~": (m("svc", "!~", "db-.*"), SilenceMatcher("svc", "db-.*", True, False)),
    "one_of one value": (m("env", "one_of", values=("prod",)), SilenceMatcher("env", "prod")),
    "one_of": (m("env", "one_of", values=("prod", "a.b", "x|y")),
               SilenceMatcher("env", r"a\.b|prod|x\|y", True)),
    "not_one_of": (m("env", "not_one_of", values=("prod", "dev")),
                   SilenceMatcher("env", "dev|prod", True, False)),
    "is_set": (m("env", "is_set"), SilenceMatcher("env", ".+", True)),
    "is_blank": (m("env", "is_blank"), SilenceMatcher("env", "")),
}


@pytest.mark.parametrize("case", sorted(OPERATORS))
def test_operators_map_to_alertmanager_matchers(case: str) -> None:
    given_matcher, expected = OPERATORS[case]
    assert map_matcher(given_matcher) == expected


# Which parts (silences) a window's scope becomes, and which reasons it reports.
SCOPES = {
    "targets of one kind: one alternation": (
        window(targets=frozenset({"service:checkout", "service:cart"})), {},
        [[SilenceMatcher("service", "cart|checkout", True)]], []),
    "one target: an equality": (
        window(targets=frozenset({"host:db-1"})), {},
        [[SilenceMatcher("instance", "db-1")]], []),
    "two kinds: two silences": (
        window(targets=frozenset({"service:a", "host:h"})), {},
        [[SilenceMatcher("instance", "h")], [SilenceMatcher("service", "a")]], []),
    "group expanded to members": (
        window(groups=frozenset({"web"})), {"web": frozenset({"service:a", "service:b"})},
        [[SilenceMatcher("service", "a|b", True)]], []),
    "kind without label": (
        window(targets=frozenset({"monitor:42"})), {}, [],
        ["targets of kind 'monitor' (1): no alert label stands for this kind "
         "(target_labels)"]),
    "two condition groups: two silences": (
        window(match=(ConditionGroup((m("env", "=", "prod"),)),
                      ConditionGroup((m("team", "=", "db"), m("sev", "!=", "page"))))), {},
        [[SilenceMatcher("env", "prod")],
         [SilenceMatcher("sev", "page", False, False), SilenceMatcher("team", "db")]], []),
    "group matching the empty string": (
        window(match=(ConditionGroup((m("env", "!=", "prod"),)),)), {}, [],
        ["match[0]: every matcher also matches an alert without the label; Alertmanager "
         "refuses such a silence"]),
    "bad label name": (
        window(match=(ConditionGroup((m("a-b", "=", "x"),)),)), {}, [],
        ["match[0]: label name 'a-b' is not one Alertmanager accepts "
         "([a-zA-Z_][a-zA-Z0-9_]*)"]),
    "only reroute": (
        window(effects=frozenset({Effect.REROUTE}), targets=frozenset({"service:a"})), {}, [],
        ["effects reroute: an Alertmanager silence can only mute (mute, suppress_incidents, "
         "drop)"]),
    "all targets not allowed": (
        window(all_targets=True), {}, [],
        ["all_targets: this sync does not allow silencing everything (allow_all_targets)"]),
}


@pytest.mark.parametrize("case", sorted(SCOPES))
def test_scope_becomes_one_silence_per_alternative(case: str) -> None:
    win, members, parts, reasons = SCOPES[case]
    got = translate_scope(win, members, LABELS, allow_all_targets=False)
    assert ([list(p) for p in got.parts], list(got.reasons)) == (parts, reasons)


def test_all_targets_where_allowed_matches_every_alert() -> None:
    got = translate_scope(window(all_targets=True), {}, LABELS, allow_all_targets=True)
    assert got.parts == ((SilenceMatcher("alertname", ".+", True),),)


# Half-open [start, end) → Alertmanager's inclusive end: the last whole ms before the end.
ENDS = {
    "whole second": (datetime(2026, 1, 1, 12, tzinfo=UTC),
                     datetime(2026, 1, 1, 11, 59, 59, 999000, tzinfo=UTC)),
    "sub-millisecond": (datetime(2026, 1, 1, 12, 0, 0, 123400, tzinfo=UTC),
                        datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)),
    "whole millisecond": (datetime(2026, 1, 1, 12, 0, 0, 5000, tzinfo=UTC),
                          datetime(2026, 1, 1, 12, 0, 0, 4000, tzinfo=UTC)),
}


@pytest.mark.parametrize("case", sorted(ENDS))
def test_silence_end_is_last_millisecond_before_occurrence_end(case: str) -> None:
    end, expected = ENDS[case]
    assert occurrence_end_to_silence_end(end) == expected


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_silence_end_is_before_the_end_and_within_a_millisecond(end: datetime) -> None:
    silence_end = occurrence_end_to_silence_end(end)
    assert (silence_end < end, end - silence_end <= timedelta(milliseconds=1),
            silence_end.microsecond % 1000) == (True, True, 0)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5))
def test_one_of_alternation_matches_exactly_its_values(values: list[str]) -> None:
    matcher = map_matcher(Matcher("l", MatcherOp.ONE_OF, values=tuple(values)))
    pattern = re.compile(f"(?:{matcher.value})" if matcher.is_regex
                         else re.escape(matcher.value), re.DOTALL)
    probes = [*values, *(v + "x" for v in values), "", "|".join(values)]
    assert [bool(pattern.fullmatch(p)) for p in probes] == [p in values for p in probes]


@given(st.text(max_size=20))
def test_quote_meta_matches_itself_only(text: str) -> None:
    assert re.fullmatch(quote_meta(text), text, re.DOTALL) is not None


@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 10**9),
       st.datetimes(timezones=st.just(UTC)), st.text("0123456789abcdef", min_size=16,
                                                      max_size=16))
def test_tag_round_trips_through_a_comment(ws: int, sync: int, win: int, start: datetime,
                                           digest: str) -> None:
    tag = Tag(ws, sync, win, start, digest)
    assert Tag.find(f"some name — http://x/windows/{win}\n{tag.render()}") == tag


def test_recurring_window_yields_running_and_lead_occurrences_only() -> None:
    daily = window(schedule=RecurringSchedule("UTC", SimpleRule("daily"), T0.time(),
                                              duration=timedelta(hours=1),
                                              starts_on=T0.date()),
                   targets=frozenset({"service:a"}))
    scope = SyncScope(1, 3, LABELS, False, timedelta(hours=30))
    desired, problems = desired_silences([daily], {}, scope, T0 + timedelta(minutes=30))
    assert ([d.starts_at for d in desired], problems) == (
        [T0, T0 + timedelta(days=1)], [])


def test_window_over_or_cancelled_yields_nothing_and_no_reason() -> None:
    over = window(id=8, schedule=OnceSchedule(T0 - timedelta(hours=3), T0 - timedelta(hours=1)),
                  targets=frozenset({"monitor:1"}))
    cancelled = window(id=9, targets=frozenset({"service:a"}), cancelled_at=T0)
    scope = SyncScope(1, 3, LABELS, False, timedelta(hours=1))
    assert desired_silences([over, cancelled], {}, scope, T0 + timedelta(minutes=1)) == ([], [])


# The silences together cover exactly what the window covers: for any alert, quietly's own
# rule (``scope_matches``, with targets read from labels as the receiver does) agrees with
# "some silence has every matcher matching", evaluated as Alertmanager does (anchored
# regexes, a missing label reads as "").
VALUES = ["a", "b", "a.b", "x|y", ""]
LABEL_NAMES = ["env", "service", "instance"]


def _am_matches(matcher: SilenceMatcher, labels: dict[str, str]) -> bool:
    value = labels.get(matcher.name, "")
    hit = (re.fullmatch(f"(?:{matcher.value})", value) is not None
           if matcher.is_regex else value == matcher.value)
    return hit == matcher.is_equal


matchers = st.one_of(
    st.builds(lambda label, op, value: Matcher(label, MatcherOp(op), value),
              st.sampled_from(LABEL_NAMES), st.sampled_from(["=", "!="]),
              st.sampled_from(VALUES)),
    st.builds(lambda label, op, values: Matcher(label, MatcherOp(op), values=tuple(values)),
              st.sampled_from(LABEL_NAMES), st.sampled_from(["one_of", "not_one_of"]),
              st.lists(st.sampled_from(VALUES[:4]), min_size=1, max_size=3)),
    st.builds(lambda label, op: Matcher(label, MatcherOp(op)),
              st.sampled_from(LABEL_NAMES), st.sampled_from(["is_set", "is_blank"])),
    st.builds(lambda label, pattern: Matcher(label, MatcherOp.RE, pattern),
              st.sampled_from(LABEL_NAMES), st.sampled_from(["a.*", "a|b", "x\\|y"])),
)
windows_st = st.builds(
    lambda targets, groups: window(targets=frozenset(targets),
                                   match=tuple(ConditionGroup(tuple(g)) for g in groups)),
    st.lists(st.sampled_from(["service:a", "service:a.b", "host:b", "host:x|y"]),
             max_size=3),
    st.lists(st.lists(matchers, min_size=1, max_size=3), max_size=3))
labels_st = st.dictionaries(st.sampled_from(LABEL_NAMES), st.sampled_from(VALUES[:4]),
                            max_size=3)


@given(windows_st, labels_st)
def test_silences_cover_exactly_the_windows_scope(win: Window,
                                                  labels: dict[str, str]) -> None:
    from quietly.core.matching import scope_matches
    from quietly.core.model import Alert

    translation = translate_scope(win, {}, LABELS, allow_all_targets=False)
    if translation.reasons:  # a part Alertmanager refuses: covered by the reasons instead
        return
    targets = tuple(f"{kind}:{labels[label]}" for kind, label in LABELS.items()
                    if labels.get(label))
    silenced = any(all(_am_matches(m, labels) for m in part) for part in translation.parts)
    assert silenced == scope_matches(win, Alert(targets, labels), {})
