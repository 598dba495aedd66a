"""Window use cases: create, read, update, cancel, delete, list, immediate maintenance.

Each function runs inside the caller's transaction (``Database.transaction()``), writes the
audit entry in that same transaction, and publishes a ``WindowChanged`` event that subscribers
(the decision index, the worker) see only after the commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as fields_of
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Table, delete, func, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from quietly.core import lifecycle, schedule
from quietly.core.codec import match_from_json, schedule_from_json
from quietly.core.construct import slot_constructor
from quietly.core.errors import Conflict, Forbidden, NotFound, ValidationError
from quietly.core.limits import MAX_MATCHERS_PER_GROUP, MAX_TARGETS
from quietly.core.matching import validate_match
from quietly.core.model import (
    Effect,
    Occurrence,
    OnceSchedule,
    RecurringSchedule,
    Schedule,
    State,
    Window,
)
from quietly.core.records import Principal, WindowFields, WindowRecord
from quietly.core.schedule.compiled import build as build_schedule
from quietly.core.timeutil import to_local
from quietly.services import audit, channels, outbox, scopes
from quietly.services.serialize import window_to_json
from quietly.storage.bulk import driver_execute, insert_rows, insert_values
from quietly.storage.db import publish
from quietly.storage.loopwriter import RawTx
from quietly.storage.mappers import (
    apply_fields_to_row,
    fields_to_columns,
    window_record_from_row,
)
from quietly.storage.tables import (
    AuditRow,
    GroupRow,
    WindowJobRow,
    WindowRow,
    WindowTargetRow,
)
from quietly.storage.types import sqlite_instant
from quietly.storage.window_rows import (
    WindowRowEncoder,
    insert_create_audit_json,
    insert_targets_json,
    insert_window_params,
    is_plain,
    plain_params,
    window_encoder,
)

__all__ = [
    "InvalidItems",
    "ListFilter",
    "WindowChanged",
    "WindowsChanged",
    "cancel_window",
    "create_window",
    "create_windows",
    "defer_start",
    "delete_window",
    "get_window",
    "is_immediate",
    "list_windows",
    "narrow_targets",
    "plain_create",
    "start_maintenance",
    "update_window",
    "window_occurrences",
]

# quietly's own marks in a window's vendor dict: {"immediate": true} on windows made by
# start_maintenance, which `stop TARGET` ends by default (issue 16).
OWN_VENDOR_KEY = "quietly"
TARGET = re.compile(r"^[a-z][a-z0-9_]*:\S{1,256}$")
MAX_OCCURRENCE_RANGE = timedelta(days=800)


@dataclass(frozen=True, slots=True)
class WindowChanged:
    """Published after a commit that created, changed or removed a window."""

    workspace_id: int
    window_id: int
    record: WindowRecord | None  # None when the window is gone (deleted)
    action: str
    # ``record.to_window()`` when the publisher has it already (the bulk create builds it
    # for the derived columns), so the decision index does not build it again.
    window: Window | None = None
    # ``window``'s schedule was validated by the transaction that published the event (the
    # index need not validate it again).
    checked: bool = False


@dataclass(frozen=True, slots=True)
class WindowsChanged:
    """Published after a commit that created many windows (``create_windows``): one event
    for the batch, so the decision index files them in one write. ``checked``: every
    window's schedule was validated by the transaction that published the event (the index
    need not validate them again)."""

    changes: tuple[WindowChanged, ...]
    checked: bool = False


@dataclass(frozen=True, slots=True)
class ListFilter:
    state: State | None = None
    target: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    origin: str | None = None
    parent_id: int | None = None
    limit: int = 50
    cursor: str | None = None


def _check_fields(db: Session, principal: Principal, fields: WindowFields) -> None:
    """Every rule a window's fields must satisfy, whatever API they came through."""
    _check_own_fields(fields)
    _check_groups_exist(db, principal, fields.groups)
    channels.check_channel_refs(db, principal.workspace_id, fields.notify_channels)


def _check_own_fields(fields: WindowFields) -> None:
    """The rules that need no database (``_check_fields`` without the references)."""
    if not fields.name.strip():
        raise ValidationError("must not be empty", field="name")
    schedule.validate(fields.schedule)
    if len(fields.targets) > MAX_TARGETS:
        raise ValidationError(f"at most {MAX_TARGETS:,} targets per window; name a group "
                              "or match labels instead", field="targets")
    for i, group in enumerate(fields.match):
        if len(group.matchers) > MAX_MATCHERS_PER_GROUP:
            raise ValidationError(f"at most {MAX_MATCHERS_PER_GROUP} matchers per condition "
                                  "group", field=f"match[{i}]")
    for i, target in enumerate(fields.targets):
        if not TARGET.match(target):
            raise ValidationError(
                f"{target!r} is not a target; write kind:id, e.g. 'service:checkout', with a "
                "kind of lower-case letters, digits and '_'", field=f"targets[{i}]")
    validate_match(fields.match)
    if not (fields.targets or fields.groups or fields.match or fields.all_targets):
        raise ValidationError(
            "a window must name targets, groups or match conditions, or set all_targets: true",
            field="targets")
    if not fields.effects and fields.origin == "native":
        # Vendor dialects that document it may have none (Ionhour: a window that suppresses
        # nothing is still a published maintenance); natively a window must do something.
        raise ValidationError("name at least one effect", field="effects")
    if Effect.REROUTE in fields.effects and not fields.escalation_targets:
        raise ValidationError("the reroute effect needs escalation_targets",
                              field="escalation_targets")
    if Effect.ATTACH in fields.effects and not fields.incident_id:
        raise ValidationError("the attach effect needs an incident_id", field="incident_id")


