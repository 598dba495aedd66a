"""The window-level view of time: occurrences as cut by cancellation, state, allowed updates.

``core.schedule`` knows what a schedule produces; this module adds what the *window* does to
that (DESIGN §2): a cancelled window's occurrence that is running at ``cancelled_at`` ends
there and later ones do not exist; a deleted (archived) window has no occurrence from
``archived_at`` on. State is computed from an instant, never stored and flipped (like
Alertmanager's ``getState(sil, ts)``): suppression never waits for a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import datetime

from quietly.core import schedule as sched
from quietly.core.errors import Conflict, ValidationError
from quietly.core.model import (
    EFFECT_VERDICT,
    VERDICT_RANK,
    Effect,
    Occurrence,
    OnceSchedule,
    Schedule,
    State,
    Verdict,
    Window,
)

__all__ = [
    "ACTIVE_MUTABLE_FIELDS",
    "allowed_update",
    "current_occurrence",
    "cut_off",
    "next_occurrence",
    "occurrences_cut",
    "state_at",
    "state_changes_at",
    "strongest_verdict",
    "verdict_for",
    "window_changes",
    "window_occurrences",
]

ACTIVE_MUTABLE_FIELDS = frozenset({
    "end", "timezone", "description", "name", "publish_to_status_page", "show_in_sidebar",
    "lead", "targets", "groups", "match", "all_targets", "effects", "escalation_targets",
    "incident_id", "vendor",
})
"""What an active window may still change, taking effect from the change on (issues 2 and
16): its end (not before now), a one-time window's display zone, its words (name,
description), where it is shown, its scope (targets, groups, conditions) and its effects.
Not the start of the running occurrence, nor a recurring rule, nor the notifications planned
around it."""

# Window attributes a user edits; ``window_changes`` compares exactly these.
_EDITABLE_FIELDS = (
    "name",
    "description",
    "schedule",
    "effects",
    "targets",
    "groups",
    "match",
    "all_targets",
    "escalation_targets",
    "incident_id",
)


def cut_off(window: Window) -> datetime | None:
    """The instant from which the window has no occurrence: the earlier of cancel and archive."""
    cuts = [c for c in (window.cancelled_at, window.archived_at) if c is not None]
    return min(cuts) if cuts else None


def _truncate(occurrence: Occurrence, cut: datetime | None) -> Occurrence | None:
    """Cut ``occurrence`` at ``cut``: unchanged before it, shortened across it, gone after it.

    An occurrence starting exactly at ``cut`` is gone (it would be empty: ``[cut, cut)``).
    """
    if cut is None or occurrence.end <= cut:
        return occurrence
    if occurrence.start >= cut:
        return None
    return Occurrence(occurrence.start, cut)


def window_occurrences(
    window: Window,
    start: datetime,
    end: datetime,
    *,
    limit: int = 10_000,
    compiled: sched.CompiledSchedule | None = None,
) -> list[Occurrence]:
    """The window's occurrences that overlap ``[start, end)``, whole, sorted by start.

    Occurrences are not clipped to the range (an occurrence that began before ``start`` and is
    still running is returned with its real start); they are cut by cancellation and archiving
    (see ``cut_off``). Overlapping occurrences of one schedule are all returned. ``compiled``
    is the window's schedule already compiled, for callers that keep it (the decision index).
    """
    return occurrences_cut(window.schedule, cut_off(window), start, end, limit=limit,
                           compiled=compiled)


def occurrences_cut(
    schedule: Schedule,
    cut: datetime | None,
    start: datetime,
    end: datetime,
    *,
    limit: int = 10_000,
    compiled: sched.CompiledSchedule | None = None,
) -> list[Occurrence]:
    """``window_occurrences`` from a window's schedule and its ``cut_off`` alone (what the
    decision index keeps of a window)."""
    high = end if cut is None else min(end, cut)
    if high <= start:
        return []
    result: list[Occurrence] = []
    # ``sched.occurrences`` returns every occurrence overlapping the range, whole; cutting one
    # at ``cut >= high > start`` keeps it overlapping, so nothing needs filtering after.
    if compiled is None:
        found = sched.occurrences(schedule, start, high, limit=limit)
    else:
        found = compiled.occurrences(start, high, limit=limit)
    for occurrence in found:
        cut_occurrence = _truncate(occurrence, cut)
        if cut_occurrence is not None:
            result.append(cut_occurrence)
    result.sort(key=lambda o: (o.start, o.end))
    return result


def current_occurrence(window: Window, at: datetime) -> Occurrence | None:
    """The occurrence running at ``at`` (``start <= at < end``), cut by cancellation, or None.

    At ``cancelled_at`` itself nothing runs any more: the cut occurrence ends there.
    """
    cut = cut_off(window)
    if cut is not None and at >= cut:
        return None
    found = sched.current_occurrence(window.schedule, at)
    return None if found is None else _truncate(found, cut)


def next_occurrence(window: Window, after: datetime) -> Occurrence | None:
    """The first occurrence starting at or after ``after``, cut by cancellation, or None."""
    found = sched.next_occurrence(window.schedule, after)
    return None if found is None else _truncate(found, cut_off(window))


def state_at(window: Window, now: datetime) -> State:
    """The window's lifecycle state at ``now``, computed from its schedule (DESIGN §2).

    Cancelled once ``cancelled_at <= now``; active while an occurrence contains ``now``;
    scheduled while one is still to come (a recurring window between occurrences included);
    completed otherwise. A deleted window that was not cancelled reads as completed from
    ``archived_at`` on, since it has no occurrence left.
    """
    if window.cancelled_at is not None and window.cancelled_at <= now:
        return State.CANCELLED
    if current_occurrence(window, now) is not None:
        return State.ACTIVE
    if next_occurrence(window, now) is not None:
        return State.SCHEDULED
    return State.COMPLETED


def state_changes_at(window: Window, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which ``state_at`` may differ from its value at
    ``now``, or None when it never will (cancelled, or completed for good).

    ``state_at`` is constant on ``[now, state_changes_at(window, now))``: the running
    occurrence's end, else the next occurrence's start, else the cancellation, whichever
    comes first. At that instant the state may also stay the same (back-to-back
    occurrences); the caller then simply asks again.
    """
    if window.cancelled_at is not None and window.cancelled_at <= now:
        return None
    candidates: list[datetime] = []
    if window.cancelled_at is not None:
        candidates.append(window.cancelled_at)
    running = current_occurrence(window, now)
    if running is not None:
        candidates.append(running.end)
    else:
        upcoming = next_occurrence(window, now)
        if upcoming is not None:
            candidates.append(upcoming.start)
    return min(candidates) if candidates else None


