"""Jinja2 rendering for the web UI: one environment, the filters the templates share.

Instants reach templates as aware UTC datetimes. Each is rendered as a ``<time>`` whose
``datetime`` attribute is UTC ISO 8601 (``app.js`` rewrites the text in the browser's zone) and
whose fallback text is the window's own zone, so a page without JavaScript is still right.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from quietly.core.codec import format_instant
from quietly.core.records import Role
from quietly.core.schedule import human_schedule
from quietly.core.timeutil import to_local
from quietly.services.web_sessions import WebSession

__all__ = ["STATIC_DIR", "TEMPLATES", "fmt_local", "page", "time_tag"]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def fmt_local(instant: datetime, zone: str, style: str = "datetime") -> str:
    """``Tue 24 Nov 2026, 02:00 CET`` (or just the time / date) in ``zone``."""
    local = to_local(instant, zone)
    if style == "time":
        return local.strftime("%H:%M")
    if style == "date":
        return local.strftime("%a %d %b %Y")
    return local.strftime("%a %d %b %Y, %H:%M ") + (local.tzname() or zone)


def time_tag(instant: datetime | None, zone: str = "UTC", style: str = "datetime") -> Markup:
    """A ``<time>`` the browser re-renders locally; the title keeps the window's zone."""
    if instant is None:
        return Markup("—")
    text = fmt_local(instant, zone, style)
    title = fmt_local(instant, zone) + f" ({zone})"
    return Markup('<time datetime="{}" data-local="{}" title="{}">{}</time>').format(
        format_instant(instant), style, title, text)


def _utc(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC") if instant else "—"


def _nl2br(text: str | None) -> Markup:
    return Markup("<br>").join(escape(line) for line in (text or "").splitlines())


TEMPLATES.env.globals["time_tag"] = time_tag
TEMPLATES.env.filters["utc"] = _utc
TEMPLATES.env.filters["iso"] = format_instant
TEMPLATES.env.filters["nl2br"] = _nl2br
TEMPLATES.env.filters["localfmt"] = fmt_local
TEMPLATES.env.filters["human"] = human_schedule


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
    )
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response
