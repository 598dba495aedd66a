"""Routes: windows, their occurrences, and immediate maintenance."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from quietly.api.deps import Editor, Maintainer, Now, State, Viewer
from quietly.api.native.convert import (
    parse_instant_field,
    update_changes,
    window_fields_from_create,
)
from quietly.api.native.schemas import (
    MaintenanceStart,
    MaintenanceStop,
    MaintenanceStopped,
    OccurrenceList,
    WindowCreate,
    WindowList,
    WindowPublic,
    WindowUpdate,
)
from quietly.api.native.window_batch import write
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import INSTANT_QUERY, CursorQuery, InstantQuery, ObjectId
from quietly.core.codec import parse_duration, schedule_to_json
from quietly.core.model import State as WindowState
from quietly.services import maintenance, scopes, windows
from quietly.services.serialize import occurrence_to_json, window_to_json

router = APIRouter(prefix="/api/v1", tags=["windows"], responses=PROBLEM_RESPONSES)


@router.post("/windows", status_code=201, response_model=WindowPublic,
             operation_id="create_window")
def create_window(body: WindowCreate, state: State, principal: Editor, now: Now) -> Any:
    """Create a window. A one-time window that has already ended is refused."""
    fields = window_fields_from_create(body, principal.workspace_timezone)
    record = write(state, lambda db: windows.create_window(db, principal, fields, now))
    return window_to_json(record, now)


@router.get("/windows", response_model=WindowList, operation_id="list_windows")
def list_windows(
    state: State, principal: Viewer, now: Now,
    state_filter: Annotated[WindowState | None, Query(alias="state")] = None,
    target: Annotated[str | None, Query(max_length=300)] = None,
    from_: Annotated[str | None, Query(alias="from", **INSTANT_QUERY)] = None,
    to: InstantQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorQuery = None,
) -> Any:
    """Windows in creation order; ``from``/``to`` keep those with an occurrence in the range."""
    zone = principal.workspace_timezone
    flt = windows.ListFilter(
        state=state_filter, target=target,
        start=parse_instant_field(from_, "from", zone) if from_ else None,
        end=parse_instant_field(to, "to", zone) if to else None,
        limit=limit, cursor=cursor)
    with state.db.read() as db:
        found, next_cursor = windows.list_windows(db, principal, flt, now)
    return {"windows": [window_to_json(r, now) for r in found], "next_cursor": next_cursor}


@router.get("/windows/{window_id:int}", response_model=WindowPublic, operation_id="get_window")
def get_window(window_id: ObjectId, state: State, principal: Viewer, now: Now) -> Any:
    with state.db.read() as db:
        record = windows.get_window(db, principal, window_id)
    return window_to_json(record, now)


@router.patch("/windows/{window_id:int}", response_model=WindowPublic, operation_id="update_window")
def update_window(window_id: ObjectId, body: WindowUpdate, state: State,
                  principal: Maintainer, now: Now) -> Any:
    """Change some fields. Scheduled windows change freely. Active ones may change their end
    (not before now), name, description, publishing, targets, groups, conditions and effects,
    taking effect at once, but not the start of the running occurrence nor a recurring rule;
    completed and cancelled windows are immutable (409). A maintenance key may only move the
    end of immediate maintenance (what ``quietly run`` does while its command runs)."""
    with state.db.transaction() as db:
        current = windows.get_window(db, principal, window_id)
        changes = update_changes(body, schedule_to_json(current.fields.schedule),
                                 principal.workspace_timezone)
        scopes.check_role_update(principal, current, changes)
        record = windows.update_window(db, principal, window_id, changes, now)
        return window_to_json(record, now)


@router.delete("/windows/{window_id:int}", status_code=204, response_class=Response,
               operation_id="delete_window")
def delete_window(window_id: ObjectId, state: State, principal: Editor, now: Now) -> Response:
    """Delete a window: it stops applying at once; the audit log keeps its record."""
    with state.db.transaction() as db:
        windows.delete_window(db, principal, window_id, now)
    return Response(status_code=204)


@router.post("/windows/{window_id:int}/cancel", response_model=WindowPublic,
             operation_id="cancel_window")
def cancel_window(window_id: ObjectId, state: State, principal: Editor, now: Now) -> Any:
    """Cancel a scheduled or active window; suppression stops at once."""
    with state.db.transaction() as db:
        record = windows.cancel_window(db, principal, window_id, now)
        return window_to_json(record, now)


@router.get("/windows/{window_id:int}/occurrences", response_model=OccurrenceList,
            operation_id="list_occurrences")
def list_occurrences(
    window_id: ObjectId, state: State, principal: Viewer, now: Now,
    from_: Annotated[str | None, Query(alias="from", **INSTANT_QUERY)] = None,
    to: InstantQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    """Occurrences overlapping [from, to) (default: now to 30 days ahead), at most 800 days."""
    zone = principal.workspace_timezone
    start = parse_instant_field(from_, "from", zone) if from_ else now
    end = parse_instant_field(to, "to", zone) if to else start + timedelta(days=30)
    with state.db.read() as db:
        found = windows.window_occurrences(db, principal, window_id, start, end, limit)
    return {"window_id": window_id, "occurrences": [occurrence_to_json(o) for o in found]}


@router.post("/maintenance/start", status_code=201, response_model=WindowPublic,
             tags=["maintenance"], operation_id="start_maintenance")
def start_maintenance(body: MaintenanceStart, state: State, principal: Maintainer,
                      now: Now) -> Any:
    """Put targets under maintenance from now for ``duration`` (a one-time window)."""
    duration = parse_duration(body.duration, "duration")
    with state.db.transaction() as db:
        record = windows.start_maintenance(
            db, principal, targets=list(dict.fromkeys(body.targets)), duration=duration,
            name=body.name, description=body.description, now=now,
            effects=tuple(dict.fromkeys(body.effects)), publish=body.publish_to_status_page)
    return window_to_json(record, now)


@router.post("/maintenance/stop", response_model=MaintenanceStopped, tags=["maintenance"],
             operation_id="stop_maintenance")
def stop_maintenance(body: MaintenanceStop, state: State, principal: Maintainer, now: Now) -> Any:
    """End maintenance now, or after ``delay_seconds``: window ``window_id``, or the
    immediate maintenance of ``targets`` (``scope: all``: every running one-time window naming
    them). A window that also covers other targets keeps covering them."""
    targets = list(dict.fromkeys(body.targets))
    delay = timedelta(seconds=body.delay_seconds)
    with state.db.transaction() as db:
        if body.window_id is not None:
            result = maintenance.stop_window(db, principal, body.window_id, targets=targets,
                                             delay=delay, now=now)
        else:
            result = maintenance.stop_targets(db, principal, targets=targets, delay=delay,
                                              now=now, every=body.scope == "all")
    return {"stopped": [window_to_json(r, now) for r in result.stopped],
            "left_running": [window_to_json(r, now) for r in result.left_running]}
