"""Channels: where window events go (a signed webhook, or a Slack incoming webhook).

Windows name channels in ``notify_channels`` by id (``3`` or ``"3"``) or by name; the refs are
checked when a window is written (``check_channel_refs``) and resolved again each time an
event is enqueued (``resolve_channels``), so a channel deleted later is skipped, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.records import Principal
from quietly.notify.guard import DestinationRefused, check_destination
from quietly.notify.signing import generate_secret
from quietly.services import audit
from quietly.storage.tables import ChannelRow

__all__ = ["CHANNEL_TYPES", "Channel", "check_channel_refs", "create_channel",
           "delete_channel", "get_channel", "list_channels", "resolve_channels",
           "update_channel"]

CHANNEL_TYPES = ("webhook", "slack")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    workspace_id: int
    name: str
    type: str
    url: str
    secret: str
    created_at: datetime
    updated_at: datetime

    def to_json(self, *, reveal_secret: bool = False) -> dict[str, Any]:
        """The public shape; the secret is shown whole only when it was just set."""
        secret = self.secret if reveal_secret else _mask(self.secret)
        return {"id": self.id, "name": self.name, "type": self.type, "url": self.url,
                "secret": secret}


def _mask(secret: str) -> str:
    return secret[:6] + "…" + secret[-4:] if len(secret) > 12 else "…"


def _channel(row: ChannelRow) -> Channel:
    return Channel(row.id, row.workspace_id, row.name, row.type, row.url, row.secret,
                   row.created_at, row.updated_at)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name) or name.isdigit():
        raise ValidationError("use letters, digits, spaces, '_', '.', ':' and '-' (at most "
                              "200), starting with a letter or digit, not only digits",
                              field="name")
    return name


def _check_url(url: str, allow_private: bool) -> str:
    """Refuse bad shapes and internal destinations now; DNS trouble is left to delivery."""
    try:
        check_destination(url, allow_private)
    except DestinationRefused as exc:
        if not exc.retryable:
            raise ValidationError(str(exc), field="url") from exc
    return url


def _check_type(kind: str) -> str:
    if kind not in CHANNEL_TYPES:
        raise ValidationError(f"must be one of {', '.join(CHANNEL_TYPES)}", field="type")
    return kind


def _row(db: Session, workspace_id: int, channel_id: int) -> ChannelRow:
    row = db.scalar(select(ChannelRow).where(ChannelRow.workspace_id == workspace_id,
                                             ChannelRow.id == channel_id))
    if row is None:
        raise NotFound(f"no channel with id {channel_id}", field="id")
    return row


def _name_taken(db: Session, workspace_id: int, name: str, but: int | None = None) -> None:
    stmt = select(ChannelRow.id).where(ChannelRow.workspace_id == workspace_id,
                                       ChannelRow.name == name)
    found = db.scalar(stmt)
    if found is not None and found != but:
        raise Conflict(f"a channel named {name!r} already exists", field="name")


def create_channel(db: Session, principal: Principal, *, name: str, type: str, url: str,
                   secret: str | None, allow_private: bool, now: datetime) -> Channel:
    """Store a channel; without a ``secret`` a new ``whsec_…`` one is generated."""
    _check_name(name)
    _check_type(type)
    _check_url(url, allow_private)
    _name_taken(db, principal.workspace_id, name)
    row = ChannelRow(workspace_id=principal.workspace_id, name=name, type=type, url=url,
                     secret=secret or generate_secret(), created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    channel = _channel(row)
    audit.record(db, principal, action="create", object_type="channel", object_id=row.id,
                 at=now, before=None, after=channel.to_json())
    return channel


def get_channel(db: Session, principal: Principal, channel_id: int) -> Channel:
    return _channel(_row(db, principal.workspace_id, channel_id))


def list_channels(db: Session, principal: Principal) -> list[Channel]:
    stmt = (select(ChannelRow).where(ChannelRow.workspace_id == principal.workspace_id)
            .order_by(ChannelRow.id))
    return [_channel(r) for r in db.scalars(stmt)]


def update_channel(db: Session, principal: Principal, channel_id: int, changes: dict[str, Any],
                   *, allow_private: bool, now: datetime) -> Channel:
    """Change name, type, url and/or secret (``secret: null`` generates a new one)."""
    row = _row(db, principal.workspace_id, channel_id)
    before = _channel(row).to_json()
    if "name" in changes:
        row.name = _check_name(changes["name"])
        _name_taken(db, principal.workspace_id, row.name, but=row.id)
    if "type" in changes:
        row.type = _check_type(changes["type"])
    if "url" in changes:
        row.url = _check_url(changes["url"], allow_private)
    if "secret" in changes:
        row.secret = changes["secret"] or generate_secret()
    row.updated_at = now
    db.flush()
    channel = _channel(row)
    audit.record(db, principal, action="update", object_type="channel", object_id=row.id,
                 at=now, before=before, after=channel.to_json())
    return channel


def delete_channel(db: Session, principal: Principal, channel_id: int, now: datetime) -> None:
    """Delete a channel; windows naming it skip it from now on, its routes go with it."""
    row = _row(db, principal.workspace_id, channel_id)
    before = _channel(row).to_json()
    db.delete(row)
    db.flush()
    audit.record(db, principal, action="delete", object_type="channel", object_id=channel_id,
                 at=now, before=before, after=None)


def _ref_key(ref: Any) -> tuple[str, int | str]:
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ("id", ref)
    text = str(ref)
    return ("id", int(text)) if text.isascii() and text.isdigit() else ("name", text)


def _lookup(db: Session, workspace_id: int, refs: Sequence[Any]
            ) -> dict[tuple[str, int | str], ChannelRow]:
    if not refs:
        return {}
    rows = db.scalars(select(ChannelRow).where(ChannelRow.workspace_id == workspace_id))
    found: dict[tuple[str, int | str], ChannelRow] = {}
    for row in rows:
        found[("id", row.id)] = row
        found[("name", row.name)] = row
    return found


def check_channel_refs(db: Session, workspace_id: int, refs: Iterable[Any]) -> None:
    """Raise ``ValidationError`` on ``notify_channels[i]`` naming no channel of the workspace."""
    wanted = list(refs)
    known = _lookup(db, workspace_id, wanted)
    for i, ref in enumerate(wanted):
        if _ref_key(ref) not in known:
            raise ValidationError(f"no channel {ref!r}; create it with POST /api/v1/channels "
                                  "and name it by id or name", field=f"notify_channels[{i}]")


def resolve_channels(db: Session, workspace_id: int, refs: Iterable[Any]) -> list[Channel]:
    """The channels ``refs`` name today, each once, in the order named; unknown refs skipped."""
    wanted = list(refs)
    known = _lookup(db, workspace_id, wanted)
    out: dict[int, Channel] = {}
    for ref in wanted:
        row = known.get(_ref_key(ref))
        if row is not None and row.id not in out:
            out[row.id] = _channel(row)
    return list(out.values())
