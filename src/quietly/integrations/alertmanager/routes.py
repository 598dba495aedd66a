"""Route: ``POST /api/v1/integrations/alertmanager``, Alertmanager's webhook receiver."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from quietly.api.deps import Editor, Now, State
from quietly.api.native.alert_schemas import IngestSummary
from quietly.api.native.alerts import ingest_and_summarise
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.integrations.alertmanager.convert import alert_from_webhook
from quietly.integrations.alertmanager.schemas import AlertmanagerPayload
from quietly.integrations.alertmanager.targets import TargetRule, parse_target_rule

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"],
                   responses=PROBLEM_RESPONSES)


@lru_cache(maxsize=8)
def _rule(text: str) -> TargetRule:
    return parse_target_rule(text)


@router.post("/alertmanager", response_model=IngestSummary,
             operation_id="alertmanager_webhook")
def alertmanager_webhook(body: AlertmanagerPayload, state: State, principal: Editor,
                         now: Now) -> Any:
    """Receive an Alertmanager webhook (payload version 4, unchanged) and ingest its alerts.

    Configure it as a ``webhook_configs`` receiver with ``http_config.authorization`` set to
    an editor key. Targets come from the labels by ``QUIETLY_ALERTMANAGER_TARGET_LABELS``
    (default ``service:{service}``); all labels are matched by windows' condition groups.
    Answers 200 with what became of each alert.
    """
    rule = _rule(state.settings.alertmanager_target_labels)
    inputs = [alert_from_webhook(a, i, rule) for i, a in enumerate(body.alerts)]
    return JSONResponse(ingest_and_summarise(state, principal, inputs, now))
