"""Maintenance as code: make a workspace's windows and groups of one ``source`` equal a
desired set, all or nothing.

``apply_desired`` runs inside the caller's transaction and returns the plan: one entry per
object created, changed or deleted, with field-level differences. Nothing else is touched:

- an object is matched by its key (a window's ``key``, a group's name) and must be managed by
  the same ``source`` (an apply never adopts hand-made objects or another source's);
- an object whose fields already agree is left alone, so applying the same set twice writes
  nothing: no audit entry, no outbox event, no change event;
- ``prune`` deletes the windows and groups of this source that the set no longer names, and
  never anything else.

Every error is collected (each object is tried in a savepoint) and raised together as
``ApplyFailed`` at the end, so the caller's transaction rolls back and nothing is applied.
New windows are created together after the others are compared and changed, through the
bulk create (``windows.create_windows``: its errors still name each item by its place in the
file); the plan keeps the file's order.
Applies to one workspace are serialised by a row lock on the workspace (``FOR NO KEY
UPDATE`` on PostgreSQL, which does not block inserts referencing it; SQLite's ``BEGIN
IMMEDIATE`` serialises every write already), so a second apply sees the first one's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.errors import QuietlyError, ValidationError
from quietly.core.model import RecurringSchedule
from quietly.core.records import Principal, WindowFields, WindowRecord
from quietly.services import groups, scopes, windows
from quietly.services.serialize import window_to_json
from quietly.storage.db import Database
from quietly.storage.mappers import fields_to_columns, window_record_from_row
from quietly.storage.tables import GroupRow, WindowRow, WorkspaceRow

__all__ = ["ApplyFailed", "DesiredGroup", "DesiredWindow", "FieldDiff", "PlannedChange",
           "apply_desired", "check_set", "run_apply"]

# Columns that are not the file's to set: bookkeeping, or kept from the stored window.
_NOT_COMPARED = frozenset({"key", "managed_source", "origin", "vendor", "parent_id"})
NEXT_OCCURRENCES = 3


@dataclass(frozen=True, slots=True)
class DesiredWindow:
    key: str
    fields: WindowFields
    index: int  # position in the request, for error paths (``windows[2].…``)


@dataclass(frozen=True, slots=True)
class DesiredGroup:
    name: str
    description: str | None
    targets: tuple[str, ...]
    index: int


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str  # dotted path: ``schedule.start_time``
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class PlannedChange:
    kind: str  # "group" or "window"
    key: str
    action: str  # "create", "change" or "delete"
    name: str
    id: int | None = None
    diff: tuple[FieldDiff, ...] = ()
    window: dict[str, Any] | None = None  # the window as it would be (create and change)
    next_occurrences: tuple[dict[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "action": self.action, "name": self.name,
                "id": self.id,
                "diff": [{"field": d.field, "before": d.before, "after": d.after}
                         for d in self.diff],
                "window": self.window, "next_occurrences": list(self.next_occurrences)}


class ApplyFailed(ValidationError):
    """Some objects could not be applied; ``errors`` lists every one as ``{field, detail}``."""

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        first = errors[0]
        super().__init__(str(first["detail"]), field=first["field"])
        self.errors = errors


class DryRun(Exception):
    """Raised inside the transaction to roll a dry run back; carries its plan."""

    def __init__(self, plan: list[PlannedChange]) -> None:
        super().__init__("dry run")
        self.plan = plan


@dataclass
class _Run:
    db: Session
    principal: Principal
    source: str
    now: datetime
    plan: list[PlannedChange] = field(default_factory=list)
    errors: list[dict[str, str | None]] = field(default_factory=list)
    # New windows wait here and are created together (``_create_pending``): their place in
    # ``plan`` (a placeholder until then), what the file wants, and the fields to create.
    pending: list[tuple[int, DesiredWindow, WindowFields]] = field(default_factory=list)

    def attempt(self, prefix: str, step: Callable[[], PlannedChange | None]) -> None:
        """Run one object's step; a failure is recorded, not raised.

        Steps compare first and write inside ``self.db.begin_nested()``, so a write that fails
        half-way is undone on its own (the run goes on to find every error) and an object
        that needs no change costs no savepoint.
        """
        try:
            change = step()
        except QuietlyError as exc:
            path = f"{prefix}.{exc.field}" if exc.field else prefix
            self.errors.append({"field": path, "detail": exc.message})
            return
        if change is not None:
            self.plan.append(change)


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and prefix == "schedule":
        return {f"{prefix}.{k}": v for k, v in value.items()}
    return {prefix: value}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldDiff, ...]:
    flat_before: dict[str, Any] = {}
    flat_after: dict[str, Any] = {}
    for name in after:
        if name in _NOT_COMPARED:
            continue
        flat_before |= _flatten(before.get(name), name) if name in before else {}
        flat_after |= _flatten(after[name], name)
    paths = sorted(set(flat_before) | set(flat_after))
    return tuple(FieldDiff(p, flat_before.get(p), flat_after.get(p)) for p in paths
                 if flat_before.get(p) != flat_after.get(p))


def _set_fields(fields: WindowFields) -> dict[str, Any]:
    """A new window's columns that say something (nulls, empties and defaults left out)."""
    defaults = fields_to_columns(WindowFields(name="", schedule=fields.schedule))
    return {k: v for k, v in fields_to_columns(fields).items()
            if k not in _NOT_COMPARED and (k in ("name", "schedule") or v != defaults[k])}


