"""People who sign in (OpenID Connect or a trusted proxy) and their browser sessions.

A person is ``(issuer, subject)``; email and name are refreshed at every sign-in. Sessions
act in the workspace and with the role the person's groups mapped to when they signed in
(``core.identity``), and name the person as the actor (``alice@example.com``) in the audit log
and on windows they create. Only a SHA-256 of a session token is stored, as for key sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from quietly.core.errors import NotFound
from quietly.core.identity import Grant
from quietly.core.records import Principal, Role
from quietly.services.web_sessions import SESSION_LIFETIME, WebSession
from quietly.storage.tables import UserRow, UserSessionRow, WorkspaceRow

__all__ = ["PROXY_ISSUER", "Identity", "UserInfo", "end_user_session", "get_user",
           "proxy_session", "resolve_user_session", "start_user_session"]

PROXY_ISSUER = "proxy"
# A proxy-authenticated person's session is reused while it has at least this long to run.
_PROXY_REUSE_MARGIN = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Identity:
    """What the provider (or proxy) asserted about a person."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        """How the audit log and ``created_by`` name this person."""
        return self.email or self.name or self.subject


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    issuer: str
    subject: str
    email: str | None
    name: str | None
    created_at: datetime
    last_sign_in_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: UserRow) -> UserInfo:
    return UserInfo(row.id, row.issuer, row.subject, row.email, row.name, row.created_at,
                    row.last_sign_in_at)


def _record_user(db: Session, identity: Identity, now: datetime) -> UserRow:
    """Create or refresh the person's row, stamping this sign-in."""
    row = db.scalar(select(UserRow).where(UserRow.issuer == identity.issuer,
                                          UserRow.subject == identity.subject))
    if row is None:
        row = UserRow(issuer=identity.issuer, subject=identity.subject, created_at=now,
                      last_sign_in_at=now)
        db.add(row)
    row.email = identity.email
    row.name = identity.name
    row.last_sign_in_at = now
    db.flush()
    return row


def _workspace(db: Session, slug: str) -> WorkspaceRow:
    row = db.scalar(select(WorkspaceRow).where(WorkspaceRow.slug == slug))
    if row is None:
        raise NotFound(f"the sign-in rules name workspace {slug!r}, which does not exist",
                       field="sso_roles")
    return row


def _principal(ws: WorkspaceRow, role: Role, user: UserRow) -> Principal:
    # No key: the actor is the key_name, so the person's address is what the log shows.
    actor = user.email or user.name or user.subject
    return Principal(workspace_id=ws.id, workspace_slug=ws.slug, workspace_timezone=ws.timezone,
                     role=role, key_id=None, key_name=actor)


def _open(db: Session, user: UserRow, ws: WorkspaceRow, role: Role, id_token: str | None,
          now: datetime) -> tuple[str, WebSession]:
    db.execute(delete(UserSessionRow).where(UserSessionRow.expires_at <= now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    db.add(UserSessionRow(token_hash=_hash(token), user_id=user.id, workspace_id=ws.id,
                          role=role.value, csrf_token=csrf, id_token=id_token, created_at=now,
                          expires_at=expires))
    db.flush()
    return token, WebSession(_principal(ws, role, user), csrf, expires)


def start_user_session(db: Session, identity: Identity, grant: Grant, now: datetime, *,
                       id_token: str | None = None) -> tuple[str, WebSession]:
    """Record the sign-in and open a session; returns (cookie token, session).

    Raises NotFound when the grant names a workspace that does not exist.
    """
    ws = _workspace(db, grant.workspace)
    user = _record_user(db, identity, now)
    return _open(db, user, ws, grant.role, id_token, now)


def resolve_user_session(db: Session, token: str, now: datetime) -> WebSession | None:
    """The person's session a cookie token stands for, or None (unknown or expired)."""
    stmt = (select(UserSessionRow, UserRow, WorkspaceRow)
            .join(UserRow, UserRow.id == UserSessionRow.user_id)
            .join(WorkspaceRow, WorkspaceRow.id == UserSessionRow.workspace_id)
            .where(UserSessionRow.token_hash == _hash(token), UserSessionRow.expires_at > now))
    found = db.execute(stmt).first()
    if found is None:
        return None
    session, user, ws = found
    return WebSession(_principal(ws, Role(session.role), user), session.csrf_token,
                      session.expires_at)


def end_user_session(db: Session, token: str) -> tuple[bool, str | None]:
    """Sign out: forget the session; returns (whether it was a person's, its ID token)."""
    row = db.scalar(select(UserSessionRow).where(UserSessionRow.token_hash == _hash(token)))
    if row is None:
        return False, None
    id_token = row.id_token
    db.delete(row)
    return True, id_token


def proxy_session(db: Session, identity: Identity, grant: Grant, now: datetime) -> WebSession:
    """The session of a person a trusted proxy vouches for on this request.

    The proxy authenticates every request, so no cookie is handed out: the row only carries
    the CSRF token the person's forms echo. It is reused while it has time to run and matches
    the current grant; otherwise a new one is opened (and the sign-in stamped).
    """
    ws = _workspace(db, grant.workspace)
    user = db.scalar(select(UserRow).where(UserRow.issuer == identity.issuer,
                                           UserRow.subject == identity.subject))
    if user is not None and (user.email, user.name) == (identity.email, identity.name):
        live = db.scalar(select(UserSessionRow).where(
            UserSessionRow.user_id == user.id, UserSessionRow.workspace_id == ws.id,
            UserSessionRow.role == grant.role.value, UserSessionRow.id_token.is_(None),
            UserSessionRow.expires_at > now + _PROXY_REUSE_MARGIN).limit(1))
        if live is not None:
            return WebSession(_principal(ws, grant.role, user), live.csrf_token,
                              live.expires_at)
    user = _record_user(db, identity, now)
    return _open(db, user, ws, grant.role, None, now)[1]


def get_user(db: Session, issuer: str, subject: str) -> UserInfo | None:
    row = db.scalar(select(UserRow).where(UserRow.issuer == issuer, UserRow.subject == subject))
    return _info(row) if row is not None else None
