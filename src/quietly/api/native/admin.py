"""Routes: target groups, API keys, the workspace, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from quietly.api.deps import Admin, Editor, Now, State, Viewer
from quietly.api.native.convert import parse_instant_field
from quietly.api.native.schemas import (
    AuditList,
    GroupIn,
    GroupList,
    GroupPublic,
    GroupPut,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyPublic,
    WorkspacePublic,
    WorkspaceUpdate,
)
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import GROUP_NAME_PATTERN, CursorQuery, SmallId
from quietly.core.codec import format_instant
from quietly.core.errors import Conflict
from quietly.services import audit, groups, workspaces
from quietly.services.groups import Group
from quietly.services.workspaces import ApiKeyInfo, Workspace

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
GroupName = Annotated[str, Path(min_length=1, max_length=200,
                                json_schema_extra={"pattern": GROUP_NAME_PATTERN})]


def _group(g: Group) -> dict[str, Any]:
    return {**g.to_json(), "created_at": format_instant(g.created_at),
            "updated_at": format_instant(g.updated_at)}


def _key(k: ApiKeyInfo, now: datetime) -> dict[str, Any]:
    def instant(v: Any) -> str | None:
        return format_instant(v) if v else None
    return {"id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix,
            "created_at": format_instant(k.created_at), "created_by": k.created_by,
            "last_used_at": instant(k.last_used_at), "revoked_at": instant(k.revoked_at),
            "scope": list(k.scope), "expires_at": instant(k.expires_at),
            "expired": k.expired(now)}


def _workspace(w: Workspace) -> dict[str, Any]:
    return {"id": w.id, "slug": w.slug, "name": w.name, "timezone": w.timezone}


@router.post("/groups", status_code=201, response_model=GroupPublic, tags=["groups"],
             operation_id="create_group")
def create_group(body: GroupIn, state: State, principal: Editor, now: Now) -> Any:
    """Create a target group; windows naming it cover its members at decision time."""
    with state.db.transaction() as db:
        group = groups.create_group(db, principal, name=body.name, targets=body.targets,
                                    description=body.description, now=now)
    return _group(group)


@router.get("/groups", response_model=GroupList, tags=["groups"], operation_id="list_groups")
def list_groups(state: State, principal: Viewer) -> Any:
    with state.db.read() as db:
        return {"groups": [_group(g) for g in groups.list_groups(db, principal)]}


@router.get("/groups/{name}", response_model=GroupPublic, tags=["groups"],
            operation_id="get_group")
def get_group(name: GroupName, state: State, principal: Viewer) -> Any:
    with state.db.read() as db:
        return _group(groups.get_group(db, principal, name))


@router.put("/groups/{name}", response_model=GroupPublic, tags=["groups"],
            operation_id="put_group",
            responses={201: {"model": GroupPublic, "description": "The group was created."}})
def put_group(name: GroupName, body: GroupPut, state: State, principal: Editor, now: Now,
              response: Response) -> Any:
    """Replace the group's members (creating the group if it does not exist: 201)."""
    with state.db.transaction() as db:
        group, created = groups.put_group(db, principal, name=name, targets=body.targets,
                                          description=body.description, now=now)
    if created:
        response.status_code = 201
    return _group(group)


@router.delete("/groups/{name}", status_code=204, response_class=Response, tags=["groups"],
               operation_id="delete_group")
def delete_group(name: GroupName, state: State, principal: Editor, now: Now) -> Response:
    with state.db.transaction() as db:
        groups.delete_group(db, principal, name, now)
    return Response(status_code=204)


@router.post("/keys", status_code=201, response_model=KeyCreated, tags=["keys"],
             operation_id="create_key")
def create_key(body: KeyCreate, state: State, principal: Admin, now: Now) -> Any:
    """Create an API key in this workspace; the secret is in this response only."""
    expires_at = (parse_instant_field(body.expires_at, "expires_at",
                                      principal.workspace_timezone)
                  if body.expires_at is not None else None)
    with state.db.transaction() as db:
        info, raw = workspaces.create_key(db, principal.workspace_id, name=body.name,
                                          role=body.role, now=now, created_by=principal.actor,
                                          scope=body.scope, expires_at=expires_at)
        audit.record(db, principal, action="create", object_type="api_key", object_id=info.id,
                     at=now, before=None, after=_key_audit(info))
    return {**_key(info, now), "key": raw}


def _key_audit(info: ApiKeyInfo) -> dict[str, Any]:
    return {"name": info.name, "role": info.role.value, "scope": list(info.scope),
            "expires_at": format_instant(info.expires_at) if info.expires_at else None}


@router.get("/keys", response_model=KeyList, tags=["keys"], operation_id="list_keys")
def list_keys(state: State, principal: Admin, now: Now) -> Any:
    with state.db.read() as db:
        return {"keys": [_key(k, now) for k in workspaces.list_keys(db, principal.workspace_id)]}


@router.delete("/keys/{key_id:int}", response_model=KeyPublic, tags=["keys"],
               operation_id="revoke_key")
def revoke_key(key_id: SmallId, state: State, principal: Admin, now: Now) -> Any:
    """Revoke a key; it stops working at once in this process. A key cannot revoke itself
    (409): rotate by creating the new key and revoking the old one with it."""
    if key_id == principal.key_id:  # no automation locks itself out by mistake
        raise Conflict("a key cannot revoke itself; revoke it with another admin key",
                       field="key_id")
    with state.db.transaction() as db:
        info = workspaces.revoke_key(db, principal, key_id, now)
    state.forget_keys()
    return _key(info, now)


@router.get("/workspace", response_model=WorkspacePublic, tags=["workspace"],
            operation_id="get_workspace")
def get_workspace(state: State, principal: Viewer) -> Any:
    with state.db.read() as db:
        return _workspace(workspaces.get_workspace(db, principal.workspace_slug))


@router.patch("/workspace", response_model=WorkspacePublic, tags=["workspace"],
              operation_id="update_workspace")
def update_workspace(body: WorkspaceUpdate, state: State, principal: Admin, now: Now) -> Any:
    """Rename the workspace or change its default time zone."""
    with state.db.transaction() as db:
        ws = workspaces.update_workspace(db, principal, name=body.name, timezone=body.timezone,
                                         now=now)
    state.forget_keys()
    return _workspace(ws)


@router.get("/audit", response_model=AuditList, tags=["audit"], operation_id="list_audit")
def list_audit(
    state: State, principal: Viewer,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> Any:
    """Every create, update, cancel and delete, oldest first, with before and after."""
    with state.db.read() as db:
        entries, next_cursor = audit.list_audit(db, principal, object_type=object_type,
                                                object_id=object_id, limit=limit,
                                                cursor=cursor)
    return {"entries": [{"id": e.id, "at": format_instant(e.at), "actor": e.actor,
                         "action": e.action, "object_type": e.object_type,
                         "object_id": e.object_id, "before": e.before, "after": e.after}
                        for e in entries],
            "next_cursor": next_cursor}