def _preview(record: WindowRecord, now: datetime) -> tuple[dict[str, Any], tuple[dict[str, str],
                                                                                   ...]]:
    """The window as shown by the API, and its next occurrences (however far ahead)."""
    window = record.to_window()
    upcoming: list[dict[str, str]] = []
    after = now
    current = lifecycle.current_occurrence(window, now)
    if current is not None:
        upcoming.append({"start": format_instant(current.start),
                         "end": format_instant(current.end)})
        after = current.end
    while len(upcoming) < NEXT_OCCURRENCES:
        found = lifecycle.next_occurrence(window, after)
        if found is None:
            break
        upcoming.append({"start": format_instant(found.start), "end": format_instant(found.end)})
        after = found.start + timedelta(microseconds=1)
    return window_to_json(record, now), tuple(upcoming)


def _owner(source: str | None) -> str:
    return f"managed by source {source!r}" if source else "made by hand"


def _apply_group(run: _Run, want: DesiredGroup, row: GroupRow | None) -> PlannedChange | None:
    members = sorted(set(want.targets))
    if row is None:
        with run.db.begin_nested():
            groups.create_group(run.db, run.principal, name=want.name,
                                targets=list(want.targets), description=want.description,
                                now=run.now, managed_source=run.source)
        after = {"description": want.description, "targets": members}
        return PlannedChange("group", want.name, "create", want.name,
                             diff=_diff({}, {k: v for k, v in after.items() if v}))
    if row.managed_source != run.source:
        raise ValidationError(
            f"a group named {want.name!r} already exists ({_owner(row.managed_source)}); an "
            f"apply of source {run.source!r} never takes over other objects: rename it in the "
            "file or delete the existing group", field="name")
    before = {"description": row.description, "targets": list(row.targets)}
    after = {"description": want.description, "targets": members}
    diff = _diff(before, after)
    if not diff:
        return None
    with run.db.begin_nested():
        groups.put_group(run.db, run.principal, name=want.name, targets=list(want.targets),
                         description=want.description, now=run.now)
    return PlannedChange("group", want.name, "change", want.name, diff=diff)


def _desired_fields(want: DesiredWindow, source: str,
                    current: WindowRecord | None) -> WindowFields:
    fields = replace(want.fields, key=want.key, managed_source=source)
    if current is None:
        return fields
    fields = replace(fields, origin=current.fields.origin, vendor=current.fields.vendor,
                     parent_id=current.fields.parent_id)
    sched, stored = fields.schedule, current.fields.schedule
    # A file without starts_on means "from whenever it was first applied", not "from today":
    # otherwise every day's apply would move the series (and never be a no-op).
    if (isinstance(sched, RecurringSchedule) and sched.starts_on is None
            and isinstance(stored, RecurringSchedule)):
        fields = replace(fields, schedule=replace(sched, starts_on=stored.starts_on))
    return fields


