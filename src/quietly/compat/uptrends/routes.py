"""Routes: Uptrends' maintenance periods of a monitor and of a monitor group.

The monitor group named by ``monitorGroupGuid`` is the native target group of that name. Adding
a period to it gives *every monitor that is a member now* its own copy (its own ``Id``, listed,
changed and deleted under that monitor alone), as Uptrends does: the group call is a bulk
operation on monitors, not a period of the group. Monitors that join the group later do not
get it; members that are not monitors (``service:…``) are skipped.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from quietly.api.deps import Now, State
from quietly.api.types import ObjectId
from quietly.compat.uptrends import convert, errors
from quietly.compat.uptrends.auth import UptrendsEditor, UptrendsViewer
from quietly.compat.uptrends.schemas import MaintenancePeriodIn, MaintenancePeriodPublic
from quietly.core.errors import NotFound, ValidationError
from quietly.core.records import Principal, WindowRecord
from quietly.services import groups, windows

__all__ = ["router"]

router = APIRouter(prefix="/compat/uptrends/v4", tags=["compat: Uptrends"],
                   responses=errors.ERROR_RESPONSES)
errors.install()

MonitorGuid = Annotated[str, Path(min_length=1, max_length=200)]
GroupGuid = Annotated[str, Path(min_length=1, max_length=200)]
PeriodId = ObjectId
_NO_CONTENT: dict[str, Any] = {"status_code": 204, "response_class": Response}


def _monitor_records(db: Session, principal: Principal, target: str,
                     now: Any) -> list[WindowRecord]:
    """Every live window naming ``target`` directly (windows via groups are not the monitor's)."""
    found: list[WindowRecord] = []
    cursor: str | None = None
    while True:
        page, cursor = windows.list_windows(
            db, principal, windows.ListFilter(target=target, limit=500, cursor=cursor), now)
        found.extend(r for r in page if target in r.fields.targets)
        if cursor is None:
            return found


def _period(db: Session, principal: Principal, monitor_guid: str,
            period_id: int) -> WindowRecord:
    """The period ``period_id`` of this monitor, or NotFound (also for a window Uptrends
    cannot express, or one of another monitor)."""
    target = convert.monitor_target(monitor_guid)
    try:
        record = windows.get_window(db, principal, period_id)
    except NotFound:
        record = None
    if (record is None or target not in record.fields.targets
            or convert.from_record(record, principal.workspace_timezone) is None):
        raise NotFound(f"maintenance period {period_id} was not found for monitor "
                       f"{monitor_guid}", field="maintenancePeriodId")
    return record


def _public(record: WindowRecord, principal: Principal) -> dict[str, Any]:
    out = convert.from_record(record, principal.workspace_timezone)
    assert out is not None  # every window created here is expressible
    return out


def _refuse_id_on_post(body: MaintenancePeriodIn) -> None:
    # Generated clients always send the property; 0 and null mean "none".
    if body.Id:
        raise ValidationError("should not be supplied; a new Id is generated automatically",
                              field="Id")


@router.get("/Monitor/{monitorGuid}/MaintenancePeriod",
            response_model=list[MaintenancePeriodPublic], response_model_exclude_none=True,
            operation_id="uptrends_list_maintenance_periods")
def list_periods(monitorGuid: MonitorGuid, state: State, principal: UptrendsViewer,
                 now: Now) -> Any:
    """Finds all maintenance periods for a monitor."""
    target = convert.monitor_target(monitorGuid)
    with state.db.read() as db:
        found = _monitor_records(db, principal, target, now)
    zone = principal.workspace_timezone
    return [out for r in found if (out := convert.from_record(r, zone)) is not None]


@router.post("/Monitor/{monitorGuid}/MaintenancePeriod", status_code=201,
             response_model=MaintenancePeriodPublic, response_model_exclude_none=True,
             operation_id="uptrends_create_maintenance_period")
def create_period(monitorGuid: MonitorGuid, body: MaintenancePeriodIn, state: State,
                  principal: UptrendsEditor, now: Now) -> Any:
    """Saves the new maintenance period for the monitor; ``Id`` must not be supplied."""
    _refuse_id_on_post(body)
    fields = convert.to_fields(body, monitorGuid, principal.workspace_timezone)
    with state.db.transaction() as db:
        record = windows.create_window(db, principal, fields, now)
        return _public(record, principal)


@router.put("/Monitor/{monitorGuid}/MaintenancePeriod/{maintenancePeriodId}", **_NO_CONTENT,
            operation_id="uptrends_update_maintenance_period")
def update_period(monitorGuid: MonitorGuid, maintenancePeriodId: PeriodId,
                  body: MaintenancePeriodIn, state: State, principal: UptrendsEditor,
                  now: Now) -> Response:
    """Replaces the period; the body's ``Id`` must equal ``maintenancePeriodId``."""
    if body.Id is None:
        raise ValidationError(f"is required on PUT and must equal the maintenancePeriodId in "
                              f"the path ({maintenancePeriodId})", field="Id")
    if body.Id != maintenancePeriodId:
        raise ValidationError(
            f"the Id in the body ({body.Id}) does not match the maintenancePeriodId in the "
            f"path ({maintenancePeriodId})", field="Id")
    with state.db.transaction() as db:
        record = _period(db, principal, monitorGuid, maintenancePeriodId)
        changes = convert.to_changes(body, record, principal.workspace_timezone)
        windows.update_window(db, principal, record.id, changes, now)
    return Response(status_code=204)


def _remove_from_monitor(db: Session, principal: Principal, record: WindowRecord,
                         target: str, now: Any) -> None:
    """Delete the window, or only take this monitor out of it if it covers others too."""
    rest = tuple(t for t in record.fields.targets if t != target)
    if rest or record.fields.groups or record.fields.match:
        windows.update_window(db, principal, record.id, {"targets": rest}, now)
    else:
        windows.delete_window(db, principal, record.id, now)


@router.delete("/Monitor/{monitorGuid}/MaintenancePeriod/{maintenancePeriodId}",
               **_NO_CONTENT, operation_id="uptrends_delete_maintenance_period")
def delete_period(monitorGuid: MonitorGuid, maintenancePeriodId: PeriodId, state: State,
                  principal: UptrendsEditor, now: Now) -> Response:
    """Deletes the period from the monitor."""
    with state.db.transaction() as db:
        record = _period(db, principal, monitorGuid, maintenancePeriodId)
        _remove_from_monitor(db, principal, record, convert.monitor_target(monitorGuid), now)
    return Response(status_code=204)


@router.post("/Monitor/{monitorGuid}/MaintenancePeriod/Cleanup/{beforeDate}", **_NO_CONTENT,
             operation_id="uptrends_cleanup_maintenance_periods")
def cleanup(monitorGuid: MonitorGuid,
            beforeDate: Annotated[str, Path(min_length=1, max_length=64)],
            state: State, principal: UptrendsEditor, now: Now) -> Response:
    """Removes the monitor's one-time periods that start before ``beforeDate``.

    ``yyyy-MM-dd`` is midnight at the start of that day in the account's zone. Recurring
    periods are never removed, whatever their dates.
    """
    zone = principal.workspace_timezone
    cutoff = convert.before_date(beforeDate, zone)
    target = convert.monitor_target(monitorGuid)
    with state.db.transaction() as db:
        for record in _monitor_records(db, principal, target, now):
            out = convert.from_record(record, zone)
            sched = record.fields.schedule
            if out is not None and out["ScheduleMode"] == "OneTime" and \
                    getattr(sched, "start", cutoff) < cutoff:
                _remove_from_monitor(db, principal, record, target, now)
    return Response(status_code=204)


@router.post("/MonitorGroup/{monitorGroupGuid}/MaintenancePeriod", **_NO_CONTENT,
             operation_id="uptrends_add_maintenance_period_to_group")
def add_to_group(monitorGroupGuid: GroupGuid, body: MaintenancePeriodIn, state: State,
                 principal: UptrendsEditor, now: Now) -> Response:
    """Adds the period to every monitor that is a member of the group now (one copy each)."""
    _refuse_id_on_post(body)
    with state.db.transaction() as db:
        group = groups.get_group(db, principal, monitorGroupGuid.strip())
        # All the copies in one bulk create: the same checks, rows, audit entries and
        # events as one create after the other, and the first refusal raised as it is.
        windows.create_windows(db, principal, [
            convert.to_fields(body, member.removeprefix("monitor:"),
                              principal.workspace_timezone)
            for member in group.targets if member.startswith("monitor:")], now,
            item_prefix=None)
    return Response(status_code=204)