def allowed_update(
    window: Window, now: datetime, changed_fields: Set[str], new_end: datetime | None
) -> None:
    """Raise unless the rules of issue 2 allow changing ``changed_fields`` of ``window`` now.

    ``changed_fields`` names the edited ``Window`` attributes, except that a change of a
    one-time schedule's end alone is named ``end`` (``window_changes`` computes both).
    A scheduled window may change freely. An active one may change its ``end`` — extend it,
    or shorten it to no earlier than ``now`` (``ValidationError`` on ``schedule.end``
    otherwise) — and the fields of ``ACTIVE_MUTABLE_FIELDS``. Completed and cancelled windows
    are immutable
    (``Conflict``). Changing nothing is always allowed.
    """
    if not changed_fields:
        return
    state = state_at(window, now)
    if state is State.SCHEDULED:
        return
    if state in (State.COMPLETED, State.CANCELLED):
        raise Conflict(
            f"the window is {state.value}; {state.value} windows cannot be changed"
            + (" (create a new window instead)" if state is State.COMPLETED else "")
        )
    forbidden = sorted(set(changed_fields) - ACTIVE_MUTABLE_FIELDS)
    if forbidden:
        raise Conflict(
            "the window is active; the start of its running occurrence cannot move and its "
            f"schedule and notifications are fixed, so it cannot change {', '.join(forbidden)} "
            "(extend or shorten its end, or cancel it and create a new one)",
            field=forbidden[0],
        )
    if "end" in changed_fields:
        if new_end is None:
            raise ValidationError("a new end is required", field="schedule.end")
        if new_end < now:
            raise ValidationError(
                "an active window can be shortened to end now at the earliest, "
                f"not at {new_end.isoformat()}",
                field="schedule.end",
            )


def window_changes(old: Window, new: Window) -> tuple[frozenset[str], datetime | None]:
    """The edited fields between two versions of a window, in ``allowed_update``'s terms.

    Returns the changed field names and the new end when ``end`` is among them: a one-time
    schedule that keeps its start reports ``end`` and/or ``timezone`` (the zone it is shown
    in); any other schedule change ``schedule``.
    """
    changed = {f for f in _EDITABLE_FIELDS if getattr(old, f) != getattr(new, f)}
    new_end: datetime | None = None
    old_s, new_s = old.schedule, new.schedule
    if (
        "schedule" in changed
        and isinstance(old_s, OnceSchedule)
        and isinstance(new_s, OnceSchedule)
        and old_s.start == new_s.start
    ):
        changed.discard("schedule")
        if old_s.timezone != new_s.timezone:
            changed.add("timezone")
        if old_s.end != new_s.end:
            changed.add("end")
            new_end = new_s.end
    return frozenset(changed), new_end


def strongest_verdict(effects: Iterable[Effect]) -> Verdict:
    """The strongest verdict among one window's effects (``deliver`` for none)."""
    best = Verdict.DELIVER
    for effect in effects:
        verdict = EFFECT_VERDICT[Effect(effect)]
        if VERDICT_RANK[verdict] > VERDICT_RANK[best]:
            best = verdict
    return best


def verdict_for(effects_of_matching_windows: Iterable[Iterable[Effect]]) -> Verdict:
    """The verdict when these windows match: each contributes its strongest effect, and the
    strongest of those wins (drop > reroute > attach > mute > suppress_incident > deliver).

    No matching window means ``deliver``.
    """
    best = Verdict.DELIVER
    for effects in effects_of_matching_windows:
        verdict = strongest_verdict(effects)
        if VERDICT_RANK[verdict] > VERDICT_RANK[best]:
            best = verdict
    return best
