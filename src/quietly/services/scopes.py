"""Least-privilege keys: the one place that decides what a scoped key may change.

Every service entry point that creates, changes, starts, stops, cancels or deletes a window
calls one of these first, so the native API, the five compatibility APIs, the web UI,
``apply`` and the CLI's client commands all follow the same rules:

- a window may be created, or the result of a change stored, only when every target it names
  matches one of the key's patterns and every group it names matches a ``group:`` pattern
  (label conditions and ``all_targets`` are outside every restricted scope);
- an existing window may be changed, cancelled, stopped or deleted only when it is wholly
  inside the scope *before* the change too (a key cannot take over someone else's window by
  editing it into its scope);
- target groups cannot be created, changed or deleted by a scoped key: membership decides
  what every window on the group covers, so editing it would widen the key's reach;
- alerts may be ingested only when each names targets, all inside the scope (their labels
  alone say nothing a scope can be checked against).

Reads are not restricted: a scoped key sees every window, decision and alert of its
workspace (read-only beyond its scope). A deploy pipeline's ``check`` must get the same
answer as everyone else, and knowing about others' maintenance is harmless and useful.
Unrestricted keys (an empty scope) pay nothing: each check returns at its first line.

Refusals are ``Forbidden`` (403), naming the field and the target outside the scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core.errors import Forbidden
from quietly.core.model import OnceSchedule
from quietly.core.records import Principal, Role, WindowFields, WindowRecord
from quietly.core.scopes import first_outside, matches
from quietly.storage.mappers import window_record_from_row
from quietly.storage.tables import WindowRow

__all__ = ["check_alerts", "check_fields", "check_group_change", "check_role_update",
           "check_targets", "check_update", "check_window"]

# quietly's own mark in a window's vendor dict on windows made by start_maintenance
# (services.windows.OWN_VENDOR_KEY; repeated here, as windows imports this module).
_OWN_VENDOR_KEY = "quietly"


def _is_immediate(record: WindowRecord) -> bool:
    """Whether ``record`` was made by ``start_maintenance`` (immediate maintenance)."""
    return bool((record.fields.vendor.get(_OWN_VENDOR_KEY) or {}).get("immediate"))


def _scope_text(principal: Principal) -> str:
    return ", ".join(principal.scope)


def _refuse(principal: Principal, what: str, field: str | None, whose: str = "") -> Forbidden:
    return Forbidden(
        f"{whose}{what} is outside the scope of key {principal.key_name!r} "
        f"({_scope_text(principal)}); a scoped key may only change windows whose every "
        "target is inside its scope", field=field)


def check_fields(principal: Principal, fields: WindowFields) -> None:
    """Refuse to store ``fields`` (a new window, or a window after a change) outside the
    caller's scope."""
    if not principal.scope:
        return
    outside = first_outside(principal.scope, targets=fields.targets, groups=fields.groups,
                            has_conditions=bool(fields.match), all_targets=fields.all_targets)
    if outside is not None:
        raise _refuse(principal, outside[1], outside[0])


def _current(db: Session, principal: Principal, window_id: int) -> WindowFields | None:
    row = db.scalar(select(WindowRow).where(WindowRow.id == window_id,
                                            WindowRow.workspace_id == principal.workspace_id,
                                            WindowRow.archived_at.is_(None)))
    return None if row is None else window_record_from_row(row).fields


def check_window(db: Session, principal: Principal, window_id: int) -> None:
    """Refuse to change, cancel, stop or delete window ``window_id`` unless it is wholly
    inside the caller's scope. An unknown id passes: the entry point answers 404 itself."""
    if not principal.scope:
        return
    current = _current(db, principal, window_id)
    if current is None:
        return
    outside = first_outside(principal.scope, targets=current.targets, groups=current.groups,
                            has_conditions=bool(current.match),
                            all_targets=current.all_targets)
    if outside is not None:
        raise _refuse(principal, outside[1], None, f"window {window_id} covers what ")


def check_update(db: Session, principal: Principal, window_id: int,
                 changes: Mapping[str, Any]) -> None:
    """``check_window``, then ``check_fields`` on the window as ``changes`` would leave it."""
    if not principal.scope:
        return
    check_window(db, principal, window_id)
    current = _current(db, principal, window_id)
    known = {k: v for k, v in changes.items() if k in WindowFields.__slots__}
    if current is not None and known:
        check_fields(principal, current.with_changes(**known))


def check_role_update(principal: Principal, current: WindowRecord,
                      changes: Mapping[str, Any]) -> None:
    """A ``maintenance`` key may change a window only by moving the end of immediate
    maintenance (a one-time window made by ``start``): extending or shortening what it
    started, as ``quietly run`` does. Editors and admins pass."""
    if principal.role.allows(Role.EDITOR):
        return
    sched, new = current.fields.schedule, changes.get("schedule")
    if (set(changes) <= {"schedule"} and _is_immediate(current)
            and isinstance(sched, OnceSchedule) and isinstance(new, OnceSchedule)
            and (new.start, new.timezone) == (sched.start, sched.timezone)):
        return
    raise Forbidden(f"this needs the editor role; a {principal.role.value} key may only move "
                    "the end of maintenance started with maintenance/start", field=None)


def check_targets(principal: Principal, targets: Iterable[str], field: str = "targets"
                  ) -> None:
    """Refuse to start or stop maintenance of targets outside the caller's scope."""
    if not principal.scope:
        return
    for i, target in enumerate(targets):
        if not matches(principal.scope, target):
            raise _refuse(principal, target, f"{field}[{i}]")


def check_group_change(principal: Principal, name: str) -> None:
    """Refuse any change to target groups from a scoped key (membership widens reach)."""
    if not principal.scope:
        return
    raise Forbidden(
        f"key {principal.key_name!r} is limited to targets ({_scope_text(principal)}) and "
        f"cannot create, change or delete target groups (group {name!r}): a group's members "
        "decide what every window on it covers; use an unrestricted editor key",
        field="name")


def check_alerts(principal: Principal, alert_targets: Sequence[Sequence[str]]) -> None:
    """Refuse alerts a scoped key may not send: each must name targets, all inside its scope
    (alerts with labels only cannot be checked against a scope)."""
    if not principal.scope:
        return
    for i, targets in enumerate(alert_targets):
        if not targets:
            raise Forbidden(
                f"key {principal.key_name!r} is limited to targets ({_scope_text(principal)}), "
                "so each alert it sends must name targets inside that scope",
                field=f"alerts[{i}].targets")
        check_targets(principal, targets, f"alerts[{i}].targets")
