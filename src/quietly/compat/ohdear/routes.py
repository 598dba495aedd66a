"""Routes: Oh Dear's maintenance periods and recurring maintenance periods.

Authentication is Oh Dear's: ``Authorization: Bearer <API key>`` (a quietly key). Reads need
a viewer key, writes an editor key. A monitor is any integer id: quietly keeps no monitor
list, so ``monitor:<id>`` exists as soon as something names it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from sqlalchemy.orm import Session

from quietly.api.deps import Editor, Maintainer, Now, State, Viewer
from quietly.api.types import ObjectId as PathId
from quietly.compat.ohdear import convert, errors, generation, pagination
from quietly.compat.ohdear.schemas import (
    MaintenancePeriodCreate,
    MaintenancePeriodPage,
    MaintenancePeriodPublic,
    MaintenancePeriodUpdate,
    RecurringCreate,
    RecurringList,
    RecurringPublic,
    RecurringUpdate,
    StartMaintenance,
    StopMaintenance,
)
from quietly.core import lifecycle
from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.model import Effect, OnceSchedule
from quietly.core.model import State as WindowState
from quietly.core.records import Principal, WindowRecord
from quietly.services import maintenance, windows

__all__ = ["router"]

router = APIRouter(prefix="/compat/ohdear/api", tags=["compat: Oh Dear"],
                   responses=errors.ERROR_RESPONSES)
errors.install()

MonitorId = PathId  # the same bound as every path id (a monitor:<id> target reads back)
_NO_CONTENT: dict[str, Any] = {"status_code": 204, "response_class": Response}


def _records_of(db: Session, principal: Principal, monitor_id: int,
                now: Any) -> list[WindowRecord]:
    target = convert.monitor_target(monitor_id)
    found: list[WindowRecord] = []
    cursor: str | None = None
    while True:
        page, cursor = windows.list_windows(
            db, principal, windows.ListFilter(target=target, limit=500, cursor=cursor), now)
        found.extend(r for r in page if convert.monitor_of(r) == monitor_id)
        if cursor is None:
            return found


def _load(db: Session, principal: Principal, object_id: int, recurring: bool) -> WindowRecord:
    """The period (or recurring definition) ``object_id``, or NotFound in Oh Dear's words."""
    zone = principal.workspace_timezone
    try:
        record = windows.get_window(db, principal, object_id)
    except NotFound:
        record = None
    shape = (convert.recurring_from_record if recurring else convert.period_from_record)
    if record is None or shape(record, zone) is None:
        kind = "RecurringMaintenancePeriod" if recurring else "MaintenancePeriod"
        raise NotFound(f"No query results for model [{kind}] {object_id}")
    return record


def _period(record: WindowRecord, principal: Principal) -> dict[str, Any]:
    out = convert.period_from_record(record, principal.workspace_timezone)
    assert out is not None
    return out


def _recurring(record: WindowRecord, principal: Principal) -> dict[str, Any]:
    out = convert.recurring_from_record(record, principal.workspace_timezone)
    assert out is not None
    return out


@router.post("/monitors/{monitor_id}/start-maintenance", status_code=201,
             response_model=MaintenancePeriodPublic, operation_id="ohdear_start_maintenance")
def start_maintenance(monitor_id: MonitorId, state: State, principal: Maintainer, now: Now,
                      body: Annotated[StartMaintenance | None, Body()] = None) -> Any:
    """Start maintenance now for ``stop_maintenance_after_seconds`` (≥ 5, default 3600)."""
    body = body or StartMaintenance()
    with state.db.transaction() as db:
        record = windows.start_maintenance(
            db, principal, targets=[convert.monitor_target(monitor_id)],
            duration=timedelta(seconds=body.stop_maintenance_after_seconds),
            name=body.name, now=now, effects=(Effect.MUTE,), origin=convert.ORIGIN,
            vendor={convert.ORIGIN: {"name": body.name}})
        return _period(record, principal)  # inside: a failure here must not commit


@router.post("/monitors/{monitor_id}/stop-maintenance", **_NO_CONTENT,
             operation_id="ohdear_stop_maintenance")
