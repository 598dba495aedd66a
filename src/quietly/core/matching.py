"""Matchers and condition groups, compiled once and evaluated on the alert hot path.

Semantics follow Alertmanager for the four classic operators and incident.io for the set
operators (DESIGN §1):

- a label the alert lacks reads as the empty string, so ``env!=prod`` matches an alert
  without ``env`` and ``env=""`` matches it too;
- ``=~`` and ``!~`` are *fully anchored*: ``db-.*`` matches ``db-1`` but not ``xdb-1``.
  Alertmanager anchors with ``^(?:…)$``; we compile ``(?:…)`` once and use ``fullmatch``;
- regular expressions are RE2 (``google-re2``): Alertmanager's own dialect (Go's regexp is
  RE2), matched in time linear in the value, so no label value can stall the server. What
  RE2 refuses (look-around, back-references, ``\\Z``, repetitions over 1000) is a
  ``ValidationError`` naming the construct. An RE2 call costs ~20 times a ``re`` call, and alert
  streams repeat their label values, so each pattern keeps a bounded cache of its results;
- ``one_of`` / ``not_one_of`` test membership in ``values``;
- ``is_set`` is "present and non-empty", ``is_blank`` is "missing or empty";
- a group matches when every matcher in it does; a window's list of groups matches when any
  group does; an empty group never matches (and ``validate_match`` rejects one).

A window's *scope* (``scope_matches``) is the union of its parts: it covers an alert when it
names ``all_targets``, or one of the alert's targets, or a group holding one of them, or when
one of its condition groups matches the alert's labels.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

import re2  # type: ignore[import-untyped]  # google-re2 ships no type hints

from quietly.core.errors import ValidationError
from quietly.core.model import Alert, ConditionGroup, Matcher, MatcherOp, Window

__all__ = [
    "CompiledGroup",
    "LabelTest",
    "UnsupportedRegex",
    "compile_groups",
    "compile_matcher",
    "matches_labels",
    "regex_engine",
    "regex_fullmatch",
    "scope_matches",
    "validate_match",
]

LabelTest = Callable[[Mapping[str, str]], bool]
"""A compiled matcher: takes the alert's labels, answers whether the matcher holds."""


# Equal matchers share one compiled predicate while one of them is in use (``env=prod`` in
# thousands of windows: a closure and its cells are ~300 bytes each, issue 19).
_SHARED: weakref.WeakValueDictionary[Matcher, LabelTest] = weakref.WeakValueDictionary()


def compile_matcher(matcher: Matcher, *, field: str = "match") -> LabelTest:
    """Compile one matcher into a predicate over a label mapping (equal matchers share one
    while it is in use: predicates hold no state of their own).

    Raises ``ValidationError`` naming ``field`` (e.g. ``match[0][1]``) for an empty label name,
    an invalid regular expression (``field.value``) or a set operator without values
    (``field.values``).
    """
    try:
        test = _SHARED.get(matcher)
    except TypeError:  # values given as a list: unhashable, compiled alone
        return _compile(matcher, field)
    if test is None:
        test = _SHARED[matcher] = _compile(matcher, field)
    return test


def _compile(matcher: Matcher, field: str) -> LabelTest:
    label = matcher.label
    if not label:
        raise ValidationError("a matcher needs a label name", field=f"{field}.label")
    op = matcher.op
    if op in (MatcherOp.RE, MatcherOp.NRE):
        return _compile_regex(label, matcher.value, negate=op == MatcherOp.NRE, field=field)
    if op in (MatcherOp.ONE_OF, MatcherOp.NOT_ONE_OF):
        if not matcher.values:
            raise ValidationError(f"{op.value} needs at least one value", field=f"{field}.values")
        return _compile_set(label, frozenset(matcher.values), negate=op == MatcherOp.NOT_ONE_OF)
    return _compile_simple(label, op, matcher.value)


RESULT_CACHE_SIZE = 4096
"""Values remembered per pattern; the cache is emptied when full (alert streams repeat)."""
CACHED_VALUE_LENGTH = 256
"""Longer values are matched every time rather than remembered."""
_SURROGATE = re.compile("[\ud800-\udfff]")  # our own pattern: stdlib re is fine here
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # else RE2 (absl) writes every parse error to stderr


class UnsupportedRegex(ValueError):
    """RE2 refused a pattern; the message names the construct (``invalid perl operator: (?=``)."""


def regex_engine() -> str:
    """The engine matching ``=~`` and ``!~`` (for tests and diagnostics)."""
    return str(re2.__name__)


@lru_cache(maxsize=1024)
def regex_fullmatch(pattern: str) -> Callable[[str], bool]:
    """A fully anchored RE2 match of ``pattern``, with a bounded cache of its results.

    Shared by every matcher with the same pattern. Raises ``UnsupportedRegex``.
    """
    try:
        # The pattern alone first: errors then quote what the user wrote, and "a)|(b",
        # valid only inside the group we wrap it in, is refused.
        re2.compile(pattern, _OPTIONS)
        # Compile the group once; fullmatch anchors both ends (see module docstring).
        fullmatch = re2.compile(f"(?:{pattern})", _OPTIONS).fullmatch
    except UnicodeEncodeError:
        raise UnsupportedRegex("a lone surrogate is not a character") from None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsupportedRegex(str(reason)) from None
    results: dict[str, bool] = {}
    remembered = results.get

    def test(value: str) -> bool:
        hit = remembered(value)
        if hit is None:
            try:
                hit = fullmatch(value) is not None
            except UnicodeEncodeError:  # a lone surrogate: read it as U+FFFD, as Go does
                hit = fullmatch(_SURROGATE.sub("\ufffd", value)) is not None
            if len(value) <= CACHED_VALUE_LENGTH:
                if len(results) >= RESULT_CACHE_SIZE:
                    results.clear()
                results[value] = hit
        return hit

    return test


