"""The browser-facing side: web UI, public status pages and iCalendar feeds.

``install_web(app)`` mounts the static files, includes every web router, and renders the
UI's own errors (not signed in, viewer tried to write, refused action) as pages rather than
problem+json.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI, Request, Response

__all__ = ["STATIC_DIR", "install_web"]

STATIC_DIR = Path(__file__).parent / "static"  # (``web.render.STATIC_DIR``)


# The UI's routers in matching order: (module, path prefixes, exact paths of its routes).
# Each is imported on its first request (``api.lazy_routes``; issue 19, start-up).
_ROUTERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("quietly.web.feeds", ("/calendar/",), ()),
    ("quietly.web.status", ("/status/",), ()),
    ("quietly.web.editor", ("/windows/", "/maintenance"), ()),
    ("quietly.web.pages", ("/sign-in", "/sign-out", "/calendar/rotate", "/windows"), ("/",)),
    ("quietly.web.sso", ("/sign-in/oidc",), ()),
    ("quietly.web.docs", ("/docs",), ()),  # /docs with the vendored Swagger UI (offline)
    ("quietly.web.syncs", ("/syncs",), ()),
    ("quietly.web.keys", ("/keys",), ()),
)


def install_web(app: FastAPI) -> None:
    # Imported here so that ``quietly.web.ical`` (used by the CLI) does not load the UI.
    from fastapi.staticfiles import StaticFiles

    from quietly.api.lazy_routes import include_lazily
    from quietly.web.auth import NotSignedIn, UiError

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(NotSignedIn, _on_not_signed_in)
    app.add_exception_handler(UiError, _on_ui_error)
    for module, prefixes, exact in _ROUTERS:
        include_lazily(app, module, prefixes, exact)


# ``web.errors`` renders pages (Jinja2, ``web.render``): imported by the first UI error, not
# to start the server (issue 19: ~0.03 s of a start). Only UI routes raise these, and their
# modules import it anyway.
async def _on_not_signed_in(request: Request, exc: Exception) -> Response:
    from quietly.web.errors import on_not_signed_in

    return await on_not_signed_in(request, exc)


async def _on_ui_error(request: Request, exc: Exception) -> Response:
    from quietly.web.errors import on_ui_error

    return await on_ui_error(request, exc)
