"""Routes: syncs (admin) — the Alertmanager clusters whose silences quietly keeps in step."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from quietly.api.deps import Admin, Now, State
from quietly.api.native.sync_schemas import (
    SyncCreate,
    SyncList,
    SyncPublic,
    SyncStatus,
    SyncUpdate,
)
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import SmallId
from quietly.services import sync_state, syncs

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, tags=["syncs"])


@router.post("/syncs", status_code=201, response_model=SyncPublic, operation_id="create_sync")
def create_sync(body: SyncCreate, state: State, principal: Admin, now: Now) -> Any:
    """Keep an Alertmanager's silences, or an Icinga 2's downtimes, equal to this workspace's
    windows (secrets are write-only: the answer says only whether they are set)."""
    with state.db.transaction() as db:
        sync = syncs.create_sync(db, principal, body.model_dump(exclude_unset=True),
                                 allow_private=state.settings.webhook_allow_private, now=now)
    return sync.to_json()


@router.get("/syncs", response_model=SyncList, operation_id="list_syncs")
def list_syncs(state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return {"syncs": [s.to_json() for s in syncs.list_syncs(db, principal)]}


@router.get("/syncs/{sync_id:int}", response_model=SyncPublic, operation_id="get_sync")
def get_sync(sync_id: SmallId, state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return syncs.get_sync(db, principal, sync_id).to_json()


@router.patch("/syncs/{sync_id:int}", response_model=SyncPublic, operation_id="update_sync")
def update_sync(sync_id: SmallId, body: SyncUpdate, state: State, principal: Admin,
                now: Now) -> Any:
    """Change fields; ``null`` removes basic auth, the bearer token or the extra headers,
    and resets ``target_labels`` to the default. The sync runs again at once."""
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "url", "base_path", "lead", "interval", "allow_all_targets",
                 "all_services", "verify_tls"):
        if name in changes and changes[name] is None:
            del changes[name]
    with state.db.transaction() as db:
        sync = syncs.update_sync(db, principal, sync_id, changes,
                                 allow_private=state.settings.webhook_allow_private, now=now)
    return sync.to_json()


@router.delete("/syncs/{sync_id:int}", status_code=204, response_class=Response,
               operation_id="delete_sync")
def delete_sync(sync_id: SmallId, state: State, principal: Admin, now: Now) -> Response:
    """Stop managing this Alertmanager; its silences end by themselves."""
    with state.db.transaction() as db:
        syncs.delete_sync(db, principal, sync_id, now)
    return Response(status_code=204)


@router.get("/syncs/{sync_id:int}/status", response_model=SyncStatus,
            operation_id="get_sync_status")
def get_sync_status(sync_id: SmallId, state: State, principal: Admin, now: Now) -> Any:
    """Last success and error, objects held, repairs, and the windows that cannot be
    expressed as silences, with the reason."""
    with state.db.read() as db:
        return sync_state.sync_status(db, principal, sync_id, now)
