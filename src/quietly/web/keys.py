"""Routes: the keys page (admin) — every API key of the workspace with its role, scope, last
use and expiry, and a button to revoke one. Keys are created with ``quietly admin create-key``
or ``POST /api/v1/keys`` (the secret is shown once, which a page reload would lose)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from quietly.api.deps import get_state
from quietly.core.errors import NotFound
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.services.web_sessions import WebSession
from quietly.services.workspaces import ApiKeyInfo
from quietly.web import auth
from quietly.web.auth import UiError
from quietly.web.render import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One key as the page shows it."""

    id: int
    name: str
    role: str
    prefix: str
    scope: tuple[str, ...]
    created: str
    created_by: str | None
    last_used: str
    expires: str
    state: str  # active, expiring (within 7 days), expired, revoked


def _when(value: datetime | None, never: str) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else never


def _row(key: ApiKeyInfo, now: datetime) -> KeyRow:
    if key.revoked_at is not None:
        state = "revoked"
    elif key.expired(now):
        state = "expired"
    elif key.expires_at is not None and key.expires_at - now < timedelta(days=7):
        state = "expiring"
    else:
        state = "active"
    return KeyRow(key.id, key.name, key.role.value, key.prefix, key.scope,
                  _when(key.created_at, ""), key.created_by,
                  _when(key.last_used_at, "never"), _when(key.expires_at, "never"), state)


def _admin(request: Request) -> WebSession:
    session = auth.current_session(request)
    if not session.principal.role.allows(Role.ADMIN):
        raise UiError(403, "API keys are managed by admins; sign in with an admin key")
    return session


@router.get("/keys")
def keys_page(request: Request) -> Response:
    session = _admin(request)
    now = datetime.now(UTC)
    with get_state(request).db.read() as db:
        keys = workspaces.list_keys(db, session.principal.workspace_id)
    rows = [_row(k, now) for k in sorted(keys, key=lambda k: (k.revoked_at is not None, k.id))]
    return page(request, "keys.html", session, rows=rows,
                revoked=request.query_params.get("revoked"))


@router.post("/keys/{key_id:int}/revoke")
def revoke(request: Request, key_id: int,
           csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = _admin(request)
    auth.check_csrf(session, csrf_token)
    if key_id > 2**31 - 1:
        raise UiError(404, f"There is no API key {key_id} in this workspace.")
    state = get_state(request)
    try:
        with state.db.transaction() as db:
            info = workspaces.revoke_key(db, session.principal, key_id, datetime.now(UTC))
    except NotFound as exc:
        raise UiError(404, f"There is no API key {key_id} in this workspace.") from exc
    state.forget_keys()
    return RedirectResponse(f"/keys?revoked={info.id}", status_code=303)
