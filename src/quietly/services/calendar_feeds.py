"""Unguessable, rotatable iCalendar feed addresses for a workspace and for each target.

A workspace keeps one random secret. Each feed's token is an HMAC of the secret over what the
feed shows (``workspace`` or ``target:<name>``), so per-target feeds need no rows of their own,
a target token reveals nothing about the workspace feed, and rotating the one secret replaces
every address at once. Tokens are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core.errors import NotFound
from quietly.core.records import Principal
from quietly.services import audit
from quietly.storage.tables import CalendarFeedRow, WorkspaceRow

__all__ = ["FeedSecret", "feed_secret", "feed_token", "rotate", "target_feed_path", "verify",
           "workspace_feed_path"]


@dataclass(frozen=True, slots=True)
class FeedSecret:
    workspace_id: int
    workspace_slug: str
    secret: str
    rotated_at: datetime


def feed_token(secret: str, scope: str) -> str:
    """The token of one feed: ``scope`` is ``workspace`` or ``target:<kind:id>``."""
    digest = hmac.new(secret.encode(), scope.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def workspace_feed_path(feed: FeedSecret) -> str:
    """The path of the workspace's feed (every window)."""
    return f"/calendar/{feed.workspace_slug}/{feed_token(feed.secret, 'workspace')}.ics"


def target_feed_path(feed: FeedSecret, target: str) -> str:
    """The path of one target's feed (windows naming it, its groups, or all targets)."""
    token = feed_token(feed.secret, f"target:{target}")
    return f"/calendar/{feed.workspace_slug}/targets/{quote(target, safe=':')}/{token}.ics"


def _row(db: Session, workspace_id: int, now: datetime) -> CalendarFeedRow:
    row = db.get(CalendarFeedRow, workspace_id)
    if row is None:
        row = CalendarFeedRow(workspace_id=workspace_id, secret=secrets.token_urlsafe(32),
                              rotated_at=now)
        db.add(row)
        db.flush()
    return row


def feed_secret(db: Session, principal: Principal, now: datetime) -> FeedSecret:
    """The workspace's feed secret, created on first use."""
    row = _row(db, principal.workspace_id, now)
    return FeedSecret(principal.workspace_id, principal.workspace_slug, row.secret,
                      row.rotated_at)


def rotate(db: Session, principal: Principal, now: datetime) -> FeedSecret:
    """Replace the secret: every old feed address stops working at once."""
    row = _row(db, principal.workspace_id, now)
    row.secret = secrets.token_urlsafe(32)
    row.rotated_at = now
    audit.record(db, principal, action="rotate", object_type="calendar_feed",
                 object_id=principal.workspace_id, at=now, before=None, after=None)
    return FeedSecret(principal.workspace_id, principal.workspace_slug, row.secret, now)


def verify(db: Session, slug: str, scope: str, token: str) -> int:
    """Return the workspace id when ``token`` opens the ``scope`` feed of workspace ``slug``.

    Raises NotFound for an unknown slug, a workspace without a feed yet, or a wrong token —
    one answer for all three, so a caller learns nothing from guessing.
    """
    stmt = (select(CalendarFeedRow.secret, WorkspaceRow.id)
            .join(WorkspaceRow, WorkspaceRow.id == CalendarFeedRow.workspace_id)
            .where(WorkspaceRow.slug == slug))
    found = db.execute(stmt).first()
    if found is None or not hmac.compare_digest(feed_token(found[0], scope), token):
        raise NotFound("no such calendar feed")
    return int(found[1])
