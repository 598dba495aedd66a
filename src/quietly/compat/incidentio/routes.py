"""incident.io's maintenance-window API at ``/compat/incidentio/v1/maintenance_windows``.

Create (201), list, show, update (PUT) and archive (DELETE, 204), with a quietly API key as the
Bearer token, every answer wrapped as incident.io wraps it. Only windows scoped by alert
conditions (or covering every alert) are visible here; any other id answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from quietly.api.deps import AppState, Editor, Now, State, Viewer
from quietly.api.problems import register_error_renderer
from quietly.api.types import parse_path_id
from quietly.compat.incidentio import convert
from quietly.compat.incidentio.errors import ERROR_RESPONSES, render_error
from quietly.compat.incidentio.schemas import (
    MaintenanceWindowEnvelope,
    MaintenanceWindowList,
    MaintenanceWindowPayload,
)
from quietly.core import lifecycle
from quietly.core.errors import NotFound, ValidationError
from quietly.core.model import State as WindowState
from quietly.core.records import Principal, WindowRecord
from quietly.services import channels, windows

__all__ = ["router"]

router = APIRouter(prefix="/compat/incidentio", tags=["compat: incident.io"],
                   responses=ERROR_RESPONSES)
PATH = "/v1/maintenance_windows"
# incident.io's status filter, by the window's lifecycle state.
_STATUS = {"active": {WindowState.ACTIVE}, "upcoming": {WindowState.SCHEDULED},
           "past": {WindowState.COMPLETED, WindowState.CANCELLED}}


def _load(db: Any, principal: Principal, raw_id: str) -> WindowRecord:
    missing = NotFound(f"no maintenance window with id {raw_id!r}")
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


def _native_channels(db: Any, principal: Principal,
                     body: MaintenanceWindowPayload) -> tuple[int, ...]:
    """The quietly channels the payload's channel objects name, by channel_id or name."""
    found: list[int] = []
    for channel in body.notify_channels or []:
        for ref in (channel.channel_id, channel.channel_name):
            known = channels.resolve_channels(db, principal.workspace_id, [ref]) if ref else []
            if known:
                found.append(known[0].id)
                break
    return tuple(dict.fromkeys(found))


def _fitting(app: AppState, principal: Principal, after: int,
             now: datetime) -> list[WindowRecord]:
    found: list[WindowRecord] = []
    cursor: str | None = None
    with app.db.read() as db:
        while True:
            page, cursor = windows.list_windows(
                db, principal, windows.ListFilter(limit=500, cursor=cursor), now)
            found.extend(r for r in page if r.id > after and convert.fits(r))
            if cursor is None:
                return found


@router.post(PATH, status_code=201, response_model=MaintenanceWindowEnvelope,
             response_model_exclude_unset=True,
             operation_id="incidentio_create_maintenance_window")
def create(body: MaintenanceWindowPayload, state: State, principal: Editor, now: Now) -> Any:
    """Create a maintenance window over the alerts its condition groups match."""
    with state.db.transaction() as db:
        fields = convert.to_fields(body, principal.workspace_timezone,
                                   _native_channels(db, principal, body))
        record = windows.create_window(db, principal, fields, now)
        return {"maintenance_window": convert.from_record(record, now)}


@router.get(PATH, response_model=MaintenanceWindowList,
             response_model_exclude_unset=True,
            operation_id="incidentio_list_maintenance_windows")
def list_windows(
    state: State, principal: Viewer, now: Now,
    page_size: Annotated[int, Query(ge=1, le=250)] = 25,
    after: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["active", "upcoming", "past"] | None = None,
) -> Any:
    """Windows oldest first; ``after`` is the last id of the previous page."""
    if after is not None and not (after.isascii() and after.isdigit()):
        raise ValidationError("must be the id of a maintenance window", field="after")
    found = _fitting(state, principal, int(after or 0), now)
    if status is not None:
        found = [r for r in found
                 if lifecycle.state_at(r.to_window(), now) in _STATUS[status]]
    page = found[:page_size]
    more = len(found) > page_size
    return {"maintenance_windows": [convert.from_record(r, now) for r in page],
            "pagination_meta": {"after": str(page[-1].id) if more else None,
                                "page_size": page_size}}


@router.get(PATH + "/{window_id}", response_model=MaintenanceWindowEnvelope,
             response_model_exclude_unset=True,
            operation_id="incidentio_show_maintenance_window")
def show(window_id: str, state: State, principal: Viewer, now: Now) -> Any:
    with state.db.read() as db:
        record = _load(db, principal, window_id)
    return {"maintenance_window": convert.from_record(record, now)}


@router.put(PATH + "/{window_id}", response_model=MaintenanceWindowEnvelope,
             response_model_exclude_unset=True,
            operation_id="incidentio_update_maintenance_window")
def update(window_id: str, body: MaintenanceWindowPayload, state: State, principal: Editor,
           now: Now) -> Any:
    """Replace the window with the payload (same fields as create). An active window may only
    move its end; a finished one is immutable."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        changes = convert.to_changes(body, current, principal.workspace_timezone,
                                     _native_channels(db, principal, body))
        record = windows.update_window(db, principal, current.id, changes, now)
        return {"maintenance_window": convert.from_record(record, now)}


@router.delete(PATH + "/{window_id}", status_code=204, response_class=Response,
               operation_id="incidentio_archive_maintenance_window")
def archive(window_id: str, state: State, principal: Editor, now: Now) -> Response:
    """Archive a window. Active windows cannot be archived (end them by moving end_at)."""
    with state.db.transaction() as db:
        current = _load(db, principal, window_id)
        if lifecycle.state_at(current.to_window(), now) is WindowState.ACTIVE:
            raise ValidationError("an active maintenance window cannot be archived; end it "
                                  "first by setting end_at")
        windows.delete_window(db, principal, current.id, now)
    return Response(status_code=204)


# Every error under this prefix — validation, auth, not found, database — in incident.io's shape.
register_error_renderer("/compat/incidentio/", render_error)