def _check_groups_exist(db: Session, principal: Principal, groups: Iterable[str]) -> None:
    wanted = list(groups)
    if not wanted:
        return
    stmt = select(GroupRow.name).where(GroupRow.workspace_id == principal.workspace_id,
                                       GroupRow.name.in_(wanted))
    known = set(db.scalars(stmt))
    for i, name in enumerate(wanted):
        if name not in known:
            raise ValidationError(f"no target group named {name!r}; create it first",
                                  field=f"groups[{i}]")


def _with_default_start(fields: WindowFields, now: datetime) -> WindowFields:
    """Recurring schedules without ``starts_on`` start on today's date in their own zone."""
    sched = fields.schedule
    if isinstance(sched, RecurringSchedule) and sched.starts_on is None:
        today = to_local(now, sched.timezone).date()
        return replace(fields, schedule=replace(sched, starts_on=today))
    return fields


def _reject_ended_once(fields: WindowFields, now: datetime) -> None:
    sched = fields.schedule
    if isinstance(sched, OnceSchedule) and sched.end <= now:
        raise ValidationError(
            f"the window would end at {sched.end.isoformat()}, which has already passed; "
            "a one-time window must end in the future", field="schedule.end")


def _earliest_possible_start(sched: Schedule) -> datetime:
    """An instant no occurrence starts before (the zone offset is at most a day)."""
    if isinstance(sched, OnceSchedule):
        return sched.start
    first_day = sched.starts_on or date(2000, 1, 1)
    return datetime.combine(first_day - timedelta(days=2), time(), tzinfo=UTC)


def _store_derived(row: WindowRow, record: WindowRecord, now: datetime) -> None:
    """Columns derived from the schedule, for listing and filtering in SQL."""
    window = record.to_window()
    first = lifecycle.next_occurrence(window, _earliest_possible_start(record.fields.schedule))
    row.first_start = first.start if first else None
    last_end = schedule.last_occurrence_end(record.fields.schedule)
    if record.cancelled_at is not None:
        last_end = min(last_end, record.cancelled_at) if last_end else record.cancelled_at
    row.last_end = last_end
    row.state = lifecycle.state_at(window, now).value


def _sync_targets(db: Session, row: WindowRow) -> None:
    db.execute(delete(WindowTargetRow).where(WindowTargetRow.window_id == row.id))
    for target in sorted(set(row.targets)):
        db.add(WindowTargetRow(window_id=row.id, target=target, workspace_id=row.workspace_id))


def _load_row(db: Session, principal: Principal, window_id: int, *, lock: bool) -> WindowRow:
    stmt = select(WindowRow).where(WindowRow.id == window_id,
                                   WindowRow.workspace_id == principal.workspace_id,
                                   WindowRow.archived_at.is_(None))
    if lock:
        stmt = stmt.with_for_update()
    row = db.scalar(stmt)
    if row is None:
        raise NotFound(f"no window with id {window_id}", field="id")
    if lock:
        _keep_created_copy(db, row)
    return row


def _next_version(row: WindowRow, now: datetime) -> datetime:
    """The ``updated_at`` of a change to the locked ``row``: ``now``, but always after the
    previous one.

    ``updated_at`` doubles as the window's version: the decision index ignores a copy of a
    window older than the one it holds (a change listener or a reload can deliver a copy read
    before a later change, after that change). ``now`` is taken when a request starts, so two
    changes in one transaction (Oh Dear's create-then-record-generation) or a request that
    waited for the row lock could otherwise store an equal or earlier time.
    """
    previous = row.updated_at
    if previous is not None and now <= previous:
        return previous + timedelta(microseconds=1)
    return now


def _finish(db: Session, row: WindowRow, action: str, now: datetime) -> WindowRecord:
    record = window_record_from_row(row)
    _store_derived(row, record, now)
    db.flush()
    publish(db, WindowChanged(row.workspace_id, row.id, record, action))
    outbox.enqueue_window_event(db, row.workspace_id, row.id, action, now)
    return record


