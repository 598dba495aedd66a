"""Routes: create and edit windows (with the live preview), cancel, extend, delete, and
"maintenance now". Every write needs an editor session and the form's CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from quietly.api.deps import get_state
from quietly.core.codec import parse_duration
from quietly.core.errors import Conflict, NotFound, QuietlyError
from quietly.core.model import Effect, RecurringSchedule
from quietly.core.records import WindowFields
from quietly.core.schedule.dstnotes import annotated_occurrences
from quietly.core.schedule.rules import DAY_NAMES
from quietly.core.timeutil import to_local
from quietly.services import extensions, windows
from quietly.services.web_sessions import WebSession
from quietly.web import auth
from quietly.web.auth import UiError
from quietly.web.forms import (
    EDITABLE,
    FormResult,
    form_field,
    parse_schedule_form,
    parse_window_form,
    values_from_record,
)
from quietly.web.render import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
MAX_ID = 2**62
DURATIONS = (("15", "15 minutes"), ("30", "30 minutes"), ("60", "1 hour"), ("120", "2 hours"),
             ("240", "4 hours"), ("480", "8 hours"))
PREVIEW_COUNT = 5


def _now() -> datetime:
    return datetime.now(UTC)


def _writer(request: Request, csrf_token: str | None) -> WebSession:
    session = auth.current_session(request)
    auth.require_editor(session)
    auth.check_csrf(session, csrf_token)
    return session


def _check_id(window_id: int) -> None:
    if window_id > MAX_ID:
        raise UiError(404, f"There is no window {window_id} in this workspace.")


def _blank_values(zone: str, now: datetime) -> dict[str, Any]:
    """A new window: one hour from the next full hour, in the workspace's zone.

    Switching to "Recurring" keeps that hour, weekly on that weekday: nothing is picked
    that the person did not see (no Sunday-night default).
    """
    start = (to_local(now, zone) + timedelta(hours=1)).replace(minute=0, second=0,
                                                                microsecond=0)
    # The wall clock of the next hour (a DST change may skip or repeat it; the API reads it).
    end = start + timedelta(hours=1)
    return {"kind": "once", "timezone": zone,
            "start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M"),
            "rule": "weekly", "days_of_week": [DAY_NAMES[start.weekday()]],
            "start_time": start.strftime("%H:%M"), "end_mode": "end_time",
            "end_time": end.strftime("%H:%M"), "effects": ["mute"], "monthly_by": "day",
            "short_month": "last_day"}


def _form_page(request: Request, session: WebSession, values: dict[str, Any],
               errors: dict[str, str], window_id: int | None, status: int = 200,
               managed: WindowFields | None = None) -> Response:
    """``managed``: the fields of a window an apply manages (the form warns about reverts)."""
    return page(request, "window_form.html", session, status=status, values=values,
                errors=errors, window_id=window_id, effects=[e.value for e in Effect],
                zone=session.principal.workspace_timezone,
                managed=managed if managed is not None and managed.managed_source else None)


@router.get("/windows/new")
def new_window(request: Request) -> Response:
    session = auth.current_session(request)
    auth.require_editor(session)
    values = _blank_values(session.principal.workspace_timezone, _now())
    return _form_page(request, session, values, {}, None)


@router.post("/windows/new")
async def create_window(request: Request) -> Response:
    form = await request.form()
    session = _writer(request, str(form.get("csrf_token") or ""))
    principal = session.principal
    result = parse_window_form(form, principal.workspace_timezone)
    if result.fields is not None:
        try:
            with get_state(request).db.transaction() as db:
                record = windows.create_window(db, principal, result.fields, _now())
            return RedirectResponse(f"/windows/{record.id}?done=created", status_code=303)
        except QuietlyError as exc:
            result.errors = {form_field(exc.field): exc.message}
    return _form_page(request, session, result.values, result.errors, None, status=422)


def _duration_minutes(schedule: Any) -> int | None:
    if isinstance(schedule, RecurringSchedule) and schedule.duration is not None:
        return int(schedule.duration.total_seconds() // 60)
    return None


@router.get("/windows/{window_id:int}/edit")
def edit_window(request: Request, window_id: int) -> Response:
    _check_id(window_id)
    session = auth.current_session(request)
    auth.require_editor(session)
    with get_state(request).db.read() as db:
        try:
            record = windows.get_window(db, session.principal, window_id)
        except NotFound as exc:
            raise UiError(404, f"There is no window {window_id} in this workspace.") from exc
    values = values_from_record(record, session.principal.workspace_timezone,
                                _duration_minutes(record.fields.schedule))
    return _form_page(request, session, values, {}, window_id, managed=record.fields)


def _changes(current: WindowFields, new: WindowFields) -> dict[str, Any]:
    return {name: getattr(new, name) for name in EDITABLE
            if getattr(new, name) != getattr(current, name)}


@router.post("/windows/{window_id:int}/edit")
async def update_window(request: Request, window_id: int) -> Response:
    _check_id(window_id)
    form = await request.form()
    session = _writer(request, str(form.get("csrf_token") or ""))
    principal = session.principal
    result: FormResult = parse_window_form(form, principal.workspace_timezone)
    if result.fields is not None:
        try:
            with get_state(request).db.transaction() as db:
                current = windows.get_window(db, principal, window_id)
                windows.update_window(db, principal, window_id,
                                      _changes(current.fields, result.fields), _now())
            return RedirectResponse(f"/windows/{window_id}?done=updated", status_code=303)
        except NotFound as exc:
            raise UiError(404, f"There is no window {window_id} in this workspace.") from exc
        except QuietlyError as exc:
            result.errors = {form_field(exc.field): exc.message}
    return _form_page(request, session, result.values, result.errors, window_id, status=422)


@router.post("/windows/preview")
async def preview(request: Request) -> Response:
    """The live preview (htmx): the schedule in words and its next five occurrences, each
    with what daylight saving does to it, and the occurrences it drops."""
    session = auth.current_session(request)
    form = await request.form()
    result = parse_schedule_form(form, session.principal.workspace_timezone)
    context: dict[str, Any] = {"errors": result.errors, "schedule": None, "occurrences": []}
    if result.schedule is not None:
        now = _now()
        schedule = result.schedule
        context["zone"] = getattr(schedule, "timezone", None) \
            or session.principal.workspace_timezone
        context["schedule"] = schedule
        context["occurrences"] = annotated_occurrences(schedule, now, limit=PREVIEW_COUNT,
                                                       horizon=timedelta(days=3660))
    return page(request, "_preview.html", session, **context)


def _act(request: Request, window_id: int, action: Any, done: str) -> Response:
    """Run one window action; a refused one comes back to the window page with the reason."""
    _check_id(window_id)
    try:
        with get_state(request).db.transaction() as db:
            action(db)
    except NotFound as exc:
        raise UiError(404, f"There is no window {window_id} in this workspace.") from exc
    except (Conflict, QuietlyError) as exc:
        raise UiError(409, exc.message) from exc
    return RedirectResponse(f"/windows/{window_id}?done={done}", status_code=303)


@router.post("/windows/{window_id:int}/cancel")
def cancel(request: Request, window_id: int,
           csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = _writer(request, csrf_token)
    return _act(request, window_id, lambda db: extensions.cancel_with_extensions(
        db, session.principal, window_id, _now()), "cancelled")


@router.post("/windows/{window_id:int}/extend")
def extend(request: Request, window_id: int,
           minutes: Annotated[int, Form(ge=1, le=7 * 24 * 60)] = 30,
           csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = _writer(request, csrf_token)
    return _act(request, window_id, lambda db: extensions.extend_window(
        db, session.principal, window_id, timedelta(minutes=minutes), _now()),
        f"extended-{minutes}")


@router.post("/windows/{window_id:int}/delete")
def delete(request: Request, window_id: int,
           csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = _writer(request, csrf_token)
    _act(request, window_id, lambda db: windows.delete_window(
        db, session.principal, window_id, _now()), "deleted")
    return RedirectResponse("/windows?deleted=1", status_code=303)


@router.get("/maintenance")
def maintenance_page(request: Request) -> Response:
    session = auth.current_session(request)
    auth.require_editor(session)
    return page(request, "maintenance.html", session, durations=DURATIONS, errors={},
                values={"minutes": "60"})


@router.post("/maintenance")
def start_maintenance(request: Request,
                      targets: Annotated[str, Form(max_length=20_000)] = "",
                      minutes: Annotated[str, Form(max_length=10)] = "60",
                      name: Annotated[str, Form(max_length=500)] = "",
                      csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = _writer(request, csrf_token)
    names = [t for t in targets.replace(",", " ").split() if t]
    values = {"targets": targets, "minutes": minutes, "name": name}
    try:
        duration = parse_duration(f"PT{minutes}M" if minutes.isdigit() else minutes, "minutes")
        with get_state(request).db.transaction() as db:
            record = windows.start_maintenance(db, session.principal, targets=names,
                                               duration=duration, name=name.strip() or None,
                                               now=_now())
    except QuietlyError as exc:
        errors = {form_field(exc.field): exc.message}
        return page(request, "maintenance.html", session, status=422, durations=DURATIONS,
                    errors=errors, values=values)
    return RedirectResponse(f"/windows/{record.id}?done=started", status_code=303)

