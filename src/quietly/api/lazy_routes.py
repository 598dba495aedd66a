"""Routers included at their place but imported on first use (issue 19: start-up).

Importing a router builds every one of its routes (pydantic schemas for each parameter and
body), and FastAPI builds each included router's routes once more on the first request that
walks past it. A server with every API imported and built before it says it is ready spends
a few tenths of a second of CPU on APIs that its first requests may never touch.

``include_lazily(app, module, prefix)`` puts a ``LazyRouter`` where ``app.include_router``
would put the router: it answers "no match" to every path outside ``prefix`` (one or several,
and exact paths such as the UI's ``/``) and, for the first path inside it, imports
``module``, includes its ``router`` exactly as ``include_router`` does and takes its place in
the route list. So the routing order, the routes and the OpenAPI document are what eager
inclusion gives:

- ``materialize_all(app)`` (before the OpenAPI document is built, ``api.openapi``) and
  ``warm_up(app)`` (a background thread once the server has started) include them all;
- an error under a prefix whose module registers an error renderer
  (``api.problems.register_error_renderer``: the compatibility APIs) is rendered by that
  module even before the router is used: ``renders_errors`` registers a stand-in that
  imports it first.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from quietly.api.problems import register_error_renderer, renderer_for
from quietly.logs import get_logger

__all__ = ["LazyRouter", "include_lazily", "materialize_all", "renders_errors", "warm_up"]

log = get_logger("quietly")
_LOCK = threading.RLock()  # one inclusion at a time: each edits the app's route list


class LazyRouter(BaseRoute):
    """Stands for ``module.router`` in ``app``'s routes until a request needs it."""

    def __init__(self, app: FastAPI, module: str, prefix: str | tuple[str, ...],
                 exact: tuple[str, ...] = ()) -> None:
        self.app_ = app
        self.module = module
        self.prefix = prefix  # every route's path starts with (one of) these …
        self.exact = exact  # … or is one of these
        self.included: BaseRoute | None = None

    def __repr__(self) -> str:
        return f"LazyRouter({self.module!r}, {self.prefix!r}, {self.exact!r})"

    def covers(self, path: str) -> bool:
        """Whether a route of this router may match ``path``."""
        return path.startswith(self.prefix) or path in self.exact

    def materialize(self) -> BaseRoute:
        """Import the router and include it in this stand-in's place (once)."""
        with _LOCK:
            if self.included is None:
                router: APIRouter = importlib.import_module(self.module).router
                routes = self.app_.router.routes
                self.app_.include_router(router)  # appended last, as FastAPI builds it …
                included = routes.pop()
                routes[routes.index(self)] = included  # … then moved to this place
                self.included = included
            return self.included

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not self.covers(scope.get("path", "")):
            return Match.NONE, {}
        return self.materialize().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.materialize().handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.materialize().url_path_for(name, **path_params)


def include_lazily(app: FastAPI, module: str, prefix: str | tuple[str, ...],
                   exact: tuple[str, ...] = ()) -> None:
    """Include ``module.router`` (every route under ``prefix`` or at a path of ``exact``)
    on its first use."""
    app.router.routes.append(LazyRouter(app, module, prefix, exact))


def renders_errors(module: str, prefix: str) -> None:
    """Errors under ``prefix`` are rendered by ``module`` (which registers its renderer for
    ``prefix`` when imported) even before its router has been imported."""
    if module in sys.modules or renderer_for(prefix) is not None:
        return  # imported before (another app in this process): its renderer is in place

    def render(request: Request, status: int, detail: str, field: str | None,
               errors: list[dict[str, Any]]) -> Response:
        importlib.import_module(module)  # replaces this stand-in with the module's renderer
        renderer = renderer_for(prefix)
        if renderer is None or renderer is render:
            raise RuntimeError(f"{module} registers no error renderer for {prefix}")
        return renderer(request, status, detail, field, errors)

    register_error_renderer(prefix, render)


def materialize_all(app: FastAPI) -> None:
    """Include every router still waiting, in route order."""
    for route in list(app.router.routes):
        if isinstance(route, LazyRouter):
            route.materialize()


def warm_up(app: FastAPI) -> None:
    """Include the waiting routers in a background thread, one at a time, so that the first
    requests to them do not pay for it."""

    def run() -> None:
        for route in list(app.router.routes):
            if isinstance(route, LazyRouter):
                try:
                    route.materialize()
                except Exception as exc:  # a request to it will raise the same, visibly
                    log.exception("including a router failed", module=route.module,
                                  error=str(exc))
                time.sleep(0)  # let requests in between

    threading.Thread(target=run, name="quietly-routes", daemon=True).start()
