"""Routes: decisions — is this alert in maintenance at this instant, and why.

The hot path of every alert, so the two endpoints are served by plain Starlette routes
(``fastpath``): ``async``, no dependency injection, no pydantic, no thread hop, no database
session (keys come from ``AppState``'s in-memory cache). Measured in ``bench/``: FastAPI's
route with its dependencies costs several times the work of the decision itself. The FastAPI
twins below are never reached (the plain routes are registered first, and the first matching
route wins); they document the endpoints in ``/openapi.json`` with the very same contract,
which ``fastpath`` implements by hand, field names in errors included.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from quietly.api.deps import Now, State, Viewer
from quietly.api.native import fastpath
from quietly.api.native.schemas import DecideRequest, DecisionBatch, DecisionOne
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import InstantQuery, TargetName

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["decisions"], responses=PROBLEM_RESPONSES)

# Registered before the documented twins, so these serve every request.
router.add_route("/api/v1/decide", fastpath.decide_get, methods=["GET"],
                 include_in_schema=False, name="decide_fast")
router.add_route("/api/v1/decide", fastpath.decide_post, methods=["POST"],
                 include_in_schema=False, name="decide_batch_fast")

_LABELS_PARAM = {
    "parameters": [{
        "name": "label.{name}", "in": "query", "required": False,
        "description": "An alert label, one parameter per label: label.env=prod",
        "schema": {"type": "string"},
    }],
}


@router.get("/decide", response_model=DecisionOne, operation_id="decide",
            openapi_extra=_LABELS_PARAM)
async def decide(
    request: Request, state: State, principal: Viewer, now: Now,
    target: Annotated[list[TargetName] | None, Query(max_length=1000)] = None,
    at: InstantQuery = None,
) -> Any:
    """The verdict for one alert (its targets and ``label.<name>`` labels) at ``at`` or now.

    Evaluates the current windows at any instant, past or future (a what-if), bounded by
    each schedule's ``starts_on``, not by when the window was created. ``stale`` is true
    while the store is unreachable and the answer comes from the last loaded index.
    Any other parameter, and a target that is not ``kind:id``, is a 422 naming it.
    """
    return await fastpath.decide_get(request)  # documentation twin; see the module docstring


@router.post("/decide", response_model=DecisionBatch, operation_id="decide_batch")
async def decide_batch(request: Request, body: DecideRequest, state: State,
                       principal: Viewer, now: Now) -> Any:
    """Verdicts for a batch of alerts (up to 100,000) at one instant (``at`` or now)."""
    return await fastpath.decide_post(request)  # documentation twin
