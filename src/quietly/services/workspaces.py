"""Workspaces and API keys: creation, lookup and authentication."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.records import Principal, Role
from quietly.core.scopes import validate_scope
from quietly.core.timeutil import get_zone
from quietly.services import audit
from quietly.storage.tables import ApiKeyRow, WorkspaceRow

__all__ = [
    "KEY_PREFIX",
    "ApiKeyInfo",
    "Workspace",
    "authenticate",
    "create_key",
    "create_workspace",
    "ensure_default_workspace",
    "get_workspace",
    "hash_key",
    "key_expired",
    "list_keys",
    "list_workspaces",
    "record_key_use",
    "revoke_key",
    "update_workspace",
]

KEY_PREFIX = "qly_"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    slug: str
    name: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: int
    workspace_id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    scope: tuple[str, ...] = ()
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _workspace(row: WorkspaceRow) -> Workspace:
    return Workspace(row.id, row.slug, row.name, row.timezone, row.created_at)


def _key(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.workspace_id, row.name, Role(row.role), row.prefix,
                      row.created_at, row.created_by, row.last_used_at, row.revoked_at,
                      tuple(row.scope or ()), row.expires_at)


def hash_key(raw: str) -> str:
    """Keys carry 256 random bits, so one SHA-256 is enough (no slow hash needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_timezone(name: str) -> str:
    get_zone(name)  # raises ScheduleError naming schedule.timezone; re-label for workspaces
    return name


def create_workspace(
    db: Session, slug: str, *, name: str | None, timezone: str, now: datetime
) -> Workspace:
    if not _SLUG.match(slug):
        raise ValidationError(
            "use 1-63 lower-case letters, digits and '-', starting with a letter or digit",
            field="slug",
        )
    try:
        _check_timezone(timezone)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="timezone") from exc
    if db.scalar(select(WorkspaceRow.id).where(WorkspaceRow.slug == slug)) is not None:
        raise Conflict(f"a workspace with slug {slug!r} already exists", field="slug")
    row = WorkspaceRow(slug=slug, name=name or slug, timezone=timezone, created_at=now)
    db.add(row)
    db.flush()
    return _workspace(row)


def ensure_default_workspace(db: Session, *, timezone: str, now: datetime) -> Workspace:
    """Create the ``default`` workspace (id 1 on a new database) unless it exists."""
    row = db.scalar(select(WorkspaceRow).where(WorkspaceRow.slug == "default"))
    if row is not None:
        return _workspace(row)
    return create_workspace(db, "default", name="Default", timezone=timezone, now=now)


def get_workspace(db: Session, slug: str) -> Workspace:
    row = db.scalar(select(WorkspaceRow).where(WorkspaceRow.slug == slug))
    if row is None:
        raise NotFound(f"no workspace with slug {slug!r}", field="workspace")
    return _workspace(row)


def get_workspace_by_id(db: Session, workspace_id: int) -> Workspace:
    row = db.get(WorkspaceRow, workspace_id)
    if row is None:
        raise NotFound(f"no workspace with id {workspace_id}", field="workspace")
    return _workspace(row)


def list_workspaces(db: Session) -> list[Workspace]:
    return [_workspace(r) for r in db.scalars(select(WorkspaceRow).order_by(WorkspaceRow.id))]


def update_workspace(
    db: Session, principal: Principal, *, name: str | None, timezone: str | None,
    now: datetime,
) -> Workspace:
    row = db.get(WorkspaceRow, principal.workspace_id)
    if row is None:
        raise NotFound("the workspace no longer exists")
    before = {"name": row.name, "timezone": row.timezone}
    if name is not None:
        row.name = name
    if timezone is not None:
        try:
            row.timezone = _check_timezone(timezone)
        except ValidationError as exc:
            raise ValidationError(exc.message, field="timezone") from exc
    audit.record(db, principal, action="update", object_type="workspace", object_id=row.id,
                 at=now, before=before, after={"name": row.name, "timezone": row.timezone})
    return _workspace(row)


