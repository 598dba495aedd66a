"""Target groups: named sets of targets whose membership is read at decision time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.records import Principal
from quietly.services import audit, scopes
from quietly.services.serialize import managed_by
from quietly.services.windows import TARGET
from quietly.storage.db import publish
from quietly.storage.tables import GroupRow, WindowRow

__all__ = ["Group", "GroupChanged", "create_group", "delete_group", "get_group",
           "list_groups", "load_all_groups", "put_group"]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")
NAME_RULE = ("use letters, digits, '_', '.', ':' and '-' (at most 200), starting with a "
             "letter or digit")


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    description: str | None
    targets: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    # Maintenance as code: a managed group's key is its name (windows name groups by it).
    key: str | None = None
    managed_source: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "description": self.description,
                "targets": list(self.targets), "key": self.key,
                "managed_by": managed_by(self.managed_source, self.key)}


@dataclass(frozen=True, slots=True)
class GroupChanged:
    """Published after a commit that changed a group's members (``None``: it was deleted)."""

    workspace_id: int
    name: str
    targets: frozenset[str] | None


def _group(row: GroupRow) -> Group:
    return Group(row.name, row.description, tuple(row.targets), row.created_at, row.updated_at,
                 row.key, row.managed_source)


def _check(name: str, targets: list[str]) -> list[str]:
    if not NAME.match(name):
        raise ValidationError(NAME_RULE, field="name")
    for i, target in enumerate(targets):
        if not TARGET.match(target):
            raise ValidationError(f"{target!r} is not a target; write kind:id",
                                  field=f"targets[{i}]")
    return sorted(set(targets))


def _row(db: Session, principal: Principal, name: str) -> GroupRow | None:
    return db.scalar(select(GroupRow).where(GroupRow.workspace_id == principal.workspace_id,
                                            GroupRow.name == name))


def create_group(db: Session, principal: Principal, *, name: str, targets: list[str],
                 description: str | None, now: datetime,
                 managed_source: str | None = None) -> Group:
    """Create a group; ``managed_source`` marks it as managed by that apply source."""
    scopes.check_group_change(principal, name)
    members = _check(name, targets)
    if _row(db, principal, name) is not None:
        raise Conflict(f"a group named {name!r} already exists; PUT replaces its members",
                       field="name")
    row = GroupRow(workspace_id=principal.workspace_id, name=name, description=description,
                   targets=members, created_at=now, updated_at=now,
                   key=name if managed_source else None, managed_source=managed_source)
    db.add(row)
    db.flush()
    publish(db, GroupChanged(principal.workspace_id, name, frozenset(members)))
    audit.record(db, principal, action="create", object_type="group", object_id=name, at=now,
                 before=None, after=_group(row).to_json())
    return _group(row)


def put_group(db: Session, principal: Principal, *, name: str, targets: list[str],
              description: str | None, now: datetime) -> tuple[Group, bool]:
    """Replace a group's members (creating it if needed); returns (group, created)."""
    scopes.check_group_change(principal, name)
    row = _row(db, principal, name)
    if row is None:
        return create_group(db, principal, name=name, targets=targets,
                            description=description, now=now), True
    members = _check(name, targets)
    before = _group(row).to_json()
    row.targets = members
    row.description = description
    row.updated_at = now
    db.flush()
    publish(db, GroupChanged(principal.workspace_id, name, frozenset(members)))
    audit.record(db, principal, action="update", object_type="group", object_id=name, at=now,
                 before=before, after=_group(row).to_json())
    return _group(row), False


def get_group(db: Session, principal: Principal, name: str) -> Group:
    row = _row(db, principal, name)
    if row is None:
        raise NotFound(f"no group named {name!r}", field="name")
    return _group(row)


def list_groups(db: Session, principal: Principal) -> list[Group]:
    stmt = (select(GroupRow).where(GroupRow.workspace_id == principal.workspace_id)
            .order_by(GroupRow.name))
    return [_group(r) for r in db.scalars(stmt)]


def delete_group(db: Session, principal: Principal, name: str, now: datetime) -> None:
    """Delete a group no live window names (a window would silently lose its scope)."""
    scopes.check_group_change(principal, name)
    row = _row(db, principal, name)
    if row is None:
        raise NotFound(f"no group named {name!r}", field="name")
    users = [w.id for w in db.scalars(
        select(WindowRow).where(WindowRow.workspace_id == principal.workspace_id,
                                WindowRow.archived_at.is_(None)))
             if name in w.groups]
    if users:
        raise Conflict(f"group {name!r} is used by window(s) {users[:10]}; remove it from "
                       "them first", field="name")
    before = _group(row).to_json()
    db.delete(row)
    db.flush()
    publish(db, GroupChanged(principal.workspace_id, name, None))
    audit.record(db, principal, action="delete", object_type="group", object_id=name, at=now,
                 before=before, after=None)


def load_all_groups(db: Session, workspace_id: int | None = None
                    ) -> dict[int, dict[str, frozenset[str]]]:
    """workspace id → group name → members, for building the decision index."""
    out: dict[int, dict[str, frozenset[str]]] = {}
    stmt = select(GroupRow)
    if workspace_id is not None:
        stmt = stmt.where(GroupRow.workspace_id == workspace_id)
    for row in db.scalars(stmt):
        out.setdefault(row.workspace_id, {})[row.name] = frozenset(row.targets)
    return out
