"""Jinja2 rendering for the web UI: one environment, the filters the templates share.

Instants reach templates as aware UTC datetimes and are written by ``timefmt`` (one format
for the whole UI, mirrored by ``app.js``): each is a ``<time>`` whose ``datetime`` attribute
is UTC ISO 8601 and whose text is in the page's zone, so a page without JavaScript is right;
``app.js`` rewrites the text in the browser's zone with the same rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.responses import Response

from quietly.core.codec import format_instant
from quietly.core.model import OnceSchedule, Schedule
from quietly.core.records import Role
from quietly.core.schedule import human_schedule
from quietly.core.timeutil import to_local
from quietly.services.web_sessions import WebSession
from quietly.web import STATIC_DIR as WEB_STATIC_DIR
from quietly.web import timefmt
from quietly.web.timefmt import Clock

__all__ = ["STATIC_DIR", "TEMPLATES", "page", "schedule_text"]

HERE = Path(__file__).parent
STATIC_DIR = WEB_STATIC_DIR
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def _clock_now(context: Context) -> tuple[Clock, datetime]:
    clock = context.get("clock")
    now = context.get("now")
    return (clock if clock in ("h12", "h23") else "h23",
            now if isinstance(now, datetime) else datetime.now(UTC))


@pass_context
def _time_tag(context: Context, instant: datetime | None, zone: str = "UTC",
              style: str = "datetime", fixed: bool = False) -> Markup:
    """``{{ time_tag(instant, zone[, style][, fixed=True]) }}``; ``—`` for None."""
    if instant is None:
        return Markup("—")
    return timefmt.time_markup(instant, zone, style, *_clock_now(context), fixed=fixed)


@pass_context
def _range_tag(context: Context, start: datetime, end: datetime, zone: str = "UTC",
               fixed: bool = False) -> Markup:
    return timefmt.range_markup(start, end, zone, *_clock_now(context), fixed=fixed)


def schedule_text(schedule: Schedule, zone: str, clock: Clock, now: datetime) -> Markup:
    """The schedule in words, its times in the reader's habit and its zone named once.

    A one-time window is written as a range in ``zone`` (the zone its page names), never in
    UTC beside a page that says another zone.
    """
    if isinstance(schedule, OnceSchedule):
        when = timefmt.range_markup(schedule.start, schedule.end, zone, clock, now, fixed=True)
        return Markup("Once, {} ({})").format(when, zone)
    return timefmt.mark_wall_times(human_schedule(schedule), clock)


@pass_context
def _schedule(context: Context, schedule: Schedule, zone: str | None = None) -> Markup:
    own = getattr(schedule, "timezone", None) or zone or "UTC"
    return schedule_text(schedule, own, *_clock_now(context))


@pass_context
def _range_text(context: Context, start: datetime, end: datetime, zone: str) -> str:
    return timefmt.range_text(start, end, zone, *_clock_now(context))


@pass_context
def _local_date(context: Context, day: date, zone: str) -> str:
    """``Sun 29 Mar`` (with the year when it is not this year in ``zone``)."""
    return timefmt.date_text(day, to_local(_clock_now(context)[1], zone).year)


@pass_context
def _when(context: Context, value: datetime | str | None, zone: str | None = None) -> Markup:
    """An instant given as a datetime or an RFC 3339 string (``None`` → ``—``), in ``zone``
    or the signed-in workspace's zone (then the browser's, like every time tag)."""
    if not value:
        return Markup("—")
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    principal = context.get("principal")
    home = zone or getattr(principal, "workspace_timezone", None) or "UTC"
    return timefmt.time_markup(instant, home, "datetime", *_clock_now(context))


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pass_context
def _wall(context: Context, text: str) -> Markup:
    return timefmt.mark_wall_times(text, _clock_now(context)[0])


def _nl2br(text: str | None) -> Markup:
    return Markup("<br>").join(escape(line) for line in (text or "").splitlines())


TEMPLATES.env.globals["time_tag"] = _time_tag
TEMPLATES.env.globals["range_tag"] = _range_tag
TEMPLATES.env.globals["schedule_text"] = _schedule
TEMPLATES.env.globals["range_text"] = _range_text
TEMPLATES.env.globals["local_date"] = _local_date
TEMPLATES.env.globals["when"] = _when
TEMPLATES.env.filters["from_iso"] = _from_iso
TEMPLATES.env.filters["wall"] = _wall
TEMPLATES.env.filters["iso"] = format_instant
TEMPLATES.env.filters["nl2br"] = _nl2br
TEMPLATES.env.filters["offset"] = timefmt.offset_text


# Pages carry CSRF tokens and a workspace's data: never cache them, never frame them, and run
# only our own scripts (the inline ``style`` attributes place timeline bars).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
}


def page(request: Request, template: str, session: WebSession | None, *,
         status: int = 200, **context: Any) -> Response:
    """Render a full page or fragment with the session's role, CSRF token and nav state."""
    principal = session.principal if session else None
    context.update(
        session=session,
        principal=principal,
        can_write=bool(principal and principal.role.allows(Role.EDITOR)),
        csrf_token=session.csrf_token if session else "",
        path=request.url.path,
        clock=timefmt.clock_of(request),
    )
    context.setdefault("now", datetime.now(UTC))
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response
