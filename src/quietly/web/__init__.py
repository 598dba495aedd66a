"""The browser-facing side: web UI, public status pages and iCalendar feeds.

``install_web(app)`` mounts the static files, includes every web router, and renders the
UI's own errors (not signed in, viewer tried to write, refused action) as pages rather than
problem+json.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from quietly.web import editor, feeds, pages, status
from quietly.web.auth import NotSignedIn, UiError, current_session, not_signed_in_response
from quietly.web.render import STATIC_DIR, page

__all__ = ["install_web"]


async def _on_not_signed_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotSignedIn)
    return not_signed_in_response(exc)


async def _on_ui_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UiError)
    try:
        session = current_session(request)
    except NotSignedIn:
        session = None
    titles = {403: "Not allowed", 404: "Not found", 409: "Not possible right now"}
    return page(request, "error.html", session, status=exc.status,
                title=titles.get(exc.status, "Something went wrong"), message=exc.message)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(NotSignedIn, _on_not_signed_in)
    app.add_exception_handler(UiError, _on_ui_error)
    app.include_router(feeds.router)
    app.include_router(status.router)
    app.include_router(editor.router)
    app.include_router(pages.router)
