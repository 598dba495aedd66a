"""Routes: sign in and out, the timeline, the window list and the window page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from quietly.api.deps import get_state
from quietly.core import codec, lifecycle
from quietly.core.errors import NotFound, QuietlyError
from quietly.core.model import Occurrence, RecurringSchedule, Schedule, State
from quietly.core.records import Role, WindowRecord
from quietly.core.schedule.dstnotes import annotated_occurrences
from quietly.services import (
    alerts,
    audit,
    calendar_feeds,
    deliveries,
    extensions,
    sync_state,
    web_sessions,
    windows,
)
from quietly.web import auth, sso
from quietly.web.auth import UiError
from quietly.web.render import page
from quietly.web.timeline import build_timeline

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
STATES = ("active", "scheduled", "completed", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never redirect to another host after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/sign-in")
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None
                 ) -> Response:
    if auth.proxy_identity(request) is not None:  # the proxy has signed this person in
        return RedirectResponse(_safe_next(next), status_code=303)
    token = auth.signin_csrf(request)
    response = page(request, "sign_in.html", None, signin_csrf=token, next=_safe_next(next),
                    error=None, **sso.sign_in_options(request))
    auth.set_signin_cookie(response, request, token)
    return response


@router.post("/sign-in")
def sign_in(request: Request, api_key: Annotated[str, Form(max_length=500)] = "",
            csrf_token: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    auth.check_signin_csrf(request, csrf_token)
    state = get_state(request)
    if not state.settings.ui_key_sign_in:
        raise UiError(403, "Signing in with an API key is turned off on this server; use "
                           "single sign-on.")
    refused = auth.check_signin_key(request, api_key.strip())
    if refused is not None:
        status, message, headers = refused
        response = page(request, "sign_in.html", None, status=status,
                        signin_csrf=request.cookies.get(auth.SIGNIN_CSRF_COOKIE, ""),
                        next=_safe_next(next), **sso.sign_in_options(request), error=message)
        response.headers.update(headers)
        return response
    with state.db.transaction() as db:
        started = web_sessions.start_session(db, api_key, _now())
    if started is None:  # revoked between the check and now
        return page(request, "sign_in.html", None, status=401,
                    signin_csrf=request.cookies.get(auth.SIGNIN_CSRF_COOKIE, ""),
                    next=_safe_next(next), **sso.sign_in_options(request),
                    error="That key is unknown or revoked. Paste a quietly API key (qly_…).")
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.set_session_cookie(response, request, started[0])
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
             ) -> Response:
    session = auth.current_session(request)
    auth.check_csrf(session, csrf_token)
    token = request.cookies.get(auth.SESSION_COOKIE, "")
    with get_state(request).db.transaction() as db:
        web_sessions.end_session(db, token)
    response = sso.after_sign_out(request, session, token)
    auth.clear_cookie(response, request)
    return response


def _all_windows(request: Request, principal: Any, state: State | None = None
                 ) -> list[WindowRecord]:
    now = _now()
    with get_state(request).db.read() as db:
        found, _ = windows.list_windows(db, principal, windows.ListFilter(state=state,
                                                                         limit=500), now)
    return found


def _feed_url(request: Request, principal: Any) -> str | None:
    """The workspace's calendar feed address, for admins only (it is a credential)."""
    if not principal.role.allows(Role.ADMIN):
        return None
    with get_state(request).db.transaction() as db:
        feed = calendar_feeds.feed_secret(db, principal, _now())
    return str(request.base_url).rstrip("/") + calendar_feeds.workspace_feed_path(feed)


