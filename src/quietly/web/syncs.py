"""Routes: the syncs' pages (admin) — each sync with its status, repairs and what it could
not express."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from quietly.api.deps import get_state
from quietly.core.errors import NotFound
from quietly.core.records import Role
from quietly.services import sync_state, syncs
from quietly.services.syncs import SyncConfig
from quietly.services.web_sessions import WebSession
from quietly.web import auth
from quietly.web.auth import UiError
from quietly.web.render import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _admin(request: Request) -> WebSession:
    session = auth.current_session(request)
    if not session.principal.role.allows(Role.ADMIN):
        raise UiError(403, "syncs are managed by admins; sign in with an admin key")
    return session


@router.get("/syncs")
def syncs_page(request: Request) -> Response:
    session = _admin(request)
    with get_state(request).db.read() as db:
        rows = sync_state.sync_statuses(db, session.principal, datetime.now(UTC))
    return page(request, "syncs.html", session, rows=rows)


@router.get("/syncs/{sync_id:int}")
def sync_page(request: Request, sync_id: int) -> Response:
    session = _admin(request)
    if sync_id > 2**31 - 1:
        raise UiError(404, f"There is no sync {sync_id} in this workspace.")
    with get_state(request).db.read() as db:
        try:
            config: SyncConfig = syncs.get_sync(db, session.principal, sync_id)
            status = sync_state.sync_status(db, session.principal, sync_id, datetime.now(UTC))
        except NotFound as exc:
            raise UiError(404, f"There is no sync {sync_id} in this workspace.") from exc
    return page(request, "sync.html", session, sync=config.to_json(), state=status)