class InvalidItems(ValidationError):
    """Several items of a batch break rules: ``errors`` names each (``windows[3].name``)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first['detail']}{more}", field=first["field"])
        self.errors = errors


def create_window(
    db: Session, principal: Principal, fields: WindowFields, now: datetime
) -> WindowRecord:
    """Validate and store a new window. A one-time window that has already ended is refused."""
    return create_windows(db, principal, [fields], now, item_prefix=None)[0]


def create_windows(
    db: Session, principal: Principal, items: Sequence[WindowFields], now: datetime, *,
    item_prefix: str | None = "windows", item_paths: Sequence[str] | None = None,
    common: bool = False,
) -> list[WindowRecord]:
    """Validate and store new windows, all or none, with one statement per table.

    Everything a create does: the rules of ``_check_fields`` (every bad item is named,
    ``windows[17].schedule.end``, raised together as ``InvalidItems``; with ``item_prefix``
    None a single item's error is raised as it is; ``item_paths`` names each item's place
    instead, e.g. ``windows[7]`` where the items are some of a request's), derived columns
    computed before the insert, the audit entry, the ``window.created`` outbox events and
    the worker's job, ``NOTIFY`` on PostgreSQL and the index update after the commit (one
    ``WindowsChanged`` for the batch).

    The audit entry of a create stores no copy of the window: its ``after`` is the window as
    first stored, which ``audit.list_audit`` renders from the row (the row does not change
    until the first update, cancel or delete, and that change writes the copy into the entry
    first: ``_keep_created_copy``).

    ``common``: every item is ``api.native.create_fastpath.common_fields``' reading of a
    common create, so the rules that reading already checked are not checked again
    (``_common_valid``); an item it does not vouch for is checked in full.
    """
    paths = (list(item_paths) if item_paths is not None
             else None if item_prefix is None
             else [f"{item_prefix}[{i}]" for i in range(len(items))])
    prepared = _prepare_creates(db, principal, items, now, paths, common)
    conn = db.connection()  # once: each call costs more than a SQLite insert
    ids = _new_window_ids(conn, len(prepared))
    memo: dict[Schedule, _Derived] = {}
    workspace_id = principal.workspace_id
    if conn.dialect.name == "sqlite":
        # Each row's parameters built straight from the fields (``storage.window_rows``),
        # the batch's shared values encoded once; the targets and audit entries read by
        # SQLite from one JSON array each where they can be.
        encode, stamp = window_encoder(), sqlite_instant(now)
        created = [_new_window_params(window_id, principal, fields, now, memo, encode, stamp)
                   for window_id, fields in zip(ids, prepared, strict=True)]
        insert_window_params(conn, [new.columns for new in created])
        records = [new.record for new in created]
        if not insert_targets_json(conn, ids, [r.fields.targets for r in records],
                                   workspace_id):
            _insert_targets(conn, records)
        outbox.window_events_created(db, records, now, conn,
                                     running=[new.running for new in created])
        if not insert_create_audit_json(conn, ids, workspace_id, stamp, principal.actor):
            _insert_create_audit(conn, principal, records, now)
    else:
        created = [_new_window(window_id, principal, fields, now, memo)
                   for window_id, fields in zip(ids, prepared, strict=True)]
        insert_rows(conn, _table(WindowRow), [new.columns for new in created])
        records = [new.record for new in created]
        _insert_targets(conn, records)
        outbox.window_events_created(db, records, now, conn,
                                     running=[new.running for new in created])
        _insert_create_audit(conn, principal, records, now)
    changes = tuple(_changed(new.record.workspace_id, new.record.id, new.record, "created",
                             new.window) for new in created)
    if len(changes) == 1:
        publish(db, changes[0])
    elif changes:
        publish(db, WindowsChanged(changes, checked=True))
    return records


def plain_create(principal: Principal, fields: WindowFields, now: datetime
                 ) -> Callable[[RawTx], WindowRecord] | None:
    """``create_window`` for a window that needs no lookup (no groups, no notify_channels),
    checked now and written later by ``storage.loopwriter.LoopWriter`` (SQLite): the unit
    of work to run there, or None when the create needs the session (``create_window``).

    The same rules (scope, fields, an ended one-time window; raised here, before any
    write), the same rows as ``create_windows`` writes for one item (the window with its
    derived columns, targets, the worker's job, the syncs' change mark, the audit entry),
    and the same ``WindowChanged`` event after the commit. The domain ``Window`` is built
    once, for the derived columns and the job's bookmark.
    """
    if fields.groups or fields.notify_channels:
        return None
    _check_scope(principal, fields, None)
    fields = _with_default_start(fields, now)
    _check_own_fields(fields)
    _reject_ended_once(fields, now)
    new = _new_window(0, principal, fields, now)
    cols, record, running = new.columns, new.record, new.running
    done_until = min(now, running.start) if running is not None else now
    workspace_id = principal.workspace_id
    audit_row = {"workspace_id": workspace_id, "at": now, "actor": principal.actor,
                 "action": "create", "object_type": "window"}
    windows_table, targets_table = _table(WindowRow), _table(WindowTargetRow)
    jobs_table, audit_table = _table(WindowJobRow), _table(AuditRow)

    # The record and the domain window get their id, known only in the transaction, from
    # their constructors (cheaper than dataclasses.replace): the window's other fields as built.
    window_rest = _WINDOW_REST(new.window)
    fields_, actor = record.fields, record.created_by
    # Inserted without its id: SQLite gives the row the next one (the table's INTEGER
    # PRIMARY KEY, no AUTOINCREMENT: one more than the largest, what create_windows takes
    # with SELECT max(id) + 1 under the same write lock), one statement less.
    del cols["id"]

    def write(tx: RawTx) -> WindowRecord:
        window_id = tx.insert(windows_table, cols)
        assert window_id is not None
        mine = WindowRecord(window_id, workspace_id, fields_, actor, now, now)
        tx.insert_many(targets_table, [
            {"window_id": window_id, "target": target, "workspace_id": workspace_id}
            for target in mine.fields.targets])
        tx.insert(jobs_table, {"window_id": window_id, "workspace_id": workspace_id,
                               "done_until": done_until, "next_due_at": now})
        tx.execute(outbox._MARK_SYNCS_SQLITE, (workspace_id,))
        tx.insert(audit_table, {**audit_row, "object_id": str(window_id)})
        tx.notify(f"w:{workspace_id}:{window_id}")
        tx.publish(WindowChanged(workspace_id, window_id, mine, "created",
                                 Window(window_id, *window_rest), checked=True))
        return mine

    return write


_WINDOW_REST = attrgetter(*(f.name for f in fields_of(Window)[1:]))  # all but the id


def _prepare_creates(db: Session, principal: Principal, items: Sequence[WindowFields],
                     now: datetime, paths: Sequence[str] | None, common: bool = False
                     ) -> list[WindowFields]:
    """Each item with its defaults, checked; every broken item named at once. ``common``:
    the items are ``common_fields``' readings (see ``create_windows``)."""
    prepared: list[WindowFields] = []
    errors: list[dict[str, str]] = []
    wanted_groups = set() if common else {g for fields in items for g in fields.groups}
    known_groups = _known_groups(db, principal, wanted_groups) if wanted_groups else set()
    for i, original in enumerate(items):
        _check_scope(principal, original, paths[i] if paths is not None else None)
        if common and _common_valid(original, now):
            prepared.append(original)
            continue
        try:
            fields = _with_default_start(original, now)
            _check_own_fields(fields)
            for k, name in enumerate(fields.groups):
                if name not in known_groups:
                    raise ValidationError(f"no target group named {name!r}; create it first",
                                          field=f"groups[{k}]")
            if fields.notify_channels:
                channels.check_channel_refs(db, principal.workspace_id,
                                            fields.notify_channels)
            _reject_ended_once(fields, now)
        except ValidationError as exc:
            if paths is None:
                raise
            field = paths[i] + (f".{exc.field}" if exc.field else "")
            errors.append({"field": field, "detail": exc.message})
            continue
        prepared.append(fields)
    if errors:
        raise InvalidItems(errors)
    return prepared


