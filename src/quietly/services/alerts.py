"""Alert ingestion: decide every alert of a batch, then store what is not dropped, in bulk.

Per alert, the decision at the instant of ingestion (not its ``starts_at``: the question is
whether to notify *now*):

- ``drop``: not stored, only counted (a window said to ignore it entirely);
- ``mute``, ``suppress_incident``, ``reroute``, ``attach``: stored as ``held``, with the windows
  that hold it (``alerts.held_by`` and the ``alert_windows`` join table, which #4's
  ``resolve_on_end``/``reroute_on_end`` read);
- ``deliver``: stored as ``delivered`` and handed to ``enqueue_alert_for_routes`` — or as
  ``unrouted`` when no route of the workspace takes it: nothing is sent, and saying
  "delivered" would hide that (counted in ``quietly_alerts_unrouted_total``).

An alert is identified by its fingerprint: given, or computed the way Alertmanager does it
(``fingerprint``). A repeat of a fingerprint updates the stored alert and bumps ``revision``;
within one batch the last alert with a fingerprint wins (one update, not one per copy). A
repeat that is now dropped leaves the stored alert as it was.

Writes are one upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, SQLite ≥ 3.35 and
PostgreSQL alike) plus bulk inserts for the join tables: a 1,000-alert batch is a handful of
statements. On SQLite they are executemany batches (SQLAlchemy's insertmanyvalues); on
PostgreSQL each is one small statement reading the rows from one JSON parameter
(``storage.bulk.insert_from_json``), whose text does not grow with the batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from quietly.core.model import Alert, Decision, Verdict
from quietly.metrics import ALERTS_INGESTED, ALERTS_UNROUTED
from quietly.services import routes
from quietly.services.audit import decode_cursor, encode_cursor
from quietly.services.decisions import DecisionService
from quietly.services.routes import route_test
from quietly.storage.bulk import insert_from_json, json_rows
from quietly.storage.tables import AlertRow, AlertTargetRow, AlertWindowRow

__all__ = [
    "AlertFilter",
    "AlertInput",
    "IngestResult",
    "Outcome",
    "StoredAlert",
    "count_unrouted",
    "decide_alerts",
    "enqueue_alert_for_routes",
    "enqueue_alerts_for_routes",
    "fingerprint",
    "held_by_window",
    "list_alerts",
    "store_alerts",
]

HELD = "held"
DELIVERED = "delivered"
UNROUTED = "unrouted"
DROPPED = "dropped"
OUTCOMES = (HELD, DELIVERED, UNROUTED, DROPPED)
# Alertmanager's label-set hash: FNV-1a 64 over "name\xffvalue\xff" in label-name order.
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_SEP = b"\xff"


def _fnv1a(data: bytes, h: int = _FNV_OFFSET) -> int:
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def fingerprint(labels: dict[str, str], targets: Sequence[str] = ()) -> str:
    """The stable 16-hex-digit fingerprint of an alert, as Alertmanager computes it.

    Without targets this is exactly Alertmanager's ``LabelSet.Fingerprint()`` (so an alert
    that came through its webhook keeps the identity Alertmanager shows); targets, sorted and
    de-duplicated, are hashed after the labels behind a 0x00 separator, which no label name
    can contain. Order of labels or targets never matters.
    """
    h = _FNV_OFFSET
    for name in sorted(labels):
        h = _fnv1a(name.encode() + _SEP + labels[name].encode() + _SEP, h)
    for target in sorted(set(targets)):
        h = _fnv1a(b"\x00" + target.encode() + _SEP, h)
    return f"{h:016x}"


@dataclass(frozen=True, slots=True)
class AlertInput:
    """One alert as a caller sends it (already validated at the API boundary)."""

    status: str = "firing"
    targets: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str | None = None

    def key(self) -> str:
        return self.fingerprint or fingerprint(self.labels, self.targets)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one alert: its verdict, the windows, and where it is stored."""

    fingerprint: str
    verdict: Verdict
    windows: tuple[int, ...]
    delivery: str  # held | delivered | unrouted | dropped
    id: int | None = None
    revision: int | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcomes: list[Outcome]
    counts: dict[str, int]  # held / delivered / unrouted / dropped
    forwarded: int  # outbox messages queued for routes / escalation targets


def decide_alerts(decisions: DecisionService, workspace_id: int,
                  alerts: Sequence[AlertInput], at: datetime) -> list[Decision]:
    """Every alert's decision at ``at``, from memory (no database)."""
    return decisions.decide_many(
        workspace_id, [Alert(targets=a.targets, labels=a.labels) for a in alerts], at)


def _delivery(verdict: Verdict) -> str:
    if verdict is Verdict.DROP:
        return DROPPED
    return DELIVERED if verdict is Verdict.DELIVER else HELD