def create_key(
    db: Session, workspace_id: int, *, name: str, role: Role, now: datetime,
    created_by: str | None = None, scope: Sequence[str] = (),
    expires_at: datetime | None = None,
) -> tuple[ApiKeyInfo, str]:
    """Create a key and return it with its secret, which is never shown again.

    ``scope``: target patterns the key may change windows of (``core.scopes``); an admin key
    cannot be scoped, since it could create itself an unscoped key. ``expires_at`` must be
    in the future.
    """
    if not name.strip():
        raise ValidationError("must not be empty", field="name")
    patterns = validate_scope(scope)
    if patterns and role is Role.ADMIN:
        raise ValidationError("an admin key cannot be limited to targets (it could create "
                              "an unlimited key); use the editor or maintenance role",
                              field="scope")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationError("give an offset or Z (e.g. 2027-03-01T00:00:00Z)",
                                  field="expires_at")
        if expires_at <= now:
            raise ValidationError("must be in the future", field="expires_at")
    taken = select(ApiKeyRow.id).where(ApiKeyRow.workspace_id == workspace_id,
                                       ApiKeyRow.name == name.strip(),
                                       ApiKeyRow.revoked_at.is_(None))
    if db.scalar(taken) is not None:
        raise Conflict(f"a key named {name.strip()!r} already exists in this workspace; "
                       "pick another name or revoke that key first", field="name")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(workspace_id=workspace_id, name=name.strip(), role=role.value,
                    prefix=raw[:10], key_hash=hash_key(raw), created_at=now,
                    created_by=created_by, last_used_at=None, revoked_at=None,
                    scope=list(patterns), expires_at=expires_at)
    db.add(row)
    db.flush()
    return _key(row), raw


def list_keys(db: Session, workspace_id: int) -> list[ApiKeyInfo]:
    stmt = select(ApiKeyRow).where(ApiKeyRow.workspace_id == workspace_id).order_by(ApiKeyRow.id)
    return [_key(r) for r in db.scalars(stmt)]


def revoke_key(db: Session, principal: Principal, key_id: int, now: datetime) -> ApiKeyInfo:
    row = db.get(ApiKeyRow, key_id)
    if row is None or row.workspace_id != principal.workspace_id:
        raise NotFound(f"no API key with id {key_id}", field="id")
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(db, principal, action="revoke", object_type="api_key", object_id=key_id,
                     at=now, before={"name": row.name, "role": row.role}, after=None)
    return _key(row)


def record_key_use(db: Session, uses: dict[int, datetime]) -> None:
    """Set ``last_used_at`` of each key id to its instant unless it is already later."""
    for key_id, at in uses.items():
        db.execute(update(ApiKeyRow)
                   .where(ApiKeyRow.id == key_id,
                          or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < at))
                   .values(last_used_at=at))


def authenticate(db: Session, raw_key: str) -> Principal | None:
    """The principal a key stands for, or ``None`` for an unknown or revoked key.

    An expired key is returned too (with its ``expires_at``) so that callers can say it
    expired rather than that it is unknown: check ``key_expired`` before trusting it.
    """
    stmt = (
        select(ApiKeyRow, WorkspaceRow)
        .join(WorkspaceRow, WorkspaceRow.id == ApiKeyRow.workspace_id)
        .where(ApiKeyRow.key_hash == hash_key(raw_key), ApiKeyRow.revoked_at.is_(None))
    )
    found = db.execute(stmt).first()
    if found is None:
        return None
    key, ws = found
    return Principal(workspace_id=ws.id, workspace_slug=ws.slug, workspace_timezone=ws.timezone,
                     role=Role(key.role), key_id=key.id, key_name=key.name,
                     scope=tuple(key.scope or ()), expires_at=key.expires_at)


def key_expired(principal: Principal, now: datetime) -> bool:
    """Whether ``principal``'s key has expired at ``now``."""
    return principal.expires_at is not None and principal.expires_at <= now