def stop_maintenance(monitor_id: MonitorId, state: State, principal: Maintainer, now: Now,
                     body: Annotated[StopMaintenance | None, Body()] = None) -> Response:
    """End the monitor's running periods now, or after ``delay_seconds`` (≥ 1)."""
    delay = timedelta(seconds=(body.delay_seconds or 0) if body else 0)
    with state.db.transaction() as db:
        # Oh Dear's document: "Ends active maintenance for a monitor", whoever started it,
        # including an occurrence a recurring definition runs itself (that occurrence only).
        result = maintenance.stop_targets(db, principal,
                                          targets=[convert.monitor_target(monitor_id)],
                                          delay=delay, now=now, every=True)
        for record in result.left_running:
            if record.fields.origin == convert.ORIGIN:
                generation.stop_running(db, principal, record, now + delay, now)
    return Response(status_code=204)


@router.post("/maintenance-periods", status_code=201, response_model=MaintenancePeriodPublic,
             operation_id="ohdear_create_maintenance_period")
def create_period(body: MaintenancePeriodCreate, state: State, principal: Editor,
                  now: Now) -> Any:
    """Schedule a maintenance period ("Y-m-d H:i" in the team's zone)."""
    fields = convert.to_fields(body.monitor_id, body.starts_at, body.ends_at, body.name,
                               principal.workspace_timezone)
    with state.db.transaction() as db:
        record = windows.create_window(db, principal, fields, now)
        return _period(record, principal)  # inside: a failure here must not commit


@router.put("/maintenance-periods/{period_id}", response_model=MaintenancePeriodPublic,
            operation_id="ohdear_update_maintenance_period")
def update_period(period_id: PathId, body: MaintenancePeriodUpdate, state: State,
                  principal: Editor, now: Now) -> Any:
    """Change the times or name of a period that has not started yet."""
    with state.db.transaction() as db:
        record = _load(db, principal, period_id, recurring=False)
        if lifecycle.state_at(record.to_window(), now) is not WindowState.SCHEDULED:
            raise ValidationError("The maintenance period has already started (or ended) and "
                                  "can no longer be updated.", field="starts_at")
        changes = convert.to_changes(record, body.starts_at, body.ends_at, body.name,
                                     principal.workspace_timezone)
        record = windows.update_window(db, principal, period_id, changes, now)
        return _period(record, principal)  # inside: a failure here must not commit


@router.delete("/maintenance-periods/{period_id}", **_NO_CONTENT,
               operation_id="ohdear_delete_maintenance_period")
def delete_period(period_id: PathId, state: State, principal: Editor, now: Now) -> Response:
    with state.db.transaction() as db:
        _load(db, principal, period_id, recurring=False)
        windows.delete_window(db, principal, period_id, now)
    return Response(status_code=204)


@router.get("/monitors/{monitor_id}/maintenance-periods",
            response_model=MaintenancePeriodPage, response_model_by_alias=True,
            operation_id="ohdear_list_maintenance_periods")
