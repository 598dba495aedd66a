"""The OpenAPI document: FastAPI's, plus how each operation authenticates, and maps whose
keys must match a pattern stated as such.

FastAPI declares security only for its own ``fastapi.security`` classes; ours reads the key
itself (``api.deps``, ``compat.uptrends.auth``). So the document is completed here, from the
routes themselves: an operation with a dependency that returns a ``Principal`` needs a key,
sent as HTTP Bearer, except under ``/compat/uptrends/``, where it is the password of HTTP
Basic as Uptrends' own API has it. ``/metrics`` takes its own optional token. Clients and
fuzzers (schemathesis, in the suite) read this to know which credentials go where.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from quietly.core.records import Principal

__all__ = ["SECURITY_SCHEMES", "install_openapi", "scheme_for"]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKey": {"type": "http", "scheme": "bearer",
               "description": "A quietly API key: 'Authorization: Bearer <key>'."},
    "uptrendsBasic": {"type": "http", "scheme": "basic",
                      "description": "Uptrends' API: HTTP Basic, any user name, a quietly API "
                                     "key as the password."},
    "metricsToken": {"type": "http", "scheme": "bearer",
                     "description": "QUIETLY_METRICS_TOKEN, when it is set."},
}

# Path prefixes whose operations authenticate otherwise than with a bearer key.
_SCHEME_BY_PREFIX = (("/compat/uptrends/", "uptrendsBasic"),)


def scheme_for(path: str) -> str:
    """The security scheme of an authenticated operation at ``path``."""
    for prefix, scheme in _SCHEME_BY_PREFIX:
        if path.startswith(prefix):
            return scheme
    return "apiKey"


def _returns_principal(call: Callable[..., Any] | None) -> bool:
    if call is None:
        return False
    try:
        hints = typing.get_type_hints(call)
    except Exception:  # a callable whose annotations cannot be resolved: not ours
        return False
    return hints.get("return") is Principal


def _authenticates(dependant: Dependant) -> bool:
    return any(_returns_principal(dep.call) or _authenticates(dep)
               for dep in dependant.dependencies)


def _keys_by_name(node: Any) -> None:
    """pydantic writes ``dict[Key, V]`` with a key pattern as ``patternProperties``, which
    lets any other key through with any value; the server refuses those keys. Say so:
    ``propertyNames`` with the pattern, every value a V."""
    if isinstance(node, list):
        for item in node:
            _keys_by_name(item)
        return
    if not isinstance(node, dict):
        return
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
        (pattern, value), = patterns.items()
        node.pop("patternProperties")
        node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        node["additionalProperties"] = value
    for child in node.values():
        _keys_by_name(child)


def _add_security(app: FastAPI, document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for context in iter_route_contexts(app.routes):  # included routers flattened
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        operations = paths.get(context.path_format or route.path_format, {})
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            if context.path_format == "/metrics":
                operation["security"] = [{}, {"metricsToken": []}]
            elif _authenticates(route.dependant):
                operation["security"] = [{scheme_for(context.path_format or ""): []}]
            else:
                operation["security"] = []
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES


def install_openapi(app: FastAPI,
                    before: Callable[[FastAPI], None] | None = None) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, then cached);
    ``before(app)`` runs first (``api.lazy_routes.materialize_all``: every route present)."""

    build = app.openapi  # FastAPI's own, which caches its result in ``app.openapi_schema``

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            if before is not None:
                before(app)
            document = build()
            _add_security(app, document)
            _keys_by_name(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