@router.get("/")
def timeline(request: Request,
             hide: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """``?hide=ended`` leaves out completed and cancelled windows (a link keeps the choice)."""
    session = auth.current_session(request)
    zone = session.principal.workspace_timezone
    hide_ended = hide == "ended"
    view = build_timeline(_all_windows(request, session.principal), _now(), zone,
                          hide_ended=hide_ended)
    with get_state(request).db.read() as db:
        unrouted = alerts.count_unrouted(db, session.principal.workspace_id,
                                         _now() - timedelta(hours=24))
    return page(request, "timeline.html", session, timeline=view, zone=zone, unrouted=unrouted,
                hide_ended=hide_ended,
                feed_url=_feed_url(request, session.principal),
                rotated=request.query_params.get("rotated") == "1")


@router.post("/calendar/rotate")
def rotate_feeds(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
                 ) -> Response:
    """Replace every calendar feed address (admins only)."""
    session = auth.current_session(request)
    auth.check_csrf(session, csrf_token)
    if not session.principal.role.allows(Role.ADMIN):
        raise UiError(403, "Only admins can rotate the calendar feed addresses.")
    with get_state(request).db.transaction() as db:
        calendar_feeds.rotate(db, session.principal, _now())
    return RedirectResponse("/?rotated=1", status_code=303)


def _matches_search(record: WindowRecord, query: str) -> bool:
    """Case-insensitive substring of the name, a target or a group."""
    q = query.lower()
    f = record.fields
    return q in f.name.lower() or any(q in t.lower() for t in (*f.targets, *f.groups))


# Derived fields that change with time or with any edit: not what someone changed.
_DERIVED = frozenset({"updated_at", "state", "current_occurrence", "next_occurrence",
                      "human_schedule"})


def _shown(value: Any) -> str:
    text = "—" if value in (None, "", [], {}) else (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 120 else text[:119] + "…"


def _schedule_or_shown(value: Any) -> Schedule | str:
    """A schedule is shown in words, like everywhere else in the UI; other values as JSON."""
    try:
        return codec.schedule_from_json(value)
    except (QuietlyError, KeyError, TypeError, ValueError, AttributeError):
        return _shown(value)


def audit_changes(before: dict[str, Any] | None,
                  after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """``(field, value before, value after)`` for each field an update changed; a schedule's
    values are ``Schedule`` objects (the template writes them in words)."""
    if not before or not after:
        return []
    shown = {"schedule": _schedule_or_shown}
    return [(key, shown.get(key, _shown)(before.get(key)), shown.get(key, _shown)(value))
            for key, value in after.items()
            if key not in _DERIVED and before.get(key) != value]


_STATE_ORDER = {"active": 0, "scheduled": 1, "completed": 2, "cancelled": 3}
_NEVER = datetime.max.replace(tzinfo=UTC)


def _list_order(row: dict[str, Any]) -> tuple[int, datetime, int]:
    """Active first, then scheduled, by their current or next start; ended ones last."""
    occurrence = row["next"]
    return (_STATE_ORDER.get(row["state"], 4), occurrence.start if occurrence else _NEVER,
            row["record"].id)


@router.get("/windows")
def window_list(request: Request,
                state: Annotated[str | None, Query(max_length=20)] = None,
                q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    session = auth.current_session(request)
    chosen = State(state) if state in STATES else None
    now = _now()
    rows = []
    for record in _all_windows(request, session.principal, chosen):
        if q and not _matches_search(record, q.strip()):
            continue
        window = record.to_window()
        rows.append({"record": record, "state": lifecycle.state_at(window, now).value,
                     "next": lifecycle.current_occurrence(window, now)
                     or lifecycle.next_occurrence(window, now)})
    rows.sort(key=_list_order)
    return page(request, "windows.html", session, rows=rows, state=chosen.value if chosen
                else "", q=q or "", states=STATES, zone=session.principal.workspace_timezone,
                deleted=request.query_params.get("deleted") == "1")


def _dst_notes(schedule: Schedule, now: datetime, shown: list[Occurrence]
               ) -> dict[datetime, tuple[str, ...]]:
    """What daylight saving does to each occurrence shown (by start), as in the preview."""
    if not isinstance(schedule, RecurringSchedule) or not shown:
        return {}
    items = annotated_occurrences(schedule, shown[0].start, limit=len(shown),
                                  horizon=shown[-1].end - shown[0].start + timedelta(days=1))
    return {i.occurrence.start: i.notes for i in items if i.occurrence is not None and i.notes}


def _window_context(request: Request, window_id: int) -> tuple[Any, dict[str, Any]]:
    session = auth.current_session(request)
    principal = session.principal
    now = _now()
    if window_id > 2**62:  # beyond any stored id (and beyond BIGINT): not found, not a 5xx
        raise UiError(404, f"There is no window {window_id} in this workspace.")
    with get_state(request).db.read() as db:
        try:
            record = windows.get_window(db, principal, window_id)
        except NotFound as exc:
            raise UiError(404, f"There is no window {window_id} in this workspace.") from exc
        window = record.to_window()
        upcoming = lifecycle.window_occurrences(window, now - timedelta(days=1),
                                                now + timedelta(days=800), limit=10)
        notes = _dst_notes(window.schedule, now, upcoming)
        log, _ = audit.list_audit(db, principal, object_type="window",
                                  object_id=str(window_id), limit=100)
        sent, _ = deliveries.list_deliveries(db, principal, window_id=window_id,
                                             channel_id=None, status=None, limit=20,
                                             cursor=None)
        children = extensions.extensions_of(db, principal, window_id)
        not_synced = sync_state.sync_problems_of_window(db, principal, window_id)
    return session, {
        "record": record, "state": lifecycle.state_at(window, now).value,
        "occurrences": upcoming, "now": now, "dst_notes": notes,
        "audit": [(e, audit_changes(e.before, e.after)) for e in reversed(log)],
        "deliveries": sent, "extensions": children, "not_synced": not_synced,
        "zone": getattr(record.fields.schedule, "timezone", None)
        or principal.workspace_timezone,
        "zone_is_workspace": getattr(record.fields.schedule, "timezone", None) is None,
    }


@router.get("/windows/{window_id:int}")
def window_page(request: Request, window_id: int) -> Response:
    session, context = _window_context(request, window_id)
    flash = request.query_params.get("done")
    return page(request, "window.html", session, flash=flash, **context)