def _apply_window(run: _Run, want: DesiredWindow, row: WindowRow | None) -> PlannedChange | None:
    current = window_record_from_row(row) if row is not None else None
    fields = _desired_fields(want, run.source, current)
    if current is None:
        # A scoped key's refusal is this item's error, as every other item's is its own.
        scopes.check_fields(run.principal, fields)
        run.pending.append((len(run.plan), want, fields))  # ``attempt`` appends it next
        return PlannedChange("window", want.key, "create", fields.name,
                             diff=_diff({}, _set_fields(fields)))
    if current.fields.managed_source != run.source:
        raise ValidationError(
            f"key {want.key!r} names window {current.id} "
            f"({_owner(current.fields.managed_source)}); keys are unique in the workspace",
            field="key")
    diff = _diff(fields_to_columns(current.fields), fields_to_columns(fields))
    if not diff:
        return None
    changes = {name: getattr(fields, name) for name in WindowFields.__slots__
               if getattr(fields, name) != getattr(current.fields, name)}
    with run.db.begin_nested():
        record = windows.update_window(run.db, run.principal, current.id, changes, run.now)
    shown, upcoming = _preview(record, run.now)
    return PlannedChange("window", want.key, "change", fields.name, record.id, diff, shown,
                         upcoming)


def _create_pending(run: _Run) -> None:
    """Create the new windows together, with the bulk create (one statement per table, one
    index write); each item's errors are named by its place in the file, every one of them.
    Fills in the plan's placeholders (id, the window as shown, next occurrences)."""
    if not run.pending:
        return
    try:
        with run.db.begin_nested():
            records = windows.create_windows(
                run.db, run.principal, [fields for _, _, fields in run.pending], run.now,
                item_paths=[f"windows[{want.index}]" for _, want, _ in run.pending])
    except windows.InvalidItems as exc:
        run.errors += [{"field": e["field"], "detail": e["detail"]} for e in exc.errors]
        return
    except QuietlyError as exc:
        run.errors.append({"field": exc.field, "detail": exc.message})
        return
    for (position, _, _), record in zip(run.pending, records, strict=True):
        shown, upcoming = _preview(record, run.now)
        run.plan[position] = replace(run.plan[position], id=record.id, window=shown,
                                     next_occurrences=upcoming)


def _window_order(error: dict[str, str | None]) -> int:
    """The file position an error of ``windows[i]…`` names (errors are listed in file order)."""
    path = error["field"] or ""
    head = path.removeprefix("windows[").partition("]")[0]
    return int(head) if head.isdigit() else -1


def _delete_window(run: _Run, row: WindowRow) -> PlannedChange:
    with run.db.begin_nested():
        windows.delete_window(run.db, run.principal, row.id, run.now)
    return PlannedChange("window", row.key or "", "delete", row.name, row.id)


def _delete_group(run: _Run, row: GroupRow) -> PlannedChange:
    with run.db.begin_nested():
        groups.delete_group(run.db, run.principal, row.name, run.now)
    return PlannedChange("group", row.name, "delete", row.name)


def _duplicates(keys: list[tuple[int, str]], what: str, attr: str) -> list[dict[str, str | None]]:
    seen: dict[str, int] = {}
    out: list[dict[str, str | None]] = []
    for index, key in keys:
        if key in seen:
            out.append({"field": f"{what}[{index}].{attr}",
                        "detail": f"{attr} {key!r} is already used by {what}[{seen[key]}]"})
        else:
            seen[key] = index
    return out


