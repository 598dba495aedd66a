"""Browser sessions for the web UI: sign in with an API key, act with its role, sign out.

Only a SHA-256 of the session token is stored (the token carries 256 random bits, like API
keys), so a leaked database cannot be replayed as a cookie. A session ends when it expires, when
the user signs out, or when its key is revoked — it never outlives the key it came from.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from quietly.core.records import Principal, Role
from quietly.services import workspaces
from quietly.storage.tables import ApiKeyRow, WebSessionRow, WorkspaceRow

__all__ = ["SESSION_LIFETIME", "WebSession", "end_session", "resolve_session", "start_session"]

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: who it acts as and the CSRF token its forms must echo."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, raw_key: str, now: datetime) -> tuple[str, WebSession] | None:
    """Open a session for a valid API key; returns (cookie token, session) or None.

    Expired sessions are purged on the way, so the table does not grow without bound.
    """
    principal = workspaces.authenticate(db, raw_key.strip())
    if principal is None or principal.key_id is None or workspaces.key_expired(principal, now):
        return None
    db.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    db.add(WebSessionRow(token_hash=_hash(token), key_id=principal.key_id, csrf_token=csrf,
                         created_at=now, expires_at=expires))
    db.flush()
    return token, WebSession(principal, csrf, expires)


def resolve_session(db: Session, token: str, now: datetime) -> WebSession | None:
    """The session a cookie token stands for, or None (unknown, expired, key revoked)."""
    stmt = (select(WebSessionRow, ApiKeyRow, WorkspaceRow)
            .join(ApiKeyRow, ApiKeyRow.id == WebSessionRow.key_id)
            .join(WorkspaceRow, WorkspaceRow.id == ApiKeyRow.workspace_id)
            .where(WebSessionRow.token_hash == _hash(token),
                   WebSessionRow.expires_at > now,
                   ApiKeyRow.revoked_at.is_(None),
                   or_(ApiKeyRow.expires_at.is_(None), ApiKeyRow.expires_at > now)))
    found = db.execute(stmt).first()
    if found is None:
        return None
    session, key, ws = found
    principal = Principal(workspace_id=ws.id, workspace_slug=ws.slug,
                          workspace_timezone=ws.timezone, role=Role(key.role), key_id=key.id,
                          key_name=key.name, scope=tuple(key.scope or ()),
                          expires_at=key.expires_at)
    return WebSession(principal, session.csrf_token, session.expires_at)


def end_session(db: Session, token: str) -> None:
    """Sign out: forget the session (unknown tokens are ignored)."""
    db.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == _hash(token)))
