"""Routes: alert ingestion (``POST /api/v1/alerts``) and the stored-alert list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from quietly.api.deps import AppState, Now, State, Viewer
from quietly.api.deps import Editor as EditorKey
from quietly.api.native.alert_schemas import AlertBatchIn, AlertIngestIn, AlertList, IngestSummary
from quietly.api.native.convert import parse_instant_field
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import CursorQuery
from quietly.core.codec import format_instant
from quietly.core.records import Principal
from quietly.services import alerts, scopes
from quietly.services.alerts import AlertFilter, AlertInput, IngestResult, StoredAlert

__all__ = ["ingest_and_summarise", "router"]

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=PROBLEM_RESPONSES)


def _alert_input(alert: AlertIngestIn, index: int, zone: str) -> AlertInput:
    def instant(value: str | None, name: str) -> datetime | None:
        return parse_instant_field(value, f"alerts[{index}].{name}", zone) if value else None

    return AlertInput(status=alert.status, targets=tuple(alert.targets),
                      labels=dict(alert.labels), annotations=dict(alert.annotations),
                      starts_at=instant(alert.starts_at, "starts_at"),
                      ends_at=instant(alert.ends_at, "ends_at"), fingerprint=alert.fingerprint)


def ingest_and_summarise(state: AppState, principal: Principal, inputs: Sequence[AlertInput],
                         now: datetime) -> dict[str, Any]:
    """Decide from memory, store in one transaction, and answer with every alert's outcome.

    Shared by the native endpoint and the Alertmanager receiver.
    """
    scopes.check_alerts(principal, [a.targets for a in inputs])
    decided = alerts.decide_alerts(state.decisions, principal.workspace_id, inputs, now)
    with state.db.transaction() as db:
        result = alerts.store_alerts(db, principal.workspace_id, inputs, decided, now)
    return _summary(result, stale=state.decisions.stale)


def _summary(result: IngestResult, *, stale: bool) -> dict[str, Any]:
    return {
        "received": len(result.outcomes), **result.counts, "forwarded": result.forwarded,
        "stale": stale,
        "alerts": [{"fingerprint": o.fingerprint, "verdict": o.verdict.value,
                    "windows": list(o.windows), "delivery": o.delivery, "id": o.id,
                    "revision": o.revision} for o in result.outcomes],
    }


@router.post("/alerts", response_model=IngestSummary, operation_id="ingest_alerts")
def ingest_alerts(body: AlertBatchIn, state: State, principal: EditorKey, now: Now) -> Any:
    """Ingest up to 10,000 alerts: each is decided now and stored held or delivered.

    ``drop`` → not stored, only counted; ``mute``/``suppress_incident``/``reroute``/``attach``
    → stored as held with the windows holding it; ``deliver`` → stored as delivered and
    queued for the workspace's routes, or as unrouted when no route takes it. A repeated
    fingerprint updates the stored alert (``revision`` + 1).
    """
    zone = principal.workspace_timezone
    inputs = [_alert_input(a, i, zone) for i, a in enumerate(body.alerts)]
    # The summary is built from plain values already: skip re-validating it on the way out.
    return JSONResponse(ingest_and_summarise(state, principal, inputs, now))


def _alert_json(alert: StoredAlert) -> dict[str, Any]:
    def instant(value: datetime | None) -> str | None:
        return format_instant(value) if value else None

    return {
        "id": alert.id, "fingerprint": alert.fingerprint, "status": alert.status,
        "delivery": alert.delivery, "verdict": alert.verdict, "windows": list(alert.windows),
        "targets": list(alert.targets), "labels": alert.labels,
        "annotations": alert.annotations, "starts_at": instant(alert.starts_at),
        "ends_at": instant(alert.ends_at), "revision": alert.revision,
        "received_at": format_instant(alert.received_at),
        "updated_at": format_instant(alert.updated_at),
    }


@router.get("/alerts", response_model=AlertList, operation_id="list_alerts")
def list_alerts(
    state: State, principal: Viewer,
    status: Annotated[Literal["held", "delivered", "unrouted", "firing", "resolved"] | None,
                      Query(description="held | delivered | unrouted (where it went), or "
                                        "firing | resolved (the alert's own status)")] = None,
    window: Annotated[int | None, Query(ge=1, le=2**63 - 1,
                                        description="Alerts this window holds.")] = None,
    target: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> Any:
    """Stored alerts, newest first, with cursor pagination (pass ``next_cursor`` back)."""
    flt = AlertFilter(status=status, window=window, target=target, limit=limit, cursor=cursor)
    with state.db.read() as db:
        found, next_cursor = alerts.list_alerts(db, principal.workspace_id, flt)
    return JSONResponse({"alerts": [_alert_json(a) for a in found], "next_cursor": next_cursor})