def _common_valid(fields: WindowFields, now: datetime) -> bool:
    """Whether a common create as ``common_fields`` reads it passes every rule of a create
    (``_with_default_start`` changing nothing, ``_check_own_fields``, no groups or channels
    to look up, ``_reject_ended_once``) — given what that reading already made sure of: a
    one-time schedule of two aware instants and no zone, at most ``MAX_TARGETS`` targets,
    each of a form ``TARGET`` accepts, the default effects and nothing else. What is left:
    a name that is not blank, a target, an end after the start and after ``now``. False
    sends the item through the full checks, which name what is wrong.
    ``tests/services/test_common_checks.py`` holds it to the full checks."""
    sched = fields.schedule
    if type(sched) is not OnceSchedule:
        return False
    return (bool(fields.targets) and sched.start < sched.end and now < sched.end
            and bool(fields.name.strip()))


def _check_scope(principal: Principal, fields: WindowFields, path: str | None) -> None:
    """A scoped key's refusal (403) of one item, named by its place in a batch."""
    try:
        scopes.check_fields(principal, fields)
    except Forbidden as exc:
        if path is None:
            raise
        field = path + (f".{exc.field}" if exc.field else "")
        raise Forbidden(exc.message, field=field) from exc


def _known_groups(db: Session, principal: Principal, names: set[str]) -> set[str]:
    stmt = select(GroupRow.name).where(GroupRow.workspace_id == principal.workspace_id,
                                       GroupRow.name.in_(sorted(names)))
    return set(db.scalars(stmt))


@dataclass(frozen=True, slots=True)
class _NewWindow:
    """A window about to be inserted: its row's columns, its record (as the row reads back),
    the domain window, and the occurrence running at ``now`` (for the worker's job)."""

    columns: Any  # a dict of the row's columns, or its encoded parameters (``_new_window_params``)
    record: WindowRecord
    window: Window
    running: Occurrence | None


# A new window's derived columns: first_start, last_end, state, and the occurrence running
# at ``now``. They depend on the schedule and ``now`` only, so a batch computes them once per
# distinct recurring schedule (``_Derived`` memo, keyed by the schedule as stored).
_Derived = tuple[datetime | None, datetime | None, str, Occurrence | None]


