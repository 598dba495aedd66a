"""PagerTree's maintenance-window API at ``/compat/pagertree/api/v4/maintenance_windows``.

Create (201), retrieve, update (PUT), delete and list, with a quietly API key as the Bearer
token. Lists use PagerTree's documented pagination (``limit`` 1-100, default 10; ``offset`` or
``page``) and envelope (``data``, ``has_more``, ``total_count``). Only windows covering at least
one ``integration:`` target are visible here; any other id answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from quietly.api.deps import AppState, Editor, Now, State, Viewer
from quietly.api.problems import register_error_renderer
from quietly.api.types import parse_path_id
from quietly.compat.pagertree import convert
from quietly.compat.pagertree.errors import ERROR_RESPONSES, render_error
from quietly.compat.pagertree.schemas import (
    MaintenanceWindowCreate,
    MaintenanceWindowList,
    MaintenanceWindowPublic,
    MaintenanceWindowUpdate,
)
from quietly.core.errors import NotFound
from quietly.core.records import Principal, WindowRecord
from quietly.services import windows

__all__ = ["router"]

router = APIRouter(prefix="/compat/pagertree", tags=["compat: PagerTree"],
                   responses=ERROR_RESPONSES)
PATH = "/api/v4/maintenance_windows"


def _window_id(raw: str) -> int:
    """Ids are quietly's integer window ids; anything else is simply not found (as in Rails)."""
    window_id = parse_path_id(raw)
    if window_id is None:
        raise NotFound(f"Couldn't find MaintenanceWindow with 'id'={raw}")
    return window_id


def _load(db: Any, principal: Principal, raw_id: str) -> WindowRecord:
    """The window PagerTree may show, or Rails' RecordNotFound message as a 404."""
    missing = NotFound(f"Couldn't find MaintenanceWindow with 'id'={raw_id}")
    try:
        record = windows.get_window(db, principal, _window_id(raw_id))
    except NotFound:
        raise missing from None
    if not convert.fits(record):
        raise missing
    return record


def _all_fitting(app: AppState, principal: Principal, now: datetime) -> list[WindowRecord]:
    """Every live window of the workspace PagerTree can show, oldest first."""
    found: list[WindowRecord] = []
    cursor: str | None = None
    with app.db.read() as db:
        while True:
            page, cursor = windows.list_windows(
                db, principal, windows.ListFilter(limit=500, cursor=cursor), now)
            found.extend(r for r in page if convert.fits(r))
            if cursor is None:
                return found


@router.post(PATH, status_code=201, response_model=MaintenanceWindowPublic,
             operation_id="pagertree_create_maintenance_window")
def create(body: MaintenanceWindowCreate, state: State, principal: Editor, now: Now) -> Any:
    """Create a maintenance window: its integrations' incoming requests are dropped."""
    fields = convert.to_fields(body)
    with state.db.transaction() as db:
        record = windows.create_window(db, principal, fields, now)
        return convert.from_record(record, now, principal.workspace_timezone)


@router.get(PATH, response_model=MaintenanceWindowList,
            operation_id="pagertree_list_maintenance_windows")
def list_windows(
    state: State, principal: Viewer, now: Now,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    page: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Any:
    """List maintenance windows, oldest first; ``page`` counts pages of ``limit``."""
    start = offset if offset is not None else ((page or 1) - 1) * limit
    found = _all_fitting(state, principal, now)
    chunk = found[start:start + limit]
    zone = principal.workspace_timezone
    return {"data": [convert.from_record(r, now, zone) for r in chunk],
            "has_more": start + len(chunk) < len(found), "total_count": len(found)}


@router.get(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
            operation_id="pagertree_get_maintenance_window")
def retrieve(window_id: str, state: State, principal: Viewer, now: Now) -> Any:
    with state.db.read() as db:
        record = _load(db, principal, window_id)
    return convert.from_record(record, now, principal.workspace_timezone)


@router.put(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
            operation_id="pagertree_update_maintenance_window")
def update(window_id: str, body: MaintenanceWindowUpdate, state: State, principal: Editor,
           now: Now) -> Any:
    """Change the attributes sent; the others keep their values."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        changes = convert.to_changes(body, current, principal.workspace_timezone)
        record = windows.update_window(db, principal, current.id, changes, now)
        return convert.from_record(record, now, principal.workspace_timezone)


@router.delete(PATH + "/{window_id}", response_model=MaintenanceWindowPublic,
               operation_id="pagertree_delete_maintenance_window")
def delete(window_id: str, state: State, principal: Editor, now: Now) -> Any:
    """Delete the window (it stops at once); answers with the window as it was."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        windows.delete_window(db, principal, current.id, now)
        return convert.from_record(current, now, principal.workspace_timezone)


# Every error under this prefix — validation, auth, not found, database — in PagerTree's shape.
register_error_renderer("/compat/pagertree/", render_error)