def store_alerts(db: Session, workspace_id: int, alerts: Sequence[AlertInput],
                 decisions: Sequence[Decision], now: datetime) -> IngestResult:
    """Store the alerts that were not dropped (one upsert per batch) and queue delivered ones.

    ``decisions[i]`` is the decision for ``alerts[i]``. Returns one outcome per input alert,
    in input order; copies of a fingerprint in one batch share the stored row.
    """
    keys = [a.key() for a in alerts]
    latest: dict[str, int] = {}
    for i, key in enumerate(keys):
        if decisions[i].verdict is not Verdict.DROP:
            latest[key] = i  # the last copy of a fingerprint wins
    rows = [_row(workspace_id, keys[i], alerts[i], decisions[i], now) for i in latest.values()]
    routed = _route_test(db, workspace_id, decisions)
    for row in rows:
        if row["delivery"] == DELIVERED and not routed(row["targets"], row["labels"]):
            row["delivery"] = UNROUTED
    stored = _upsert(db, rows)
    _write_links(db, workspace_id, rows, stored)
    forwarded = enqueue_alerts_for_routes(
        db, workspace_id, [stored[row["fingerprint"]] for row in rows if _forwardable(row)])
    outcomes = []
    for key, alert, decision in zip(keys, alerts, decisions, strict=True):
        delivery = _delivery(decision.verdict)
        if delivery == DELIVERED and not routed(alert.targets, alert.labels):
            delivery = UNROUTED
        alert_id, revision = (None, None) if delivery == DROPPED else stored[key]
        outcomes.append(Outcome(key, decision.verdict, decision.windows, delivery, alert_id,
                                revision))
    counts = Counter(o.delivery for o in outcomes)
    for outcome in OUTCOMES:
        if counts[outcome]:
            ALERTS_INGESTED.labels(outcome).inc(counts[outcome])
    if counts[UNROUTED]:
        ALERTS_UNROUTED.inc(counts[UNROUTED])
    return IngestResult(outcomes, {k: counts[k] for k in OUTCOMES}, forwarded)


def _route_test(db: Session, workspace_id: int,
                decisions: Sequence[Decision]) -> Callable[[Sequence[str], dict[str, str]], bool]:
    """Whether a route takes an alert to deliver; routes are read only if one is to deliver.

    An alert to deliver that no route takes is stored as ``unrouted``: nothing is sent.
    """
    if any(d.verdict is Verdict.DELIVER for d in decisions):
        return route_test(db, workspace_id)
    return lambda _targets, _labels: True


def _forwardable(row: dict[str, Any]) -> bool:
    """Delivered alerts go to the routes; rerouted ones to their windows' escalation targets."""
    return bool(row["delivery"] == DELIVERED or row["verdict"] == Verdict.REROUTE.value)


def _row(workspace_id: int, key: str, alert: AlertInput, decision: Decision,
         now: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id, "fingerprint": key, "status": alert.status,
        "targets": list(alert.targets), "labels": alert.labels,
        "annotations": alert.annotations, "starts_at": alert.starts_at,
        "ends_at": alert.ends_at, "verdict": decision.verdict.value,
        "delivery": _delivery(decision.verdict), "held_by": list(decision.windows),
        "revision": 1, "received_at": now, "updated_at": now,
    }


_UPDATED = ("status", "targets", "labels", "annotations", "starts_at", "ends_at", "verdict",
            "delivery", "held_by", "updated_at")


def _table(row_class: type[Any]) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


