"""The browser-facing side: web UI, public status pages and iCalendar feeds.

``install_web(app)`` mounts the static files and includes every web router.
"""

from __future__ import annotations

from fastapi import FastAPI

from quietly.web import feeds

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    app.include_router(feeds.router)
