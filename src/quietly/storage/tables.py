"""The tables, as typed SQLAlchemy 2 declarative classes.

These are storage rows, not domain objects: ``storage.mappers`` converts between the two.
Instants are ``UTCDateTime``; JSON columns hold the native wire shapes (schedules, matchers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from quietly.storage.types import UTCDateTime

__all__ = [
    "PARTIAL_INDEXES",
    "AlertRow",
    "AlertTargetRow",
    "AlertWindowRow",
    "ApiKeyRow",
    "AuditRow",
    "Base",
    "CalendarFeedRow",
    "ChangeRow",
    "ChannelRow",
    "DeliveryAttemptRow",
    "GroupRow",
    "IdempotencyRow",
    "OutboxRow",
    "RouteRow",
    "SyncObjectRow",
    "SyncRow",
    "UserRow",
    "UserSessionRow",
    "WebSessionRow",
    "WindowJobRow",
    "WindowRow",
    "WindowTargetRow",
    "WorkerTaskRow",
    "WorkspaceRow",
    "with_postgresql_where",
]

# Every partial index (``_partial``): its WHERE is declared for SQLite, and for PostgreSQL
# once that is in use (``with_postgresql_where``).
PARTIAL_INDEXES: list[Index] = []


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index on the rows where ``where`` holds, on both databases. Only SQLite's half is
    declared here: naming a PostgreSQL option imports SQLAlchemy's PostgreSQL dialect to
    check it, ~40 ms of a SQLite server's start (issue 19); ``with_postgresql_where`` adds
    it where PostgreSQL is used (its engine, the migrations' metadata)."""
    index = Index(name, *columns, unique=unique, sqlite_where=text(where))
    PARTIAL_INDEXES.append(index)
    return index


def with_postgresql_where() -> None:
    """Give every partial index its PostgreSQL WHERE, the same as SQLite's (idempotent)."""
    for index in PARTIAL_INDEXES:
        index.dialect_options["postgresql"]["where"] = index.dialect_options["sqlite"]["where"]