def _new_window(window_id: int, principal: Principal, fields: WindowFields,
                now: datetime, memo: dict[Schedule, _Derived] | None = None) -> _NewWindow:
    """Every column of a new window's row, the derived ones included, computed once.

    ``fields`` are checked already (``_check_own_fields``): the schedule is valid and is not
    validated again. ``memo``: derived columns of the batch's recurring schedules so far.
    """
    cols = fields_to_columns(fields)
    cols.update(id=window_id, workspace_id=principal.workspace_id,
                created_by=principal.actor, created_at=now, updated_at=now,
                cancelled_at=None, archived_at=None)
    record = _record(window_id, principal.workspace_id, _as_stored(fields, cols),
                     principal.actor, now, now)
    sched = record.fields.schedule
    if isinstance(sched, OnceSchedule):
        derived = _once_derived(sched, now)
    elif memo is None:
        derived = _derived(sched, now)
    else:
        derived = memo.get(sched) or memo.setdefault(sched, _derived(sched, now))
    cols["first_start"], cols["last_end"], cols["state"], running = derived
    return _new(cols, record, record.to_window(), running)


def _new_window_params(window_id: int, principal: Principal, fields: WindowFields,
                       now: datetime, memo: dict[Schedule, _Derived],
                       encode: WindowRowEncoder, stamp: int | None) -> _NewWindow:
    """``_new_window`` on SQLite: the row as ``encode``'s parameters (``stamp``: ``now``
    encoded), no dict of its columns; the same record, domain window and occurrence."""
    workspace_id, actor = principal.workspace_id, principal.actor
    record = _record(window_id, workspace_id, _stored_fields(fields), actor, now, now)
    sched = record.fields.schedule
    if isinstance(sched, OnceSchedule):
        derived = _once_derived(sched, now)
    else:
        derived = memo.get(sched) or memo.setdefault(sched, _derived(sched, now))
    first, last, state, running = derived
    if is_plain(fields):  # most windows: a third of the parameters (``window_rows``)
        assert first is not None  # a one-time window's
        assert last is not None
        params: Any = plain_params(fields, window_id, first, last, state, workspace_id, actor,
                                   stamp, stamp)
    else:
        params = encode(fields, window_id, first, last, state, workspace_id, actor, stamp,
                        stamp)
    return _new(params, record, record.to_window(), running)


def _stored_fields(fields: WindowFields) -> WindowFields:
    """``_as_stored(fields, fields_to_columns(fields))`` without the columns in the common
    case (a one-time window without conditions or vendor fields whose targets and groups are
    sorted and without repeats: the fields themselves)."""
    targets, groups = fields.targets, fields.groups
    if (isinstance(fields.schedule, OnceSchedule) and not fields.match and not fields.vendor
            and (len(targets) < 2 or tuple(sorted(set(targets))) == targets)
            and (len(groups) < 2 or tuple(sorted(set(groups))) == groups)):
        return fields
    return _as_stored(fields, fields_to_columns(fields))


# By their slots (``core.construct``): a bulk create builds one of each per window.
_record = slot_constructor(WindowRecord, ("id", "workspace_id", "fields", "created_by",
                                          "created_at", "updated_at"))
_new = slot_constructor(_NewWindow, ("columns", "record", "window", "running"))
_changed = slot_constructor(WindowChanged, ("workspace_id", "window_id", "record", "action",
                                            "window"))


def _derived(sched: Schedule, now: datetime) -> _Derived:
    """The derived columns of a new window (neither cancelled nor archived) with a valid
    schedule: ``lifecycle``'s answers, asked of the schedule compiled once. ``first_start``
    is ``next_occurrence`` from the earliest possible start, ``last_end`` the end of a
    finite schedule, and the state that of ``lifecycle.state_at``: active while an
    occurrence runs at ``now``, scheduled while one is to come, completed otherwise."""
    compiled = build_schedule(sched)
    first = compiled.next_occurrence(_earliest_possible_start(sched))
    running = compiled.current_occurrence(now)
    if running is not None:
        state = State.ACTIVE
    elif compiled.next_occurrence(now) is not None:
        state = State.SCHEDULED
    else:
        state = State.COMPLETED
    return (first.start if first else None, compiled.last_occurrence_end(), state.value,
            running)


def _once_derived(sched: OnceSchedule, now: datetime) -> _Derived:
    """``_derived`` of a valid one-time schedule, read straight off its two instants: its
    one occurrence is ``[start, end)``, running when it contains ``now``, to come when it
    starts at or after ``now`` (``tests/services/test_derived_columns.py`` holds the two
    equal)."""
    start, end = sched.start.astimezone(UTC), sched.end.astimezone(UTC)
    if start <= now < end:
        return start, end, _ACTIVE, Occurrence(start, end)
    return start, end, _SCHEDULED if start >= now else _COMPLETED, None


