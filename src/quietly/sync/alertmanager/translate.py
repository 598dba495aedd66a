"""A window's occurrences → Alertmanager silences (pure: no I/O, the clock is passed in).

Alertmanager's matchers are an AND; a window's scope is an OR of its parts. So one occurrence
becomes one silence per part:

- one per **condition group**, with the group's matchers and the same operators (``one_of`` →
  an escaped alternation, ``is_set`` → ``=~".+"``, ``is_blank`` → ``=""``, …);
- one per **target kind**, matching that kind's label (``target_labels``: ``service`` →
  ``service``, ``host`` → ``instance``) against all of the window's targets of that kind,
  target groups expanded to their members, as one escaped alternation (Alertmanager anchors
  regexes itself: ``^(?:…)$``);
- ``all_targets`` (only where the sync allows it) → ``alertname=~".+"``, which every
  Prometheus alert carries.

Occurrences are half-open ``[start, end)``; a silence is active while ``startsAt <= t <=
endsAt`` (its end is inclusive), at millisecond precision on the wire. So ``endsAt`` is the
last whole millisecond strictly before the occurrence's end (``12:00:00.000`` →
``11:59:59.999``): the silence never covers the instant the window stops covering.

What cannot be expressed is returned as reasons, never dropped: windows whose effects are
only ``reroute``/``attach``, ``all_targets`` where not allowed, a target kind without a label,
a label name Alertmanager refuses, and a group whose every matcher matches the empty string
(Alertmanager refuses such a silence).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from quietly.core.model import ConditionGroup, Effect, Matcher, MatcherOp, Window
from quietly.sync.reconciler import (
    DesiredObject,
    NotExpressible,
    SyncTarget,
    desired_objects,
    last_millisecond_before,
)

__all__ = ["SILENCING_EFFECTS", "Part", "SilenceMatcher", "SilencePayload", "SyncScope",
           "Translation", "desired_silences", "digest", "map_matcher",
           "occurrence_end_to_silence_end", "quote_meta", "translate_scope"]

SILENCING_EFFECTS = frozenset({Effect.MUTE, Effect.SUPPRESS_INCIDENTS, Effect.DROP})
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GO_META = frozenset("\\.+*?()|[]{}^$")


@dataclass(frozen=True, slots=True, order=True)
class SilenceMatcher:
    """One Alertmanager v2 matcher (``isEqual: false`` negates it)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex,
                "isEqual": self.is_equal}

    def matches_empty(self) -> bool:
        """Whether an alert without the label matches (Alertmanager refuses a silence whose
        every matcher does). A regex Python cannot read is left for Alertmanager to judge."""
        if self.is_regex:
            try:
                hit = re.fullmatch(f"(?:{self.value})", "") is not None
            except (re.error, RecursionError, OverflowError):
                return False
        else:
            hit = self.value == ""
        return hit == self.is_equal


Part = tuple[SilenceMatcher, ...]