def _upsert(db: Session, rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Insert or update every row; ``fingerprint -> (id, revision)`` as stored now.

    ``rows`` must not repeat a fingerprint (one statement cannot update a row twice).
    """
    if not rows:
        return {}
    table = _table(AlertRow)
    conn = db.connection()
    stmt: Any
    params: Any
    if conn.dialect.name == "postgresql":
        stmt, params = insert_from_json(table, list(rows[0])), json_rows(table, rows)
    else:  # one statement per batch of rows (insertmanyvalues)
        stmt, params = sqlite.insert(table), rows
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "fingerprint"],
        set_={**{name: stmt.excluded[name] for name in _UPDATED},
              "revision": table.c.revision + 1})
    # RETURNING a row for every row, inserted or updated.
    result = conn.execute(stmt.returning(table.c.fingerprint, table.c.id, table.c.revision),
                          params)
    return {fp: (alert_id, revision) for fp, alert_id, revision in result}


def _write_links(db: Session, workspace_id: int, rows: list[dict[str, Any]],
                 stored: dict[str, tuple[int, int]]) -> None:
    """Rewrite the holding windows and targets of every stored alert (new ones: insert only)."""
    updated = [stored[r["fingerprint"]][0] for r in rows if stored[r["fingerprint"]][1] > 1]
    conn = db.connection()
    for link in (AlertWindowRow, AlertTargetRow):
        _delete_links(conn, _table(link), updated)
    _insert_links(conn, _table(AlertWindowRow), [
        {"alert_id": stored[r["fingerprint"]][0], "window_id": wid, "workspace_id": workspace_id}
        for r in rows for wid in r["held_by"]])
    _insert_links(conn, _table(AlertTargetRow), [
        {"alert_id": stored[r["fingerprint"]][0], "target": t, "workspace_id": workspace_id}
        for r in rows for t in dict.fromkeys(r["targets"])])


def _delete_links(conn: Connection, table: Table, alert_ids: list[int]) -> None:
    if not alert_ids:
        return
    if conn.dialect.name == "postgresql":  # one array parameter, one constant statement
        from sqlalchemy.dialects.postgresql import ARRAY

        ids = bindparam("ids", alert_ids, type_=ARRAY(BigInteger()))
        conn.execute(delete(table).where(table.c.alert_id == any_(ids)))
        return
    for start in range(0, len(alert_ids), 1000):
        conn.execute(delete(table).where(table.c.alert_id.in_(alert_ids[start:start + 1000])))


def _insert_links(conn: Connection, table: Table, links: list[dict[str, Any]]) -> None:
    if not links:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(insert_from_json(table, list(links[0])),
                     json_rows(table, links))
    else:
        conn.execute(insert(table), links)


def enqueue_alert_for_routes(db: Session, workspace_id: int, alert_row_id: int,
                             revision: int) -> int:
    """Queue revision ``revision`` of stored alert ``alert_row_id`` for the workspace's routes.

    The seam between ingestion and delivery (``services.routes.forward_alerts``): runs in the
    ingest transaction, so the outbox messages exist if and only if the alert revision
    does, and ``(alert id, route, revision)`` keys them, so a retried batch never forwards
    twice. Called for delivered alerts and for held alerts with verdict ``reroute``.
    Returns how many messages were queued.
    """
    return routes.forward_alerts(db, workspace_id, [(alert_row_id, revision)])


def enqueue_alerts_for_routes(db: Session, workspace_id: int,
                              revisions: Sequence[tuple[int, int]]) -> int:
    """``enqueue_alert_for_routes`` for many ``(alert id, revision)`` pairs at once: the
    routes are read once and the messages written in bulk (``routes.forward_alerts``)."""
    return routes.forward_alerts(db, workspace_id, revisions)


# -- listing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """``status``: held | delivered | unrouted (where it went) or firing | resolved (the
    alert's own)."""

    status: str | None = None
    window: int | None = None
    target: str | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: int
    fingerprint: str
    status: str
    delivery: str
    verdict: str
    windows: tuple[int, ...]
    targets: tuple[str, ...]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    revision: int
    received_at: datetime
    updated_at: datetime


def _filtered(workspace_id: int, flt: AlertFilter) -> Select[AlertRow]:
    stmt = select(AlertRow).where(AlertRow.workspace_id == workspace_id)
    if flt.status in (HELD, DELIVERED, UNROUTED):
        stmt = stmt.where(AlertRow.delivery == flt.status)
    elif flt.status is not None:
        stmt = stmt.where(AlertRow.status == flt.status)
    if flt.window is not None:
        stmt = stmt.where(AlertRow.id.in_(
            select(AlertWindowRow.alert_id).where(AlertWindowRow.workspace_id == workspace_id,
                                                  AlertWindowRow.window_id == flt.window)))
    if flt.target is not None:
        stmt = stmt.where(AlertRow.id.in_(
            select(AlertTargetRow.alert_id).where(AlertTargetRow.workspace_id == workspace_id,
                                                  AlertTargetRow.target == flt.target)))
    return stmt


def list_alerts(db: Session, workspace_id: int,
                flt: AlertFilter) -> tuple[list[StoredAlert], str | None]:
    """Stored alerts, newest first (by id), filtered; the cursor is the last id returned."""
    stmt = _filtered(workspace_id, flt)
    if flt.cursor:
        stmt = stmt.where(AlertRow.id < decode_cursor(flt.cursor))
    rows = list(db.scalars(stmt.order_by(AlertRow.id.desc()).limit(flt.limit + 1)))
    more = len(rows) > flt.limit
    page = [_stored(r) for r in rows[:flt.limit]]
    return page, encode_cursor(page[-1].id) if more and page else None


def _stored(row: AlertRow) -> StoredAlert:
    return StoredAlert(
        id=row.id, fingerprint=row.fingerprint, status=row.status, delivery=row.delivery,
        verdict=row.verdict, windows=tuple(row.held_by), targets=tuple(row.targets),
        labels=dict(row.labels), annotations=dict(row.annotations), starts_at=row.starts_at,
        ends_at=row.ends_at, revision=row.revision, received_at=row.received_at,
        updated_at=row.updated_at)


def held_by_window(db: Session, workspace_id: int, window_ids: Iterable[int]) -> list[int]:
    """Ids of the stored alerts that the given windows hold (for #4's end-of-window work)."""
    ids = list(window_ids)
    if not ids:
        return []
    stmt = (select(AlertWindowRow.alert_id).distinct()
            .where(AlertWindowRow.workspace_id == workspace_id,
                   AlertWindowRow.window_id.in_(ids)))
    return sorted(db.scalars(stmt))


def count_unrouted(db: Session, workspace_id: int, since: datetime) -> int:
    """How many alerts changed since ``since`` are stored as ``unrouted`` (sent nowhere)."""
    stmt = (select(func.count()).select_from(AlertRow)
            .where(AlertRow.workspace_id == workspace_id, AlertRow.delivery == UNROUTED,
                   AlertRow.updated_at >= since))
    return int(db.scalar(stmt) or 0)
