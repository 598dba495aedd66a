"""The browser-facing side: web UI, public status pages and iCalendar feeds.

``install_web(app)`` mounts the static files, includes every web router, and renders the
UI's own errors (not signed in, viewer tried to write, refused action) as pages rather than
problem+json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    # Imported here so that ``quietly.web.ical`` (used by the CLI) does not load the UI.
    from fastapi.staticfiles import StaticFiles

    from quietly.web import docs, editor, feeds, pages, sso, status
    from quietly.web import keys as key_pages
    from quietly.web import syncs as sync_pages
    from quietly.web.auth import NotSignedIn, UiError
    from quietly.web.errors import on_not_signed_in, on_ui_error
    from quietly.web.render import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(NotSignedIn, on_not_signed_in)
    app.add_exception_handler(UiError, on_ui_error)
    app.include_router(feeds.router)
    app.include_router(status.router)
    app.include_router(editor.router)
    app.include_router(pages.router)
    app.include_router(sso.router)
    app.include_router(docs.router)  # /docs with the vendored Swagger UI (offline)
    app.include_router(sync_pages.router)
    app.include_router(key_pages.router)