@dataclass(frozen=True, slots=True)
class Translation:
    """The silences one window's occurrence becomes, and what of it cannot be expressed."""

    parts: tuple[Part, ...]
    reasons: tuple[str, ...]


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: escape exactly the characters RE2 treats as syntax."""
    return "".join("\\" + ch if ch in _GO_META else ch for ch in text)


def _alternation(values: list[str]) -> str:
    return "|".join(quote_meta(v) for v in sorted(set(values)))


def _set_matcher(label: str, values: tuple[str, ...], *, equal: bool) -> SilenceMatcher:
    if len(set(values)) == 1:
        return SilenceMatcher(label, values[0], False, equal)
    return SilenceMatcher(label, _alternation(list(values)), True, equal)


def map_matcher(matcher: Matcher) -> SilenceMatcher:
    """quietly's operator → Alertmanager's (same semantics: a missing label reads as "")."""
    op, label = matcher.op, matcher.label
    if op == MatcherOp.EQ:
        return SilenceMatcher(label, matcher.value)
    if op == MatcherOp.NE:
        return SilenceMatcher(label, matcher.value, False, False)
    if op == MatcherOp.RE:
        return SilenceMatcher(label, matcher.value, True)
    if op == MatcherOp.NRE:
        return SilenceMatcher(label, matcher.value, True, False)
    if op == MatcherOp.ONE_OF:
        return _set_matcher(label, matcher.values, equal=True)
    if op == MatcherOp.NOT_ONE_OF:
        return _set_matcher(label, matcher.values, equal=False)
    if op == MatcherOp.IS_SET:
        return SilenceMatcher(label, ".+", True)
    return SilenceMatcher(label, "")  # is_blank


def _group_part(index: int, group: ConditionGroup) -> tuple[Part | None, str | None]:
    if not group.matchers:
        return None, None  # an empty group matches nothing: nothing to silence
    bad = [m.label for m in group.matchers if not _LABEL_NAME.match(m.label)]
    if bad:
        return None, (f"match[{index}]: label name {bad[0]!r} is not one Alertmanager "
                      "accepts ([a-zA-Z_][a-zA-Z0-9_]*)")
    part = tuple(sorted({map_matcher(m) for m in group.matchers}))
    if all(m.matches_empty() for m in part):
        return None, (f"match[{index}]: every matcher also matches an alert without the "
                      "label; Alertmanager refuses such a silence")
    return part, None


def _target_parts(targets: set[str], target_labels: Mapping[str, str]
                  ) -> tuple[list[Part], list[str]]:
    by_kind: dict[str, list[str]] = {}
    for target in targets:
        kind, _, ident = target.partition(":")
        if ident:
            by_kind.setdefault(kind, []).append(ident)
    parts: list[Part] = []
    reasons: list[str] = []
    for kind in sorted(by_kind):
        label = target_labels.get(kind)
        if label is None:
            reasons.append(f"targets of kind {kind!r} ({len(by_kind[kind])}): no alert label "
                           "stands for this kind (target_labels)")
            continue
        parts.append((_set_matcher(label, tuple(by_kind[kind]), equal=True),))
    return parts, reasons


def translate_scope(window: Window, members: Mapping[str, frozenset[str]],
                    target_labels: Mapping[str, str], *, allow_all_targets: bool
                    ) -> Translation:
    """The silences (as matcher sets) that together cover what ``window`` covers.

    ``members`` maps the workspace's group names to their targets at sync time.
    """
    if not window.effects & SILENCING_EFFECTS:
        effects = ", ".join(sorted(e.value for e in window.effects))
        return Translation((), (f"effects {effects}: an Alertmanager silence can only mute "
                                "(mute, suppress_incidents, drop)",))
    parts: list[Part] = []
    reasons: list[str] = []
    if window.all_targets:
        if allow_all_targets:
            parts.append((SilenceMatcher("alertname", ".+", True),))
        else:
            reasons.append("all_targets: this sync does not allow silencing everything "
                           "(allow_all_targets)")
    targets = set(window.targets)
    for group in window.groups:
        targets |= members.get(group, frozenset())
    target_parts, target_reasons = _target_parts(targets, target_labels)
    parts += target_parts
    reasons += target_reasons
    for index, condition_group in enumerate(window.match):
        part, reason = _group_part(index, condition_group)
        if part is not None:
            parts.append(part)
        if reason is not None:
            reasons.append(reason)
    unique = tuple(dict.fromkeys(parts))
    return Translation(unique, tuple(reasons))


def digest(part: Part) -> str:
    """A short, stable digest of a silence's matchers (order-independent)."""
    canonical = json.dumps([m.to_json() for m in sorted(part)], sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def occurrence_end_to_silence_end(end: datetime) -> datetime:
    """The last whole millisecond strictly before ``end`` (see the module docstring)."""
    return last_millisecond_before(end)


@dataclass(frozen=True, slots=True)
class SyncScope:
    """What of a sync the translation reads."""

    workspace_id: int
    sync_id: int
    target_labels: Mapping[str, str]
    allow_all_targets: bool
    lead: timedelta
    public_url: str | None = None


@dataclass(frozen=True, slots=True)
class SilencePayload:
    """What Alertmanager is sent besides the bounds: the matchers and the comment."""

    matchers: Part
    comment: str


def desired_silences(windows: list[Window], members: Mapping[str, frozenset[str]],
                     scope: SyncScope, now: datetime
                     ) -> tuple[list[DesiredObject], list[NotExpressible]]:
    """Every silence that should exist at ``now``, and what cannot be expressed (see
    ``sync.reconciler.desired_objects``)."""
    def translate(window: Window) -> tuple[tuple[Part, ...], tuple[str, ...]]:
        found = translate_scope(window, members, scope.target_labels,
                                allow_all_targets=scope.allow_all_targets)
        return found.parts, found.reasons

    return desired_objects(
        windows, SyncTarget(scope.workspace_id, scope.sync_id, scope.lead, scope.public_url),
        now, translate=translate, digest=digest, payload=SilencePayload)