_ACTIVE, _SCHEDULED, _COMPLETED = State.ACTIVE.value, State.SCHEDULED.value, \
    State.COMPLETED.value


def _as_stored(fields: WindowFields, columns: dict[str, Any]) -> WindowFields:
    """``fields`` as their row reads back (the fields of ``window_record_from_columns``),
    without its JSON round trip where that gives back what it was given: targets and groups
    are stored sorted and without repeats, a recurring schedule and condition groups in their
    normal form; a one-time schedule reads back as the same instants (``format_instant`` then
    ``parse_instant``); everything else as it is (the vendor dict copied, as a read copies it).
    ``tests/services/test_stored_form.py`` holds the two equal."""
    sched = fields.schedule
    targets, groups = tuple(columns["targets"]), tuple(columns["groups"])
    if (isinstance(sched, OnceSchedule) and not fields.match and not fields.vendor
            and targets == fields.targets and groups == fields.groups):
        return fields  # the common case: nothing reads back differently
    return replace(
        fields,
        targets=targets, groups=groups,
        schedule=sched if isinstance(sched, OnceSchedule) else schedule_from_json(
            columns["schedule"]),
        match=match_from_json(columns["match"]) if fields.match else (),
        vendor=dict(fields.vendor or {}))


def _new_window_ids(conn: Connection, count: int) -> list[int]:
    """Ids for ``count`` new windows, ascending, taken before the insert (so the insert
    needs no ``RETURNING``, which SQLite would answer one row per statement)."""
    if not count:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.execute(_PG_IDS, {"n": count}).scalars())
    # SQLite: every write transaction holds the database's write lock from its BEGIN
    # IMMEDIATE (storage.db), so no other writer can take these ids before our insert.
    first = int(driver_execute(conn, _SQLITE_MAX_ID, ()).fetchone()[0]) + 1
    return list(range(first, first + count))


_PG_IDS = text("SELECT nextval(pg_get_serial_sequence('windows', 'id')) "
               "FROM generate_series(1, :n) ORDER BY 1")
_SQLITE_MAX_ID = str(select(func.coalesce(func.max(WindowRow.id), 0))
                     .compile(dialect=sqlite.dialect(),
                              compile_kwargs={"literal_binds": True}))


def _insert_targets(conn: Connection, records: Sequence[WindowRecord]) -> None:
    insert_values(conn, _table(WindowTargetRow), ("window_id", "target", "workspace_id"), [
        (r.id, target, r.workspace_id) for r in records for target in r.fields.targets])


def _insert_create_audit(conn: Connection, principal: Principal,
                         records: Sequence[WindowRecord], now: datetime) -> None:
    """The create audit entries of new windows (``after`` left empty: see ``create_windows``)."""
    workspace_id, actor = principal.workspace_id, principal.actor
    insert_values(conn, _table(AuditRow), _AUDIT_COLUMNS, [
        (workspace_id, now, actor, "create", "window", str(r.id)) for r in records])


_AUDIT_COLUMNS = ("workspace_id", "at", "actor", "action", "object_type", "object_id")


def _table(entity: Any) -> Table:
    table = entity.__table__
    assert isinstance(table, Table)
    return table


def _keep_created_copy(db: Session, row: WindowRow) -> None:
    """Before the first change of a window, write the window as created into its create
    audit entry (which until now read it from the unchanged row)."""
    if row.updated_at != row.created_at:
        return
    created = window_to_json(window_record_from_row(row), row.created_at)
    db.execute(update(_table(AuditRow))
               .where(AuditRow.object_id == str(row.id), AuditRow.object_type == "window",
                      AuditRow.action == "create", AuditRow.after.is_(None),
                      AuditRow.workspace_id == row.workspace_id)
               .values(after=created))


def get_window(db: Session, principal: Principal, window_id: int) -> WindowRecord:
    return window_record_from_row(_load_row(db, principal, window_id, lock=False))


def _changed_names(old: WindowFields, new: WindowFields) -> set[str]:
    return {name for name in WindowFields.__slots__
            if getattr(old, name) != getattr(new, name)}


def _check_update_allowed(current: WindowRecord, new_fields: WindowFields,
                          changed: set[str], now: datetime) -> None:
    """Apply the lifecycle's update rules; a one-time schedule whose end alone moved is 'end'."""
    names = set(changed)
    new_end = None
    if "schedule" in names:
        new_record = replace(current, fields=new_fields)
        sched_changes, new_end = lifecycle.window_changes(current.to_window(),
                                                          new_record.to_window())
        names.discard("schedule")
        names |= sched_changes & {"schedule", "end", "timezone"}
    lifecycle.allowed_update(current.to_window(), now, names, new_end)


