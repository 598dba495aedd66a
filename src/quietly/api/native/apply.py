"""Route: ``POST /api/v1/apply``, the whole desired set of one source, all or nothing."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from quietly.api.deps import Now, State, Viewer
from quietly.api.native.apply_schemas import ApplyRequest, ApplyResult, ManagedWindow
from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.schemas import GroupIn
from quietly.api.problems import PROBLEM_RESPONSES, loc_to_field, problem
from quietly.core.errors import ValidationError
from quietly.core.records import Role
from quietly.services import apply

router = APIRouter(prefix="/api/v1", tags=["maintenance as code"], responses=PROBLEM_RESPONSES)

_WINDOW = TypeAdapter[ManagedWindow](ManagedWindow)
_GROUP = TypeAdapter[GroupIn](GroupIn)
Errors = list[dict[str, str | None]]


def _pydantic_errors(prefix: str, exc: PydanticError) -> Errors:
    out: Errors = []
    for err in exc.errors():
        path = loc_to_field(err.get("loc", ()))
        out.append({"field": f"{prefix}.{path}" if path else prefix,
                    "detail": str(err.get("msg", "invalid"))})
    return out


def _windows(items: list[dict[str, Any]], zone: str,
             errors: Errors) -> list[apply.DesiredWindow]:
    out = []
    for i, item in enumerate(items):
        try:
            parsed = _WINDOW.validate_python(item)
            fields = window_fields_from_create(parsed, zone)
        except PydanticError as exc:
            errors += _pydantic_errors(f"windows[{i}]", exc)
            continue
        except ValidationError as exc:
            errors.append({"field": f"windows[{i}].{exc.field}" if exc.field
                           else f"windows[{i}]", "detail": exc.message})
            continue
        out.append(apply.DesiredWindow(parsed.key, fields, i))
    return out


def _groups(items: list[dict[str, Any]], errors: Errors) -> list[apply.DesiredGroup]:
    out = []
    for i, item in enumerate(items):
        try:
            parsed = _GROUP.validate_python(item)
        except PydanticError as exc:
            errors += _pydantic_errors(f"groups[{i}]", exc)
            continue
        out.append(apply.DesiredGroup(parsed.name, parsed.description, tuple(parsed.targets), i))
    return out


def _position(error: dict[str, str | None]) -> tuple[int, int]:
    """Errors in the order of the request: groups, then windows, each by index."""
    found = re.match(r"^(groups|windows)\[(\d+)\]", error["field"] or "")
    if found is None:
        return (2, 0)
    return (0 if found[1] == "groups" else 1, int(found[2]))


def _failed(errors: Errors) -> Any:
    first = errors[0]
    return problem(422, f"{first['field']}: {first['detail']}", field=first["field"],
                   errors=list(errors))


@router.post("/apply", response_model=ApplyResult, operation_id="apply_desired_set",
             responses={422: PROBLEM_RESPONSES[422]})
def apply_set(body: ApplyRequest, state: State, principal: Viewer, now: Now) -> Any:
    """Make the windows and groups of ``source`` equal the given set, in one transaction.

    Objects are matched by key (a group's is its name). The answer is the plan: each object
    created, changed or deleted, with field differences. Applying the same set again changes
    nothing. With ``dry_run`` nothing is written. Any error (all are listed in ``errors``)
    leaves everything as it was (422). A viewer key may make dry runs (``quietly plan`` on
    merge requests); applying needs an editor key.
    """
    if not body.dry_run and not principal.role.allows(Role.EDITOR):
        return problem(403, "applying needs an editor or admin key; a viewer key may only "
                       "plan (dry_run: true)", field="dry_run")
    errors: Errors = []
    desired_groups = _groups(body.groups, errors)
    desired_windows = _windows(body.windows, principal.workspace_timezone, errors)
    errors += apply.check_set(desired_windows, desired_groups)
    if errors:
        return _failed(sorted(errors, key=_position))
    try:
        plan = apply.run_apply(state.db, principal, source=body.source,
                               desired_windows=desired_windows, desired_groups=desired_groups,
                               prune=body.prune, dry_run=body.dry_run, now=now)
    except apply.ApplyFailed as exc:
        return _failed(exc.errors)
    return {"source": body.source, "dry_run": body.dry_run, "changed": bool(plan),
            "changes": [c.to_json() for c in plan]}
