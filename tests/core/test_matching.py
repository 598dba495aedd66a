"""Matchers, condition groups and window scope (DESIGN §1; Alertmanager + incident.io)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from quietly.core.errors import ValidationError
from quietly.core.matching import (
    CompiledGroup,
    compile_groups,
    compile_matcher,
    matches_labels,
    scope_matches,
    validate_match,
)
from quietly.core.model import (
    Alert,
    ConditionGroup,
    Effect,
    Matcher,
    MatcherOp,
    OnceSchedule,
    Window,
)

Op = MatcherOp


@dataclass(frozen=True)
class Case:
    name: str
    matcher: Matcher
    labels: dict[str, str]
    matches: bool


def m(label: str, op: Op, value: str = "", values: tuple[str, ...] = ()) -> Matcher:
    return Matcher(label, op, value, values)


MATCHER_CASES = [
    # = and != compare exactly; a missing label reads as "".
    Case("eq same value", m("env", Op.EQ, "prod"), {"env": "prod"}, True),
    Case("eq other value", m("env", Op.EQ, "prod"), {"env": "production"}, False),
    Case("eq is case-sensitive", m("env", Op.EQ, "prod"), {"env": "Prod"}, False),
    Case("eq missing label", m("env", Op.EQ, "prod"), {}, False),
    Case("eq empty matches missing", m("env", Op.EQ, ""), {}, True),
    Case("eq empty matches empty", m("env", Op.EQ, ""), {"env": ""}, True),
    Case("eq empty vs value", m("env", Op.EQ, ""), {"env": "prod"}, False),
    Case("ne other value", m("env", Op.NE, "prod"), {"env": "dev"}, True),
    Case("ne same value", m("env", Op.NE, "prod"), {"env": "prod"}, False),
    Case("ne missing label", m("env", Op.NE, "prod"), {}, True),
    Case("ne empty vs missing", m("env", Op.NE, ""), {}, False),
    # =~ and !~ are fully anchored, at both ends.
    Case("re full match", m("svc", Op.RE, "db-.*"), {"svc": "db-1"}, True),
    Case("re not a prefix", m("svc", Op.RE, "db"), {"svc": "db-1"}, False),
    Case("re not a suffix", m("svc", Op.RE, "db-.*"), {"svc": "xdb-1"}, False),
    Case("re trailing newline", m("svc", Op.RE, "db-.*"), {"svc": "db-1\n"}, False),
    Case("re alternation anchored", m("svc", Op.RE, "a|b"), {"svc": "ab"}, False),
    Case("re alternation member", m("svc", Op.RE, "a|b"), {"svc": "b"}, True),
    Case("re empty-accepting on missing", m("svc", Op.RE, ".*"), {}, True),
    Case("re non-empty on missing", m("svc", Op.RE, ".+"), {}, False),
    Case("nre full match", m("svc", Op.NRE, "db-.*"), {"svc": "db-1"}, False),
    Case("nre partial is not a match", m("svc", Op.NRE, "db"), {"svc": "db-1"}, True),
    Case("nre missing label", m("svc", Op.NRE, ".+"), {}, True),
    # incident.io's set operators.
    Case("one_of member", m("sev", Op.ONE_OF, values=("p1", "p2")), {"sev": "p2"}, True),
    Case("one_of non-member", m("sev", Op.ONE_OF, values=("p1", "p2")), {"sev": "p3"}, False),
    Case("one_of missing", m("sev", Op.ONE_OF, values=("p1",)), {}, False),
    Case("one_of with empty value", m("sev", Op.ONE_OF, values=("",)), {}, True),
    Case("not_one_of member", m("sev", Op.NOT_ONE_OF, values=("p1",)), {"sev": "p1"}, False),
    Case("not_one_of other", m("sev", Op.NOT_ONE_OF, values=("p1",)), {"sev": "p3"}, True),
    Case("not_one_of missing", m("sev", Op.NOT_ONE_OF, values=("p1",)), {}, True),
    Case("is_set present", m("team", Op.IS_SET), {"team": "core"}, True),
    Case("is_set empty", m("team", Op.IS_SET), {"team": ""}, False),
    Case("is_set missing", m("team", Op.IS_SET), {}, False),
    Case("is_blank missing", m("team", Op.IS_BLANK), {}, True),
    Case("is_blank empty", m("team", Op.IS_BLANK), {"team": ""}, True),
    Case("is_blank present", m("team", Op.IS_BLANK), {"team": "core"}, False),
    Case("value ignored by is_set", m("team", Op.IS_SET, "x"), {"team": "y"}, True),
]


@pytest.mark.parametrize("case", MATCHER_CASES, ids=lambda c: c.name)
def test_matcher(case: Case) -> None:
    assert compile_matcher(case.matcher)(case.labels) == case.matches


def test_matcher_accepts_plain_string_operator() -> None:
    # Callers converting from JSON may pass the operator's string; StrEnum compares equal.
    matcher = Matcher("env", "=", "prod")  # type: ignore[arg-type]
    assert compile_matcher(matcher)({"env": "prod"}) is True


@dataclass(frozen=True)
class GroupsCase:
    name: str
    groups: tuple[tuple[Matcher, ...], ...]
    labels: dict[str, str]
    matches: bool


PROD = m("env", Op.EQ, "prod")
DB = m("svc", Op.RE, "db-.*")
NOT_P1 = m("sev", Op.NE, "p1")

GROUP_CASES = [
    GroupsCase("all matchers hold", ((PROD, DB),), {"env": "prod", "svc": "db-1"}, True),
    GroupsCase("one matcher fails", ((PROD, DB),), {"env": "prod", "svc": "web"}, False),
    GroupsCase("second group holds", ((PROD, DB), (NOT_P1,)), {"sev": "p2"}, True),
    GroupsCase("no group holds", ((PROD,), (DB,)), {"env": "dev", "svc": "web"}, False),
    GroupsCase("empty group never matches", ((),), {}, False),
    GroupsCase("empty group next to a match", ((), (NOT_P1,)), {}, True),
    GroupsCase("no groups never match", (), {"env": "prod"}, False),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=lambda c: c.name)
def test_condition_groups(case: GroupsCase) -> None:
    compiled = [CompiledGroup.compile(ConditionGroup(g)) for g in case.groups]
    assert matches_labels(compiled, case.labels) == case.matches


@dataclass(frozen=True)
class InvalidCase:
    name: str
    groups: tuple[tuple[Matcher, ...], ...]
    field: str


INVALID_CASES = [
    InvalidCase("bad regex", ((PROD, m("svc", Op.RE, "db-(")),), "match[0][1].value"),
    InvalidCase("bad negated regex", ((PROD,), (m("svc", Op.NRE, "*"),)), "match[1][0].value"),
    InvalidCase("empty group", ((PROD,), ()), "match[1]"),
    InvalidCase("one_of without values", ((m("sev", Op.ONE_OF),),), "match[0][0].values"),
    InvalidCase("not_one_of without values", ((m("s", Op.NOT_ONE_OF),),), "match[0][0].values"),
    InvalidCase("no label name", ((m("", Op.EQ, "x"),),), "match[0][0].label"),
]


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.name)
def test_validate_match_names_the_field(case: InvalidCase) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_match([ConditionGroup(g) for g in case.groups])
    assert raised.value.field == case.field


def test_validate_match_accepts_good_groups() -> None:
    validate_match([ConditionGroup((PROD, DB)), ConditionGroup((NOT_P1,))])  # does not raise


@pytest.mark.parametrize(
    ("matchers", "anchor"),
    [
        ((DB, PROD), ("env", "prod")),
        ((m("env", Op.EQ, ""), DB), None),  # "=" with "" also matches a missing label
        ((NOT_P1, DB), None),
        ((m("a", Op.EQ, "1"), m("b", Op.EQ, "2")), ("a", "1")),
    ],
    ids=["eq after regex", "empty eq", "no eq", "first of two"],
)
def test_group_anchor(matchers: tuple[Matcher, ...], anchor: tuple[str, str] | None) -> None:
    assert CompiledGroup.compile(ConditionGroup(matchers)).anchor == anchor


def test_compile_groups_names_fields_by_position() -> None:
    with pytest.raises(ValidationError) as raised:
        compile_groups([ConditionGroup((PROD,)), ConditionGroup((PROD, m("x", Op.RE, "(")))])
    assert raised.value.field == "match[1][1].value"


# -- window scope: the union of all_targets, targets, groups and condition groups -----------

_T0 = datetime(2026, 1, 1, tzinfo=UTC)
_T1 = datetime(2026, 1, 2, tzinfo=UTC)


def window(**scope: object) -> Window:
    return Window(
        id=1,
        workspace_id=1,
        name="w",
        schedule=OnceSchedule(_T0, _T1),
        effects=frozenset({Effect.MUTE}),
        **scope,  # type: ignore[arg-type]
    )


GROUPS = {"web": {"service:web-1", "service:web-2"}, "empty": set[str]()}


@dataclass(frozen=True)
class ScopeCase:
    name: str
    window: Window
    alert: Alert
    covered: bool


SCOPE_CASES = [
    ScopeCase("all targets", window(all_targets=True), Alert(), True),
    ScopeCase(
        "named target", window(targets=frozenset({"monitor:1"})), Alert(("monitor:1",)), True
    ),
    ScopeCase(
        "other target", window(targets=frozenset({"monitor:1"})), Alert(("monitor:2",)), False
    ),
    ScopeCase(
        "one of several alert targets",
        window(targets=frozenset({"monitor:1"})),
        Alert(("monitor:2", "monitor:1")),
        True,
    ),
    ScopeCase("group member", window(groups=frozenset({"web"})), Alert(("service:web-2",)), True),
    ScopeCase("group non-member", window(groups=frozenset({"web"})), Alert(("service:db",)), False),
    ScopeCase("empty group", window(groups=frozenset({"empty"})), Alert(("service:db",)), False),
    ScopeCase("unknown group", window(groups=frozenset({"nope"})), Alert(("service:db",)), False),
    ScopeCase(
        "labels match",
        window(match=(ConditionGroup((PROD,)),)),
        Alert(labels={"env": "prod"}),
        True,
    ),
    ScopeCase("labels do not match", window(match=(ConditionGroup((PROD,)),)), Alert(), False),
    ScopeCase(
        "target or labels: labels suffice",
        window(targets=frozenset({"monitor:1"}), match=(ConditionGroup((PROD,)),)),
        Alert(("monitor:9",), {"env": "prod"}),
        True,
    ),
    ScopeCase(
        "target or labels: target suffices",
        window(targets=frozenset({"monitor:1"}), match=(ConditionGroup((PROD,)),)),
        Alert(("monitor:1",), {"env": "dev"}),
        True,
    ),
    ScopeCase("nothing in scope", window(), Alert(("monitor:1",), {"env": "prod"}), False),
]


@pytest.mark.parametrize("case", SCOPE_CASES, ids=lambda c: c.name)
def test_scope(case: ScopeCase) -> None:
    assert scope_matches(case.window, case.alert, GROUPS) == case.covered