def update_window(
    db: Session, principal: Principal, window_id: int, changes: dict[str, Any], now: datetime
) -> WindowRecord:
    """Apply a partial update under the lifecycle rules (see ``lifecycle.check_update``)."""
    scopes.check_update(db, principal, window_id, changes)
    row = _load_row(db, principal, window_id, lock=True)
    current = window_record_from_row(row)
    unknown = set(changes) - set(WindowFields.__slots__)
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    new_fields = _with_default_start(current.fields.with_changes(**changes), now)
    changed = _changed_names(current.fields, new_fields)
    if not changed:
        return current
    _check_update_allowed(current, new_fields, changed, now)
    _check_fields(db, principal, new_fields)
    if lifecycle.state_at(current.to_window(), now) is State.SCHEDULED:
        _reject_ended_once(new_fields, now)
    before = window_to_json(current, now)
    apply_fields_to_row(row, new_fields)
    row.updated_at = _next_version(row, now)
    if "targets" in changed:
        _sync_targets(db, row)
    record = _finish(db, row, "updated", now)
    audit.record(db, principal, action="update", object_type="window", object_id=row.id,
                 at=now, before=before, after=window_to_json(record, now))
    return record


def cancel_window(
    db: Session, principal: Principal, window_id: int, now: datetime
) -> WindowRecord:
    """Cancel a scheduled or active window; suppression stops at ``now``."""
    scopes.check_window(db, principal, window_id)
    row = _load_row(db, principal, window_id, lock=True)
    current = window_record_from_row(row)
    state = lifecycle.state_at(current.to_window(), now)
    if state in (State.COMPLETED, State.CANCELLED):
        raise Conflict(f"window {window_id} is {state.value}; only scheduled or active "
                       "windows can be cancelled", field="state")
    before = window_to_json(current, now)
    row.cancelled_at = now
    row.updated_at = _next_version(row, now)
    record = _finish(db, row, "cancelled", now)
    audit.record(db, principal, action="cancel", object_type="window", object_id=row.id,
                 at=now, before=before, after=window_to_json(record, now))
    return record


def delete_window(db: Session, principal: Principal, window_id: int, now: datetime) -> None:
    """Archive the window: it stops applying at once and keeps its record for the audit log."""
    scopes.check_window(db, principal, window_id)
    row = _load_row(db, principal, window_id, lock=True)
    before = window_to_json(window_record_from_row(row), now)
    row.archived_at = now
    row.updated_at = _next_version(row, now)
    db.flush()
    publish(db, WindowChanged(row.workspace_id, row.id, None, "deleted"))
    outbox.enqueue_window_event(db, row.workspace_id, row.id, "deleted", now)
    audit.record(db, principal, action="delete", object_type="window", object_id=row.id,
                 at=now, before=before, after=None)


def _group_names_with(db: Session, principal: Principal, target: str) -> list[str]:
    rows = db.execute(select(GroupRow.name, GroupRow.targets)
                      .where(GroupRow.workspace_id == principal.workspace_id))
    return [name for name, targets in rows if target in targets]


def _target_clause(principal: Principal, target: str, via_groups: bool) -> Any:
    """Narrow in SQL to windows that can cover ``target``; the exact test runs in Python."""
    if via_groups:
        return None  # group membership lives in JSON; every window stays a candidate
    direct = select(WindowTargetRow.window_id).where(
        WindowTargetRow.workspace_id == principal.workspace_id, WindowTargetRow.target == target)
    return or_(WindowRow.id.in_(direct), WindowRow.all_targets.is_(True))


def _matches_filter(record: WindowRecord, flt: ListFilter, groups_with_target: set[str],
                    now: datetime) -> bool:
    window = record.to_window()
    if flt.target and not (flt.target in window.targets or window.all_targets
                           or window.groups & groups_with_target):
        return False
    if flt.state and lifecycle.state_at(window, now) is not flt.state:
        return False
    if flt.start or flt.end:
        start = flt.start or now - timedelta(days=3650)
        end = flt.end or now + timedelta(days=3650)
        if not lifecycle.window_occurrences(window, start, end, limit=1):
            return False
    return True


def list_windows(
    db: Session, principal: Principal, flt: ListFilter, now: datetime
) -> tuple[list[WindowRecord], str | None]:
    """Windows in id order, filtered exactly; the cursor is the last id returned."""
    after = audit.decode_cursor(flt.cursor)
    stmt = (select(WindowRow)
            .where(WindowRow.workspace_id == principal.workspace_id,
                   WindowRow.archived_at.is_(None))
            .order_by(WindowRow.id))
    groups_with_target = (set(_group_names_with(db, principal, flt.target))
                          if flt.target else set())
    if flt.target:
        clause = _target_clause(principal, flt.target, bool(groups_with_target))
        if clause is not None:
            stmt = stmt.where(clause)
    if flt.origin:
        stmt = stmt.where(WindowRow.origin == flt.origin)
    if flt.parent_id is not None:
        stmt = stmt.where(WindowRow.parent_id == flt.parent_id)
    if flt.state is State.CANCELLED:
        stmt = stmt.where(WindowRow.cancelled_at.is_not(None))
    elif flt.state is not None:
        stmt = stmt.where(or_(WindowRow.cancelled_at.is_(None), WindowRow.cancelled_at > now))
    if flt.end is not None:
        stmt = stmt.where(or_(WindowRow.first_start.is_(None), WindowRow.first_start < flt.end))
    if flt.start is not None:
        stmt = stmt.where(or_(WindowRow.last_end.is_(None), WindowRow.last_end > flt.start))
    found: list[WindowRecord] = []
    batch = max(flt.limit * 2, 100)
    while True:
        rows = list(db.scalars(stmt.where(WindowRow.id > after).limit(batch)))
        for row in rows:
            record = window_record_from_row(row)
            if _matches_filter(record, flt, groups_with_target, now):
                found.append(record)
                if len(found) > flt.limit:
                    page = found[: flt.limit]
                    return page, audit.encode_cursor(page[-1].id)
        if len(rows) < batch:
            return found, None
        after = rows[-1].id


