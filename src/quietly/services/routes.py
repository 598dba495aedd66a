"""Routes: where quietly forwards the alerts it lets through (downstream webhooks).

A route sends to one channel the alerts that concern one of its ``targets`` (none: any
target) and match one of its condition groups (none: any labels). Forwarding goes through the
outbox in the ingesting transaction, keyed ``(alert, route, revision)``, so a retried batch
never forwards twice. Alerts a ``reroute`` window holds go instead to that window's
``escalation_targets``, each naming a channel (id or name) or a route (by name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, select
from sqlalchemy.orm import Session

from quietly.core.codec import format_instant, match_from_json, match_to_json
from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.matching import CompiledGroup, compile_groups, matches_labels, validate_match
from quietly.core.model import ConditionGroup
from quietly.core.records import Principal
from quietly.services import audit
from quietly.services.channels import resolve_channels
from quietly.services.outbox import Message, enqueue_many
from quietly.storage.tables import AlertRow, RouteRow, WindowRow

__all__ = ["Route", "create_route", "delete_route", "forward_alerts", "get_route",
           "list_routes", "matching_routes", "to_routes", "update_route"]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Route:
    id: int
    name: str
    channel_id: int
    targets: tuple[str, ...]
    match: tuple[ConditionGroup, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "channel_id": self.channel_id,
                "targets": list(self.targets), "match": match_to_json(self.match)}

    def matches(self, targets: Iterable[str], labels: dict[str, str]) -> bool:
        if self.targets and not set(self.targets) & set(targets):
            return False
        return not self.match or matches_labels(compile_groups(self.match), labels)


def _route(row: RouteRow) -> Route:
    return Route(row.id, row.name, row.channel_id, tuple(row.targets),
                 match_from_json(row.match))


def _row(db: Session, workspace_id: int, route_id: int) -> RouteRow:
    row = db.scalar(select(RouteRow).where(RouteRow.workspace_id == workspace_id,
                                           RouteRow.id == route_id))
    if row is None:
        raise NotFound(f"no route with id {route_id}", field="id")
    return row


def _channel_id(db: Session, workspace_id: int, ref: Any) -> int:
    found = resolve_channels(db, workspace_id, [ref])
    if not found:
        raise ValidationError(f"no channel {ref!r}", field="channel")
    return found[0].id


def _check(db: Session, principal: Principal, name: str, match: Sequence[ConditionGroup],
           but: int | None = None) -> None:
    if not NAME.match(name):
        raise ValidationError("use letters, digits, spaces, '_', '.', ':' and '-' (at most "
                              "200), starting with a letter or digit", field="name")
    validate_match(match)
    found = db.scalar(select(RouteRow.id).where(RouteRow.workspace_id == principal.workspace_id,
                                                RouteRow.name == name))
    if found is not None and found != but:
        raise Conflict(f"a route named {name!r} already exists", field="name")


def create_route(db: Session, principal: Principal, *, name: str, channel: Any,
                 targets: Sequence[str], match: Sequence[ConditionGroup],
                 now: datetime) -> Route:
    _check(db, principal, name, match)
    row = RouteRow(workspace_id=principal.workspace_id, name=name,
                   channel_id=_channel_id(db, principal.workspace_id, channel),
                   targets=sorted(set(targets)), match=match_to_json(tuple(match)),
                   created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    route = _route(row)
    audit.record(db, principal, action="create", object_type="route", object_id=row.id,
                 at=now, before=None, after=route.to_json())
    return route


def get_route(db: Session, principal: Principal, route_id: int) -> Route:
    return _route(_row(db, principal.workspace_id, route_id))


def list_routes(db: Session, principal: Principal) -> list[Route]:
    return [_route(r) for r in db.scalars(
        select(RouteRow).where(RouteRow.workspace_id == principal.workspace_id)
        .order_by(RouteRow.id))]


def update_route(db: Session, principal: Principal, route_id: int, changes: dict[str, Any],
                 now: datetime) -> Route:
    """Change ``name``, ``channel``, ``targets`` and/or ``match`` (domain condition groups)."""
    row = _row(db, principal.workspace_id, route_id)
    before = _route(row).to_json()
    name = changes.get("name", row.name)
    match = changes.get("match", match_from_json(row.match))
    _check(db, principal, name, match, but=row.id)
    row.name = name
    row.match = match_to_json(tuple(match))
    if "channel" in changes:
        row.channel_id = _channel_id(db, principal.workspace_id, changes["channel"])
    if "targets" in changes:
        row.targets = sorted(set(changes["targets"]))
    row.updated_at = now
    db.flush()
    route = _route(row)
    audit.record(db, principal, action="update", object_type="route", object_id=row.id,
                 at=now, before=before, after=route.to_json())
    return route


def delete_route(db: Session, principal: Principal, route_id: int, now: datetime) -> None:
    row = _row(db, principal.workspace_id, route_id)
    before = _route(row).to_json()
    db.delete(row)
    db.flush()
    audit.record(db, principal, action="delete", object_type="route", object_id=route_id,
                 at=now, before=before, after=None)


def matching_routes(db: Session, workspace_id: int, targets: Iterable[str],
                    labels: dict[str, str]) -> list[Route]:
    rows = db.scalars(select(RouteRow).where(RouteRow.workspace_id == workspace_id)
                      .order_by(RouteRow.id))
    wanted = list(targets)
    return [r for r in map(_route, rows) if r.matches(wanted, labels)]


def route_test(db: Session, workspace_id: int) -> Callable[[Sequence[str], dict[str, str]],
                                                              bool]:
    """``test(targets, labels)``: would any of the workspace's routes forward such an alert?
    The routes are read and compiled once, for a whole batch."""
    compiled = [(frozenset(r.targets), compile_groups(r.match)) for r in map(_route, db.scalars(
        select(RouteRow).where(RouteRow.workspace_id == workspace_id)))]

    def test(targets: Sequence[str], labels: dict[str, str]) -> bool:
        given = set(targets)
        return any((not wanted or wanted & given) and (not groups or matches_labels(groups,
                                                                                    labels))
                   for wanted, groups in compiled)

    return test


def alert_to_json(row: AlertRow) -> dict[str, Any]:
    def instant(v: datetime | None) -> str | None:
        return format_instant(v) if v else None
    return {"id": row.id, "fingerprint": row.fingerprint, "status": row.status,
            "targets": list(row.targets), "labels": dict(row.labels),
            "annotations": dict(row.annotations), "starts_at": instant(row.starts_at),
            "ends_at": instant(row.ends_at), "verdict": row.verdict,
            "revision": row.revision, "windows": list(row.held_by)}


def _labels(row: AlertRow) -> dict[str, str]:
    return {str(k): str(v) for k, v in (row.labels or {}).items()}


def _alert_message(row: AlertRow, reason: str, now: datetime, key: str,
                   route_id: int | None = None, window_id: int | None = None) -> Message:
    return Message(workspace_id=row.workspace_id, kind="alert.forwarded", key=key,
                   due_at=now, alert_id=row.id, route_id=route_id, window_id=window_id,
                   body={"at": format_instant(now), "workspace_id": row.workspace_id,
                         "reason": reason, "alert": alert_to_json(row), "window": None,
                         "occurrence": None, "message": None})


class _Forwarder:
    """Routes and escalation targets of one workspace, read and compiled once per batch."""

    def __init__(self, db: Session, workspace_id: int) -> None:
        self._db = db
        self._workspace_id = workspace_id
        self._routes: list[tuple[Route, list[CompiledGroup]]] | None = None
        self._escalations: dict[int, tuple[int, ...]] = {}

    def _compiled_routes(self) -> list[tuple[Route, list[CompiledGroup]]]:
        if self._routes is None:
            self._routes = [(r, compile_groups(r.match)) for r in map(_route, self._db.scalars(
                select(RouteRow).where(RouteRow.workspace_id == self._workspace_id)
                .order_by(RouteRow.id)))]
        return self._routes

    def has_routes(self) -> bool:
        return bool(self._compiled_routes())

    def routes_for(self, row: AlertRow) -> list[Route]:
        targets, labels = set(row.targets), _labels(row)
        return [route for route, groups in self._compiled_routes()
                if (not route.targets or set(route.targets) & targets)
                and (not groups or matches_labels(groups, labels))]

    def escalation_channels(self, window_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
        """window id → channel ids its escalation targets name."""
        missing = [w for w in window_ids if w not in self._escalations]
        if missing:
            for window in self._db.scalars(select(WindowRow).where(
                    WindowRow.workspace_id == self._workspace_id, WindowRow.id.in_(missing))):
                self._escalations[window.id] = tuple(_escalation_channels(
                    self._db, self._workspace_id, window.escalation_targets))
        return {w: self._escalations.get(w, ()) for w in window_ids}

    def messages(self, row: AlertRow, now: datetime, reason: str,
                 window_id: int | None = None) -> list[tuple[Message, int]]:
        """What one alert revision sends: to routes if delivered, to escalation if rerouted."""
        if row.delivery == "delivered":
            return [(_alert_message(row, reason, now, f"a{row.id}:r{r.id}:v{row.revision}",
                                    r.id, window_id), r.channel_id)
                    for r in self.routes_for(row)]
        if row.verdict != "reroute":
            return []
        out = []
        for held_by, channel_ids in self.escalation_channels(
                [int(w) for w in row.held_by]).items():
            out += [(_alert_message(row, "reroute", now, f"a{row.id}:x{c}:v{row.revision}",
                                    window_id=held_by), c) for c in channel_ids]
        return out


def to_routes(db: Session, row: AlertRow, reason: str, now: datetime,
              window_id: int | None = None) -> int:
    """Queue the alert's current revision for every matching route (it must be delivered)."""
    items = _Forwarder(db, row.workspace_id).messages(row, now, reason, window_id)
    return enqueue_many(db, items, now, per_channel=False)


