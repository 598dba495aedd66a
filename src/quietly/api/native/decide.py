"""Routes: decisions — is this alert in maintenance at this instant, and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from quietly.api.deps import Now, State, Viewer
from quietly.api.native.convert import parse_instant_field
from quietly.api.native.schemas import DecideRequest, DecisionBatch, DecisionOne
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.core.codec import format_instant
from quietly.core.errors import ValidationError
from quietly.core.model import Alert

router = APIRouter(prefix="/api/v1", tags=["decisions"], responses=PROBLEM_RESPONSES)

_LABELS_PARAM = {
    "parameters": [{
        "name": "label.{name}", "in": "query", "required": False,
        "description": "An alert label, one parameter per label: label.env=prod",
        "schema": {"type": "string"},
    }],
}


def _labels(request: Request) -> dict[str, str]:
    labels: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("label."):
            name = key[len("label."):]
            if not name:
                raise ValidationError("a label parameter needs a name: label.<name>=<value>",
                                      field="label")
            labels[name] = value
    return labels


@router.get("/decide", response_model=DecisionOne, operation_id="decide",
            openapi_extra=_LABELS_PARAM)
def decide(
    request: Request, state: State, principal: Viewer, now: Now,
    target: Annotated[list[str] | None, Query(max_length=1000)] = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """The verdict for one alert (its targets and ``label.<name>`` labels) at ``at`` or now.

    Evaluates the current windows at any instant, past or future (a what-if), bounded by
    each schedule's ``starts_on``, not by when the window was created.
    """
    instant = parse_instant_field(at, "at", principal.workspace_timezone) if at else now
    alert = Alert(targets=tuple(target or ()), labels=_labels(request))
    decision = state.decisions.decide(principal.workspace_id, alert, instant)
    return {"verdict": decision.verdict, "windows": list(decision.windows),
            "at": format_instant(instant), "stale": state.decisions.stale}


@router.post("/decide", response_model=DecisionBatch, operation_id="decide_batch")
def decide_batch(body: DecideRequest, state: State, principal: Viewer, now: Now) -> Any:
    """Verdicts for a batch of alerts at one instant (``at`` or now)."""
    instant = parse_instant_field(body.at, "at", principal.workspace_timezone) \
        if body.at else now
    alerts = [Alert(targets=tuple(a.targets), labels=dict(a.labels)) for a in body.alerts]
    found = state.decisions.decide_many(principal.workspace_id, alerts, instant)
    return {"at": format_instant(instant), "stale": state.decisions.stale,
            "decisions": [{"verdict": d.verdict, "windows": list(d.windows)} for d in found]}