def _compile_regex(label: str, pattern: str, *, negate: bool, field: str) -> LabelTest:
    try:
        test = regex_fullmatch(pattern)
    except UnsupportedRegex as exc:
        raise ValidationError(
            f"invalid or unsupported regular expression {pattern!r}: {exc} "
            "(RE2 syntax, as Alertmanager: no look-around or back-references)",
            field=f"{field}.value",
        ) from exc
    if negate:
        return lambda labels: not test(labels.get(label, ""))
    return lambda labels: test(labels.get(label, ""))


def _compile_set(label: str, values: frozenset[str], *, negate: bool) -> LabelTest:
    if negate:
        return lambda labels: labels.get(label, "") not in values
    return lambda labels: labels.get(label, "") in values


def _compile_simple(label: str, op: MatcherOp, value: str) -> LabelTest:
    if op == MatcherOp.EQ:
        return lambda labels: labels.get(label, "") == value
    if op == MatcherOp.NE:
        return lambda labels: labels.get(label, "") != value
    if op == MatcherOp.IS_SET:
        return lambda labels: bool(labels.get(label))
    if op == MatcherOp.IS_BLANK:
        return lambda labels: not labels.get(label)
    raise ValidationError(f"unknown operator {op!r}", field="match")  # pragma: no cover


class CompiledGroup:
    """A condition group compiled once: every test must hold; no tests means no match.

    ``anchor`` is one ``label=value`` equality with a non-empty value that every matching alert
    must carry, or ``None`` when the group has none. The decision index files the group under
    its anchor; an ``=`` with an empty value cannot be an anchor because it also matches an
    alert that lacks the label, which no lookup by the alert's labels would find.
    """

    __slots__ = ("anchor", "equalities", "tests")

    def __init__(self, tests: Sequence[LabelTest], equalities: Sequence[tuple[str, str]]) -> None:
        self.tests: tuple[LabelTest, ...] = tuple(tests)
        self.equalities: tuple[tuple[str, str], ...] = tuple(equalities)
        self.anchor: tuple[str, str] | None = self.equalities[0] if self.equalities else None

    @classmethod
    def compile(cls, group: ConditionGroup, *, field: str = "match[0]") -> CompiledGroup:
        """Compile every matcher of ``group``; errors name ``field[j]``."""
        tests = [compile_matcher(m, field=f"{field}[{j}]") for j, m in enumerate(group.matchers)]
        equalities = [
            (m.label, m.value) for m in group.matchers if m.op == MatcherOp.EQ and m.value
        ]
        return cls(tests, equalities)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds for ``labels``; an empty group never matches."""
        tests = self.tests
        if not tests:
            return False
        # A plain loop: ``all()`` over a generator costs about twice as much on the hot path.
        for test in tests:  # noqa: SIM110
            if not test(labels):
                return False
        return True


def compile_groups(
    groups: Iterable[ConditionGroup], *, field: str = "match"
) -> list[CompiledGroup]:
    """Compile a window's condition groups, in order; errors name ``field[i][j]``."""
    return [CompiledGroup.compile(g, field=f"{field}[{i}]") for i, g in enumerate(groups)]


def validate_match(groups: Sequence[ConditionGroup], *, field: str = "match") -> None:
    """Check a window's condition groups as a user wrote them.

    Rejects an empty group (``match[i]``: it could never match, which is never what was meant)
    and every matcher ``compile_matcher`` rejects (``match[i][j].value`` for a bad regex).
    """
    for i, group in enumerate(groups):
        if not group.matchers:
            raise ValidationError(
                "a condition group needs at least one matcher", field=f"{field}[{i}]"
            )
    compile_groups(groups, field=field)


def matches_labels(compiled_groups: Sequence[CompiledGroup], labels: Mapping[str, str]) -> bool:
    """Whether any compiled group matches ``labels`` (no groups: no match)."""
    return any(group.matches(labels) for group in compiled_groups)


def scope_matches(window: Window, alert: Alert, group_members: Mapping[str, Iterable[str]]) -> bool:
    """The reference rule for "this window covers this alert", ignoring time.

    ``group_members`` maps a group name to its targets as they are at decision time; a group
    the mapping lacks has no members. Compiles the window's matchers on every call: use it for
    previews and tests, not on the hot path (the decision index precompiles).
    """
    if window.all_targets:
        return True
    alert_targets = set(alert.targets)
    if alert_targets & window.targets:
        return True
    for name in window.groups:
        if not alert_targets.isdisjoint(group_members.get(name, ())):
            return True
    return matches_labels(compile_groups(window.match), alert.labels)