def _escalation_channels(db: Session, workspace_id: int, refs: Iterable[str]) -> list[int]:
    """Channel ids named by escalation targets: a channel id or name, or a route's name."""
    out: dict[int, None] = {}
    for ref in refs:
        found = resolve_channels(db, workspace_id, [ref])
        if found:
            out[found[0].id] = None
            continue
        route = db.scalar(select(RouteRow).where(RouteRow.workspace_id == workspace_id,
                                                 RouteRow.name == ref))
        if route is not None:
            out[route.channel_id] = None
    return list(out)


def forward_alerts(db: Session, workspace_id: int,
                   revisions: Sequence[tuple[int, int]]) -> int:
    """Forward ``(alert id, revision)`` pairs of one ingest batch in the ingesting
    transaction: route delivered alerts, escalate rerouted ones (outbox messages).

    A pair whose alert has moved on to a later revision in this transaction, or belongs to
    another workspace, is skipped. Returns how many messages were new.
    """
    wanted = dict(revisions)
    if not wanted:
        return 0
    forwarder = _Forwarder(db, workspace_id)
    # Without routes only rerouted alerts send anything: read just those.
    only = () if forwarder.has_routes() else (AlertRow.delivery != "delivered",
                                              AlertRow.verdict == "reroute")
    current = [row for row in _alert_rows(db, workspace_id, sorted(wanted), *only)
               if row.revision == wanted[row.id]]
    if not current:
        return 0
    now = max(row.updated_at for row in current)  # the ingest's instant
    items = [item for row in current for item in forwarder.messages(row, now, "delivered")]
    return enqueue_many(db, items, now, per_channel=False)


def _alert_rows(db: Session, workspace_id: int, ids: list[int],
                *only: ColumnElement[bool]) -> list[AlertRow]:
    """The workspace's alerts with these ids (and conditions), by id, freshly read."""
    stmt = (select(AlertRow).where(AlertRow.workspace_id == workspace_id, *only)
            .order_by(AlertRow.id).execution_options(populate_existing=True))
    if db.get_bind().dialect.name == "postgresql":  # one array: the same statement every time
        from sqlalchemy.dialects.postgresql import ARRAY

        param = bindparam("ids", ids, type_=ARRAY(BigInteger()))
        return list(db.scalars(stmt.where(AlertRow.id == any_(param))))
    rows: list[AlertRow] = []
    for start in range(0, len(ids), 1000):
        rows += db.scalars(stmt.where(AlertRow.id.in_(ids[start:start + 1000])))
    return rows