def check_set(desired_windows: list[DesiredWindow],
              desired_groups: list[DesiredGroup]) -> list[dict[str, str | None]]:
    """Errors found without the database: duplicate keys and group names, bad group names."""
    errors: list[dict[str, str | None]] = [
        {"field": f"groups[{g.index}].name", "detail": groups.NAME_RULE}
        for g in desired_groups if not groups.NAME.match(g.name)]
    return (errors
            + _duplicates([(g.index, g.name) for g in desired_groups], "groups", "name")
            + _duplicates([(w.index, w.key) for w in desired_windows], "windows", "key"))


def _lock_workspace(db: Session, workspace_id: int) -> None:
    """Serialise applies to one workspace (see the module docstring)."""
    db.execute(select(WorkspaceRow.id).where(WorkspaceRow.id == workspace_id)
               .with_for_update(key_share=True))


def apply_desired(
    db: Session, principal: Principal, *, source: str, desired_windows: list[DesiredWindow],
    desired_groups: list[DesiredGroup], prune: bool, now: datetime,
) -> list[PlannedChange]:
    """Make ``source``'s objects equal the desired set; the plan of what changed.

    Raises ``ApplyFailed`` with every error when any object fails (the caller rolls back).
    """
    errors = check_set(desired_windows, desired_groups)
    if errors:
        raise ApplyFailed(errors)
    _lock_workspace(db, principal.workspace_id)
    run = _Run(db, principal, source, now)
    ws = principal.workspace_id
    group_rows = {r.name: r for r in db.scalars(select(GroupRow).where(
        GroupRow.workspace_id == ws, or_(GroupRow.managed_source == source,
                                         GroupRow.name.in_([g.name for g in desired_groups]))))}
    window_rows = {r.key: r for r in db.scalars(select(WindowRow).where(
        WindowRow.workspace_id == ws, WindowRow.archived_at.is_(None),
        WindowRow.key.is_not(None),
        or_(WindowRow.managed_source == source,
            WindowRow.key.in_([w.key for w in desired_windows]))))}
    for g in desired_groups:
        run.attempt(f"groups[{g.index}]",
                    partial(_apply_group, run, g, group_rows.get(g.name)))
    first_window_error = len(run.errors)
    for w in desired_windows:
        run.attempt(f"windows[{w.index}]",
                    partial(_apply_window, run, w, window_rows.get(w.key)))
    _create_pending(run)
    run.errors[first_window_error:] = sorted(run.errors[first_window_error:], key=_window_order)
    if prune:
        _prune(run, window_rows, group_rows, desired_windows, desired_groups)
    if run.errors:
        raise ApplyFailed(run.errors)
    return run.plan


def _prune(run: _Run, window_rows: dict[str | None, WindowRow], group_rows: dict[str, GroupRow],
           desired_windows: list[DesiredWindow], desired_groups: list[DesiredGroup]) -> None:
    wanted_windows = {w.key for w in desired_windows}
    wanted_groups = {g.name for g in desired_groups}
    for key, row in sorted(window_rows.items(), key=lambda kv: kv[1].id):
        if key not in wanted_windows and row.managed_source == run.source:
            run.attempt(f"prune.windows[{key}]",
                        partial(_delete_window, run, row))
    for name, grow in sorted(group_rows.items()):
        if name not in wanted_groups and grow.managed_source == run.source:
            run.attempt(f"prune.groups[{name}]",
                        partial(_delete_group, run, grow))


def run_apply(
    database: Database, principal: Principal, *, source: str,
    desired_windows: list[DesiredWindow], desired_groups: list[DesiredGroup], prune: bool,
    dry_run: bool, now: datetime,
) -> list[PlannedChange]:
    """``apply_desired`` in its own transaction; a dry run is rolled back (nothing is written,
    no event is sent) and returns the same plan a real apply would."""
    plan: list[PlannedChange] = []
    try:
        with database.transaction() as db:
            plan = apply_desired(db, principal, source=source, desired_windows=desired_windows,
                                 desired_groups=desired_groups, prune=prune, now=now)
            if dry_run:
                raise DryRun(plan)
    except DryRun as done:
        return [replace(c, id=None) if c.action == "create" else c for c in done.plan]
    return plan
