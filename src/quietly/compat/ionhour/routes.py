"""Ionhour's maintenance-window API at ``/compat/ionhour/api/maintenance-windows``.

Create (201), list (``workspaceId`` required, optional ``state``), get (with its target
projects), partial update (PUT; SCHEDULED windows only), cancel (SCHEDULED or ACTIVE) and
delete, with a quietly API key as the Bearer token. Only windows covering at least one
``project:<number>`` target are visible here; any other id answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from quietly.api.deps import AppState, Editor, Now, State, Viewer
from quietly.api.problems import register_error_renderer
from quietly.api.types import parse_path_id
from quietly.compat.ionhour import convert
from quietly.compat.ionhour.errors import ERROR_RESPONSES, render_error
from quietly.compat.ionhour.schemas import (
    MaintenanceWindowCreate,
    MaintenanceWindowPublic,
    MaintenanceWindowUpdate,
    StateName,
)
from quietly.core import lifecycle
from quietly.core.errors import NotFound, ValidationError
from quietly.core.model import State as WindowState
from quietly.core.records import Principal, WindowRecord
from quietly.services import windows

__all__ = ["router"]

router = APIRouter(prefix="/compat/ionhour", tags=["compat: Ionhour"],
                   responses=ERROR_RESPONSES)
PATH = "/api/maintenance-windows"


def _load(db: Any, principal: Principal, raw_id: str) -> WindowRecord:
    """The window Ionhour may show, or NestJS's 404."""
    missing = NotFound(f"Maintenance window {raw_id} not found")
    window_id = parse_path_id(raw_id)
    if window_id is None:
        raise missing
    try:
        record = windows.get_window(db, principal, window_id)
    except NotFound:
        raise missing from None
    if not convert.fits(record):
        raise missing
    return record


def _state(record: WindowRecord, now: datetime) -> WindowState:
    return lifecycle.state_at(record.to_window(), now)


def _all_fitting(app: AppState, principal: Principal, state: WindowState | None,
                 now: datetime) -> list[WindowRecord]:
    found: list[WindowRecord] = []
    cursor: str | None = None
    with app.db.read() as db:
        while True:
            page, cursor = windows.list_windows(
                db, principal, windows.ListFilter(state=state, limit=500, cursor=cursor), now)
            found.extend(r for r in page if convert.fits(r))
            if cursor is None:
                return found


@router.post(PATH, status_code=201, response_model=MaintenanceWindowPublic,
             operation_id="ionhour_create_maintenance_window")
def create(body: MaintenanceWindowCreate, state: State, principal: Editor, now: Now) -> Any:
    """Create a window that suppresses alerts and/or incidents for its projects."""
    fields = convert.to_fields(body, principal)
    with state.db.transaction() as db:
        record = windows.create_window(db, principal, fields, now)
        return convert.from_record(record, now)


@router.get(PATH, response_model=list[MaintenanceWindowPublic],
            operation_id="ionhour_list_maintenance_windows")
def list_windows(
    state: State, principal: Viewer, now: Now,
    workspace_id: Annotated[int, Query(alias="workspaceId", ge=0, le=2**53)],
    state_filter: Annotated[StateName | None, Query(alias="state")] = None,
) -> Any:
    """The workspace's windows, oldest first, optionally in one state."""
    convert.check_workspace(workspace_id, principal)
    wanted = WindowState(state_filter.lower()) if state_filter else None
    return [convert.from_record(r, now)
            for r in _all_fitting(state, principal, wanted, now)]


@router.get(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
            operation_id="ionhour_get_maintenance_window")
def get(window_id: str, state: State, principal: Viewer, now: Now) -> Any:
    """A window with its target projects."""
    with state.db.read() as db:
        record = _load(db, principal, window_id)
    return convert.from_record(record, now)


@router.put(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
            operation_id="ionhour_update_maintenance_window")
def update(window_id: str, body: MaintenanceWindowUpdate, state: State, principal: Editor,
           now: Now) -> Any:
    """Change the properties sent. ACTIVE, COMPLETED and CANCELLED windows are immutable."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        found = _state(current, now)
        if found is not WindowState.SCHEDULED:
            raise ValidationError(
                f"Maintenance window {window_id} is {found.value.upper()} and cannot be "
                "modified: only SCHEDULED windows can be updated (ACTIVE, COMPLETED and "
                "CANCELLED windows are immutable)")
        changes = convert.to_changes(body, current, principal, now)
        record = windows.update_window(db, principal, current.id, changes, now)
        return convert.from_record(record, now)


@router.post(PATH + "/{window_id}/cancel", response_model=MaintenanceWindowPublic,
             operation_id="ionhour_cancel_maintenance_window")
def cancel(window_id: str, state: State, principal: Editor, now: Now) -> Any:
    """Cancel a SCHEDULED or ACTIVE window; suppression stops at once."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        found = _state(current, now)
        if found not in (WindowState.SCHEDULED, WindowState.ACTIVE):
            raise ValidationError(
                f"Maintenance window {window_id} is {found.value.upper()}: only SCHEDULED or "
                "ACTIVE windows can be cancelled")
        record = windows.cancel_window(db, principal, current.id, now)
        return convert.from_record(record, now)


@router.delete(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
               operation_id="ionhour_delete_maintenance_window")
def delete(window_id: str, state: State, principal: Editor, now: Now) -> Any:
    """Delete the window (suppression stops at once); answers with the window as it was."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        windows.delete_window(db, principal, current.id, now)
        return convert.from_record(current, now)


# Every error under this prefix — validation, auth, not found, database — in NestJS's shape.
register_error_renderer("/compat/ionhour/", render_error)
