"""The whole of a window as users see it: what it covers, when, and how it behaves.

``core.model.Window`` is the slice the decision rules need; ``WindowRecord`` adds behaviour,
ownership and audit fields, and turns into a ``Window`` with ``to_window()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from quietly.core.construct import slot_constructor
from quietly.core.model import ConditionGroup, Effect, Schedule, Window

__all__ = ["Principal", "Role", "WindowFields", "WindowRecord"]


class Role(enum.StrEnum):
    """What a key or person may do; each role can do everything the one before it can.

    ``maintenance`` is a viewer that may also start and stop immediate maintenance (what a
    deploy pipeline needs: start, stop, check) but not create, change or delete windows.
    """

    VIEWER = "viewer"
    MAINTENANCE = "maintenance"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return _RANKS[self] >= _RANKS[needed]


_RANKS = {Role.VIEWER: 0, Role.MAINTENANCE: 1, Role.EDITOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key of one workspace with one role.

    ``scope``: the target patterns a restricted key may change windows of (empty: no
    restriction; see ``core.scopes``). ``expires_at``: when the key stops working (None: never).
    """

    workspace_id: int
    workspace_slug: str
    workspace_timezone: str
    role: Role
    key_id: int | None
    key_name: str
    scope: tuple[str, ...] = ()
    expires_at: datetime | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_name}" if self.key_id is not None else self.key_name


@dataclass(frozen=True, slots=True)
class WindowFields:
    """Everything a caller sets on a window (create, or the result of an update)."""

    name: str
    schedule: Schedule
    description: str | None = None
    targets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    match: tuple[ConditionGroup, ...] = ()
    all_targets: bool = False
    effects: tuple[Effect, ...] = (Effect.MUTE,)
    notify_channels: tuple[Any, ...] = ()
    notify_start_minutes_before: int | None = None
    notify_end_minutes_before: int | None = None
    notification_message: str | None = None
    resolve_on_end: bool = False
    reroute_on_end: bool = False
    escalation_targets: tuple[str, ...] = ()
    incident_id: str | None = None
    lead: dict[str, Any] | None = None
    publish_to_status_page: bool = False
    show_in_sidebar: bool = True
    # Which API created it, that vendor's extra fields, and the window it was generated from.
    origin: str = "native"
    vendor: dict[str, Any] = field(default_factory=dict)
    parent_id: int | None = None
    # Maintenance as code: the stable key a file names the window by, and the ``source`` of
    # the apply that manages it (both None for windows made by hand).
    key: str | None = None
    managed_source: str | None = None

    def with_changes(self, **changes: Any) -> WindowFields:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class WindowRecord:
    """A stored window."""

    id: int
    workspace_id: int
    fields: WindowFields
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    archived_at: datetime | None = None

    def to_window(self) -> Window:
        f = self.fields
        # Every field of Window, in order, by its slots (``core.construct``): the decision
        # index takes a Window of every window a bulk create or a start-up files.
        # The default effects and no groups (most windows) as one shared set each.
        effects = f.effects
        return _window(self.id, self.workspace_id, f.name, f.schedule,
                       _MUTE_ONLY if effects is _DEFAULT_EFFECTS else frozenset(effects),
                       frozenset(f.targets), frozenset(f.groups) if f.groups else _NONE,
                       f.match, f.all_targets, f.description, f.escalation_targets,
                       f.incident_id, self.created_at, self.cancelled_at, self.archived_at,
                       self.updated_at)


_DEFAULT_EFFECTS: tuple[Effect, ...] = WindowFields.__dataclass_fields__[
    "effects"].default  # type: ignore[assignment]
_MUTE_ONLY = frozenset(_DEFAULT_EFFECTS)
_NONE: frozenset[str] = frozenset()


_window = slot_constructor(Window, (
    "id", "workspace_id", "name", "schedule", "effects", "targets", "groups", "match",
    "all_targets", "description", "escalation_targets", "incident_id", "created_at",
    "cancelled_at", "archived_at", "updated_at"))