def list_periods(
    request: Request, monitor_id: MonitorId, state: State, principal: Viewer, now: Now,
    started_at: Annotated[str | None, Query(alias="filter[started_at]", max_length=32)] = None,
    ended_at: Annotated[str | None, Query(alias="filter[ended_at]", max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = pagination.PER_PAGE,
) -> Any:
    """The monitor's periods by start; ``filter[started_at]`` keeps those starting at or after
    it, ``filter[ended_at]`` those ending at or before it (YmdHis, team's zone)."""
    zone = principal.workspace_timezone
    low = pagination.parse_ymdhis(started_at, zone, "filter.started_at")
    high = pagination.parse_ymdhis(ended_at, zone, "filter.ended_at")
    with state.db.read() as db:
        found = _records_of(db, principal, monitor_id, now)
    rows = []
    for record in found:
        sched = record.fields.schedule
        if not isinstance(sched, OnceSchedule) or (low and sched.start < low) or \
                (high and sched.end > high):
            continue
        rows.append((sched.start, record.id, _period(record, principal)))
    items = [row[2] for row in sorted(rows, key=lambda r: (r[0], r[1]))]
    return pagination.paginate(items, str(request.url.remove_query_params(
        ["page", "per_page"])).split("?")[0], page, per_page)


@router.get("/recurring-maintenance-periods/{recurring_id}", response_model=RecurringPublic,
            operation_id="ohdear_get_recurring_maintenance_period")
def get_recurring(recurring_id: PathId, state: State, principal: Viewer) -> Any:
    with state.db.read() as db:
        record = _load(db, principal, recurring_id, recurring=True)
    return _recurring(record, principal)


@router.get("/monitors/{monitor_id}/recurring-maintenance-periods",
            response_model=RecurringList, operation_id="ohdear_list_recurring_periods")
def list_recurring(monitor_id: MonitorId, state: State, principal: Viewer, now: Now) -> Any:
    zone = principal.workspace_timezone
    with state.db.read() as db:
        found = _records_of(db, principal, monitor_id, now)
    return {"data": [out for r in found
                     if (out := convert.recurring_from_record(r, zone)) is not None]}


@router.post("/recurring-maintenance-periods", status_code=201, response_model=RecurringPublic,
             operation_id="ohdear_create_recurring_maintenance_period")
def create_recurring(body: RecurringCreate, state: State, principal: Editor, now: Now) -> Any:
    """Create a definition; ``generate_now`` (default true) makes the next 7 days' periods."""
    definition = convert.Definition(
        recurrence_type=body.recurrence_type, start_time=body.start_time,
        end_time=body.end_time, day_of_month=body.day_of_month,
        days_of_week=tuple(body.days_of_week) if body.days_of_week else None)
    with state.db.transaction() as db:
        record = generation.create_recurring(db, principal, body.monitor_id, body.name,
                                             definition, body.generate_now, now)
        return _recurring(record, principal)  # inside: a failure here must not commit


@router.put("/recurring-maintenance-periods/{recurring_id}", response_model=RecurringPublic,
            operation_id="ohdear_update_recurring_maintenance_period")
def update_recurring(recurring_id: PathId, body: RecurringUpdate, state: State,
                     principal: Editor, now: Now) -> Any:
    """Change only the given fields; ``regenerate_future_periods`` defaults to true."""
    zone = principal.workspace_timezone
    with state.db.transaction() as db:
        record = _load(db, principal, recurring_id, recurring=True)
        current = convert.definition_of(record, zone)
        assert current is not None
        given = {field: value for field, value in body.model_dump(  # null keeps, as for name
            exclude_unset=True, exclude={"name", "regenerate_future_periods"}).items()
            if value is not None}
        if given.get("days_of_week") is not None:
            given["days_of_week"] = tuple(given["days_of_week"])
        definition = convert.Definition(**{**_as_dict(current), **given})
        current_out = _recurring(record, principal)
        name = body.name if body.name is not None else current_out["name"]
        monitor_id = current_out["monitor_id"]
        try:
            record = generation.update_recurring(db, principal, record, monitor_id, name,
                                                 definition, body.regenerate_future_periods,
                                                 now)
        except Conflict as exc:
            # The native lifecycle freezes a window's schedule while it runs (see generation).
            raise ValidationError(
                "The recurring maintenance period cannot be changed while one of its own "
                "occurrences is running; try again after it ends.", field="start_time") from exc
        return _recurring(record, principal)  # inside: a failure here must not commit


def _as_dict(definition: convert.Definition) -> dict[str, Any]:
    return {"recurrence_type": definition.recurrence_type,
            "start_time": definition.start_time, "end_time": definition.end_time,
            "days_of_week": definition.days_of_week, "day_of_month": definition.day_of_month}


@router.delete("/recurring-maintenance-periods/{recurring_id}", **_NO_CONTENT,
               operation_id="ohdear_delete_recurring_maintenance_period")
def delete_recurring(recurring_id: PathId, state: State, principal: Editor, now: Now,
                     delete_future_periods: bool = False) -> Response:
    """Delete a definition; ``delete_future_periods`` also deletes periods not yet started."""
    with state.db.transaction() as db:
        record = _load(db, principal, recurring_id, recurring=True)
        generation.delete_recurring(db, principal, record, delete_future_periods, now)
    return Response(status_code=204)