def window_occurrences(
    db: Session, principal: Principal, window_id: int, start: datetime, end: datetime,
    limit: int = 1000,
) -> list[Occurrence]:
    if end <= start:
        raise ValidationError("must be after 'from'", field="to")
    if end - start > MAX_OCCURRENCE_RANGE:
        raise ValidationError("the range may span at most 800 days", field="to")
    record = get_window(db, principal, window_id)
    return lifecycle.window_occurrences(record.to_window(), start, end, limit=limit)


def start_maintenance(
    db: Session, principal: Principal, *, targets: list[str], duration: timedelta,
    name: str | None, now: datetime, description: str | None = None,
    effects: tuple[Effect, ...] = (Effect.MUTE,), origin: str = "native",
    vendor: dict[str, Any] | None = None, publish: bool = False,
) -> WindowRecord:
    """A one-time window for ``targets`` from now for ``duration``, marked as immediate
    maintenance (what ``stop TARGET`` ends without ``--all``)."""
    scopes.check_targets(principal, targets)
    if not targets:
        raise ValidationError("name at least one target", field="targets")
    if duration <= timedelta(0):
        raise ValidationError("must be positive", field="duration")
    fields = WindowFields(
        name=name or f"Maintenance of {', '.join(targets)}",
        description=description,
        schedule=OnceSchedule(start=now, end=now + duration, timezone=None),
        targets=tuple(targets), effects=effects, origin=origin,
        publish_to_status_page=publish,
        vendor={**(vendor or {}), OWN_VENDOR_KEY: {"immediate": True}},
    )
    return create_window(db, principal, fields, now)


def narrow_targets(
    db: Session, principal: Principal, window_id: int, remove: Iterable[str], now: datetime,
) -> WindowRecord:
    """Take ``remove`` off a window's targets from now on; the rest stay covered.

    This is how ``stop`` ends maintenance for some targets of a multi-target window; the
    window keeps its id, so ``stop --window ID`` still finds it.
    """
    current = get_window(db, principal, window_id)
    gone = set(remove)
    kept = tuple(t for t in current.fields.targets if t not in gone)
    return update_window(db, principal, window_id, {"targets": kept}, now)


def defer_start(
    db: Session, principal: Principal, window_id: int, starts_on: date, now: datetime,
    vendor: dict[str, Any] | None = None,
) -> WindowRecord:
    """Move a recurring window's ``starts_on`` later, even while one of its occurrences runs.

    Only for a caller that has just recorded the running occurrence as a window of its own
    (Oh Dear's ``stop-maintenance`` turns it into a generated period that ends now): the
    running occurrence then stops here, without a minute lost or counted twice. Nothing but
    ``starts_on`` (and ``vendor``, when given) changes; the audit log keeps before and after.
    """
    scopes.check_window(db, principal, window_id)
    row = _load_row(db, principal, window_id, lock=True)
    current = window_record_from_row(row)
    sched = current.fields.schedule
    if not isinstance(sched, RecurringSchedule):
        raise Conflict(f"window {window_id} is not recurring", field="schedule")
    before = window_to_json(current, now)
    new_fields = replace(current.fields, schedule=replace(sched, starts_on=starts_on),
                         vendor=current.fields.vendor if vendor is None else vendor)
    apply_fields_to_row(row, new_fields)
    row.updated_at = _next_version(row, now)
    record = _finish(db, row, "updated", now)
    audit.record(db, principal, action="update", object_type="window", object_id=row.id,
                 at=now, before=before, after=window_to_json(record, now))
    return record


def is_immediate(record: WindowRecord) -> bool:
    """Whether ``record`` was made by ``start_maintenance`` (immediate maintenance)."""
    return bool((record.fields.vendor.get(OWN_VENDOR_KEY) or {}).get("immediate"))


def load_all_windows(db: Session, workspace_id: int | None = None) -> list[WindowRecord]:
    """Every live (not archived) window, for building the decision index."""
    stmt = select(WindowRow).where(WindowRow.archived_at.is_(None)).order_by(WindowRow.id)
    if workspace_id is not None:
        stmt = stmt.where(WindowRow.workspace_id == workspace_id)
    return [window_record_from_row(row) for row in db.scalars(stmt)]