# BigInteger ids on PostgreSQL, but SQLite only autoincrements "INTEGER PRIMARY KEY".
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class WorkspaceRow(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = (  # two live keys of a workspace never share a name (migration 0006)
        _partial("ux_api_keys_live_name", "workspace_id", "name", where="revoked_at IS NULL",
                 unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # The first characters of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Target patterns the key may change windows of; empty: unrestricted (migration 0011).
    scope: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    expires_at: Mapped[datetime | None]


class WindowRow(Base):
    __tablename__ = "windows"
    __table_args__ = (
        Index("ix_windows_ws_state", "workspace_id", "archived_at", "cancelled_at"),
        # Only generated windows have a parent (migration 0012).
        _partial("ix_windows_parent", "parent_id", where="parent_id IS NOT NULL"),
        # A key names one live window per workspace (an archived one frees it).
        _partial("uq_windows_ws_key", "workspace_id", "key",
                 where="key IS NOT NULL AND archived_at IS NULL", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[dict[str, Any]]
    targets: Mapped[list[Any]]
    groups: Mapped[list[Any]]
    match: Mapped[list[Any]]
    all_targets: Mapped[bool] = mapped_column(Boolean, default=False)
    effects: Mapped[list[Any]]
    notify_channels: Mapped[list[Any]]
    notify_start_minutes_before: Mapped[int | None]
    notify_end_minutes_before: Mapped[int | None]
    notification_message: Mapped[str | None] = mapped_column(Text)
    resolve_on_end: Mapped[bool] = mapped_column(Boolean, default=False)
    reroute_on_end: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_targets: Mapped[list[Any]]
    incident_id: Mapped[str | None] = mapped_column(String(200))
    lead: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    publish_to_status_page: Mapped[bool] = mapped_column(Boolean, default=False)
    show_in_sidebar: Mapped[bool] = mapped_column(Boolean, default=True)
    # Which API created the window (native, pagertree, ionhour, …) and that vendor's extra
    # fields that have no native meaning, so a vendor API can answer with what it was given.
    origin: Mapped[str] = mapped_column(String(32), default="native")
    vendor: Mapped[dict[str, Any]]
    # A window generated from another one (Oh Dear's periods of a recurring definition).
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("windows.id", ondelete="SET NULL")
    )
    # Maintenance as code (``services.apply``): the key files name it by, and the source
    # whose apply manages it; both None for windows made by hand.
    key: Mapped[str | None] = mapped_column(String(200))
    managed_source: Mapped[str | None] = mapped_column(String(100))
    # The stored state serves listing and transition events; decisions never read it.
    state: Mapped[str] = mapped_column(String(16))
    first_start: Mapped[datetime | None]
    last_end: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]


class WindowTargetRow(Base):
    """One row per target a window names, for the ``target`` filter and per-target lookups.

    On SQLite a ``WITHOUT ROWID`` table (migration 0013): the rows live in the primary key's
    b-tree itself, instead of a rowid table plus an index of the same columns beside it.
    """

    __tablename__ = "window_targets"
    __table_args__ = (Index("ix_window_targets_ws_target", "workspace_id", "target"),
                      {"sqlite_with_rowid": False})

    window_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("windows.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(300), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)


class GroupRow(Base):
    __tablename__ = "target_groups"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        _partial("uq_target_groups_ws_key", "workspace_id", "key", where="key IS NOT NULL",
                 unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    targets: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    key: Mapped[str | None] = mapped_column(String(200))
    managed_source: Mapped[str | None] = mapped_column(String(100))


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_ws_id", "workspace_id", "id"),
        # Window creates whose entry reads the window from its row (migration 0012).
        _partial("ix_audit_create_ref", "object_id", where="after IS NULL AND action = 'create'"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlertRow(Base):
    """An ingested alert, one row per (workspace, fingerprint); a repeat updates it.

    ``delivery`` is ``held`` (a window holds it; ``held_by`` and ``alert_windows`` name the
    windows) or ``delivered`` (queued for the workspace's routes). Dropped alerts are never
    stored. ``revision`` counts the updates, so a consumer can tell versions apart.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "fingerprint", name="uq_alerts_ws_fingerprint"),
        Index("ix_alerts_ws_delivery", "workspace_id", "delivery", "id"),
        Index("ix_alerts_ws_status", "workspace_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    targets: Mapped[list[Any]]
    labels: Mapped[dict[str, Any]]
    annotations: Mapped[dict[str, Any]]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    verdict: Mapped[str] = mapped_column(String(32))
    delivery: Mapped[str] = mapped_column(String(16))
    held_by: Mapped[list[Any]]
    revision: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AlertWindowRow(Base):
    """Which windows hold an alert (its latest revision): ``resolve_on_end`` reads this."""

    __tablename__ = "alert_windows"
    __table_args__ = (Index("ix_alert_windows_window", "window_id"),)

    alert_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    window_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)


class AlertTargetRow(Base):
    """One row per target of an alert, for the ``target`` filter of the alert list."""

    __tablename__ = "alert_targets"
    __table_args__ = (Index("ix_alert_targets_ws_target", "workspace_id", "target"),)

    alert_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(300), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Integer)


# --- worker, outbox, channels and routes (issue 4) ---------------------------------------


class ChannelRow(Base):
    """A notification destination: a webhook (quietly JSON, signed) or a Slack webhook URL."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_channels_ws_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RouteRow(Base):
    """Where delivered alerts go: a channel, for the alerts matching its targets/conditions."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_routes_ws_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    targets: Mapped[list[Any]]
    match: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxRow(Base):
    """One message to one channel, written in the transaction of the change that caused it.

    ``dedupe_key`` is unique: (window, occurrence, event, channel) or (alert, route, revision),
    so neither a second worker nor a restart can enqueue a message twice. ``event_id`` is the
    ``webhook-id`` receivers dedupe on; it never changes across retries.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_ws_window", "workspace_id", "window_id", "id"),
        Index("ix_outbox_ws_channel", "workspace_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    channel_id: Mapped[int | None] = mapped_column(Integer)
    route_id: Mapped[int | None] = mapped_column(Integer)
    window_id: Mapped[int | None] = mapped_column(BigId)
    alert_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_outbox", "outbox_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(64))


class WindowJobRow(Base):
    """The worker's bookmark per window: events before ``done_until`` are handled.

    ``next_due_at`` is the next instant something happens (an event or a state change), or
    NULL when nothing will; workers claim rows with ``next_due_at <= now``.
    """

    __tablename__ = "window_jobs"
    __table_args__ = (Index("ix_window_jobs_due", "next_due_at"),)

    window_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("windows.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(Integer)
    done_until: Mapped[datetime]
    next_due_at: Mapped[datetime | None]


# --- web UI sessions and calendar feeds (issue 7) -----------------------------------------


class WebSessionRow(Base):
    """A browser session opened by signing in with an API key; only the token's hash is kept.

    The session acts with its key's role; revoking the key (or deleting it) ends the session.
    ``csrf_token`` is bound to the session and must come back with every form.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CalendarFeedRow(Base):
    """The secret a workspace's iCalendar feed URLs are derived from; rotating replaces it."""

    __tablename__ = "calendar_feeds"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    rotated_at: Mapped[datetime]


class WorkerTaskRow(Base):
    """When each periodic worker task last ran; claimed with one conditional UPDATE."""

    __tablename__ = "worker_tasks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime]


# --- people signed in with OpenID Connect or through a trusted proxy (issue 15) ------------


class UserRow(Base):
    """A person known from an identity provider: ``(issuer, subject)`` names them for good.

    ``issuer`` is the OpenID provider's issuer URL, or ``proxy`` for identities a trusted
    reverse proxy asserted. Email and name are refreshed at every sign-in.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime]


class UserSessionRow(Base):
    """A browser session of a person; only the token's hash is kept (like ``web_sessions``).

    The workspace and role are those the provider's claims mapped to at sign-in; the ID token
    is kept only to name the session to the provider's end-session endpoint at sign-out.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    id_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SyncRow(Base):
    """A sync target: another system (an Alertmanager cluster) whose silences quietly keeps
    equal to the workspace's windows, with the run state its reconciler keeps.

    ``change_seq`` is bumped in the transaction of every window or group change of the
    workspace; a run copies it to ``seen_seq`` when it claims the lease, so a change committed
    after the claim always leaves the row due again. ``lease_until``/``leased_by`` make one
    reconciler per sync at a time across processes (claimed with a conditional UPDATE).
    """

    __tablename__ = "syncs"
    # AUTOINCREMENT: a deleted sync's id is never given to a new one on SQLite either, so a
    # tag naming it (in silences left behind) never looks like another sync's.
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_syncs_ws_name"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    base_path: Mapped[str] = mapped_column(String(500))
    target_labels: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lead_seconds: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    allow_all_targets: Mapped[bool] = mapped_column(Boolean, default=False)
    basic_username: Mapped[str | None] = mapped_column(String(200))
    # Write-only: basic password, bearer token and extra header values (never returned).
    secrets: Mapped[dict[str, Any]]
    # Settings of one kind of system (Icinga 2: target_objects, all_services, ca_file,
    # verify_tls); empty for Alertmanager, whose settings have columns of their own.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Run state, written by the reconciler.
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    seen_seq: Mapped[int] = mapped_column(BigInteger, default=-1)
    next_run_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    errors_total: Mapped[int] = mapped_column(BigInteger, default=0)
    repairs_total: Mapped[int] = mapped_column(BigInteger, default=0)
    objects: Mapped[int] = mapped_column(Integer, default=0)
    # {"created","changed","removed","requests"} of the last run, recent repairs and the
    # windows (or parts of them) that cannot be expressed, with reasons.
    last_run: Mapped[dict[str, Any]]
    repairs: Mapped[list[Any]]
    not_expressible: Mapped[list[Any]]


class SyncObjectRow(Base):
    """An object a sync made and saw last run (its key is the tag quietly wrote into it):
    what tells a repair (an object that vanished or was changed by hand) from a change."""

    __tablename__ = "sync_objects"

    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"),
                                         primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(200))
    ends_at: Mapped[datetime]


class IdempotencyRow(Base):
    """One ``Idempotency-Key`` of one credential: the request it named and, once answered,
    the answer replayed to a retry (kept 24 h; migration 0006)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),
                      Index("ix_idempotency_keys_created", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # SHA-256 of the credential sent
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, body
    status: Mapped[int | None] = mapped_column(Integer)  # None while the first is running
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ChangeRow(Base):
    """A committed change of a window or a group, for the other ``serve`` processes sharing
    this SQLite file (``worker.feed``; migration 0014). Written in the change's transaction,
    so it exists exactly when the change does; ``payload`` is what PostgreSQL's ``NOTIFY``
    carries (``w:<workspace>:<ids>``, ``g:<workspace>:<group>``), ``origin`` the writing
    process's token (``Database.origin``: a process skips its own changes). Ids are SQLite's
    next rowid, one more than the largest: pruning (``worker.feed``) keeps the newest row, so
    they only grow and a gap means rows were pruned before a process read them. PostgreSQL
    has the table but notifies instead."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
