"""How the UI's own errors reach the browser: as pages, never as problem+json."""

from __future__ import annotations

from fastapi import Request, Response

from quietly.web.auth import NotSignedIn, UiError, current_session, not_signed_in_response
from quietly.web.render import page

__all__ = ["on_not_signed_in", "on_ui_error"]

_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible right now"}


async def on_not_signed_in(request: Request, exc: Exception) -> Response:
    """Pages redirect to the sign-in page; htmx requests get ``HX-Redirect``."""
    assert isinstance(exc, NotSignedIn)
    return not_signed_in_response(exc)


async def on_ui_error(request: Request, exc: Exception) -> Response:
    """An error page with the reason, keeping the navigation when signed in."""
    assert isinstance(exc, UiError)
    try:
        session = current_session(request)
    except (NotSignedIn, UiError):  # e.g. a proxy's person with no role: no navigation
        session = None
    return page(request, "error.html", session, status=exc.status,
                title=_TITLES.get(exc.status, "Something went wrong"), message=exc.message)
