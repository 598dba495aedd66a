"""RFC 9457 problem details for every error the native API returns.

Each problem names the field (``field``, a dotted path) and the rule it broke (``detail``);
request-validation problems list every broken field in ``errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from quietly.api.types import PATTERN_HINTS
from quietly.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    QuietlyError,
    Unavailable,
    ValidationError,
)

__all__ = ["PROBLEM_RESPONSES", "ErrorRenderer", "install_problem_handlers", "loc_to_field",
           "problem", "register_error_renderer", "render_error", "renderer_for",
           "validation_errors"]

MEDIA_TYPE = "application/problem+json"

_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
           415: "Unsupported media type", 422: "Invalid request", 429: "Too many requests",
           500: "Internal error", 503: "Service unavailable"}

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": _TITLES[code],
           "content": {MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}}}
    for code in (400, 401, 403, 404, 409, 422, 503)
}


# A compatibility API answers errors in its vendor's own shape: it registers a renderer for
# its path prefix, and every handler below hands errors under that prefix to it.
ErrorRenderer = Callable[[Request, int, str, "str | None", "list[dict[str, Any]]"], Response]
_RENDERERS: dict[str, ErrorRenderer] = {}


def register_error_renderer(prefix: str, renderer: ErrorRenderer) -> None:
    """Render errors of requests under ``prefix`` (e.g. ``/compat/ohdear/``) with ``renderer``.

    The renderer gets the request, the status, a one-line detail, the field (dotted path or
    None) and the list of ``{"field", "detail"}`` for every broken field.
    """
    _RENDERERS[prefix] = renderer


def renderer_for(prefix: str) -> ErrorRenderer | None:
    """The renderer registered for exactly ``prefix``, if any."""
    return _RENDERERS.get(prefix)


def render_error(request: Request, status: int, detail: str, field: str | None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    path = request.url.path
    for prefix, renderer in _RENDERERS.items():
        if path.startswith(prefix):
            response = renderer(request, status, detail, field, errors or [])
            for name, value in (headers or {}).items():
                response.headers.setdefault(name, value)
            return response
    return problem(status, detail, field=field, errors=errors, headers=headers)


def problem(status: int, detail: str, *, field: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": _TITLES.get(status, "Error"),
                            "status": status, "detail": detail, "field": field}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'schedule', 'recurring', 'rrule') → 'schedule.rrule'; list indices as [i]."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("once", "recurring") or str(part).startswith(("function-", "tagged-")):
            continue  # discriminated-union tags are not fields the user wrote
        else:
            out += ("." if out else "") + str(part)
    return out


def _plain_pattern_message(err: Any) -> str | None:
    """``'checkout' is not a target; write kind:id …`` instead of the regular expression."""
    hint = PATTERN_HINTS.get(str((err.get("ctx") or {}).get("pattern")))
    if hint is None:
        return None
    value = str(err.get("input"))
    shown = value if len(value) <= 60 else value[:59] + "…"
    return f"{shown!r} {hint}"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            msg = "the body is not valid JSON"
        elif err.get("type") == "string_pattern_mismatch":
            msg = _plain_pattern_message(err) or msg
        out.append({"field": loc_to_field(err.get("loc", ())), "detail": msg})
    return out


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # A path parameter that is no id we could have issued (api.types.ObjectId) names nothing:
    # the same 404 in every API as for an id that does not exist.
    if any(tuple(err.get("loc", ()))[:1] == ("path",) for err in exc.errors()):
        return render_error(request, 404, "not found", None)
    errors = validation_errors(exc)
    if any(e["detail"] == "the body is not valid JSON" for e in errors):
        return render_error(request, 400, "the body is not valid JSON", None)
    first = errors[0] if errors else {"field": None, "detail": "invalid request"}
    detail = str(f"{first['field']}: {first['detail']}" if first["field"] else first["detail"])
    return render_error(request, 422, detail, first["field"] or None, errors)


async def _on_quietly(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QuietlyError)
    status = 422
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, Forbidden):
        status = 403
    elif isinstance(exc, Unavailable):
        status = 503
    elif not isinstance(exc, ValidationError):
        status = 400
    errors = [{"field": exc.field, "detail": exc.message}] if exc.field else []
    return render_error(request, status, str(exc), exc.field, errors)


def allowed_methods(request: Request) -> str:
    """Every method routed at the request's path, for ``Allow``. Starlette's 405 names only
    the methods of the first route whose path matched, and FastAPI makes one route per
    operation: ``/api/v1/windows`` would say ``Allow: POST`` although it has GET too.

    A path that is also an instance of a templated one has only its own methods, as OpenAPI
    has it (concrete paths match first). Ids in the API's paths match digits only
    (``{window_id:int}``), so ``/api/v1/windows/batch`` is no instance of
    ``/api/v1/windows/{window_id}``; the UI's ``/windows/new`` is one of ``/windows/{id}``."""
    by_path: dict[str, set[str]] = {}
    for route in iter_route_contexts(request.app.routes):  # included routers flattened
        routed = route.methods
        if routed and route.matches(request.scope)[0] is not Match.NONE:
            by_path.setdefault(getattr(route, "path", ""), set()).update(routed)
    concrete = [m for path, m in by_path.items() if "{" not in path]
    chosen = concrete or list(by_path.values())
    return ", ".join(sorted(set().union(*chosen)))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return render_error(request, exc.status_code, detail, None, headers=headers or None)


async def _on_database(request: Request, exc: Exception) -> Response:
    # Fail fast and say so: the database is unreachable, retrying later can help.
    if isinstance(exc, IntegrityError):
        return render_error(request, 409, "the change conflicts with an existing object", None)
    return render_error(request, 503, "the database is unreachable; writes are refused until it "
                   "is back (decisions keep answering from memory)", None,
                   headers={"Retry-After": "5"})


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(QuietlyError, _on_quietly)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OperationalError, _on_database)
    app.add_exception_handler(DBAPIError, _on_database)
