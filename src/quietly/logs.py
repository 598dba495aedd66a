"""Loggers that import structlog when first used (issue 19: start-up).

``import structlog`` imports its development renderer and, with it, ``rich`` (together a
tenth of a second of CPU), which a serving process that logs nothing while it starts need
not pay before it is ready. ``get_logger(name)`` stands for ``structlog.get_logger(name)``:
the first attribute asked of it (``log.info``, ``log.exception``, …) imports structlog and
binds the logger; from then on every call goes to structlog's logger as it would have (with
structlog's configuration at the time of the call, as its lazy proxy does).
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_logger"]


class _Logger:
    """``structlog.get_logger(name)``, bound on first use."""

    __slots__ = ("_bound", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._bound: Any = None

    def __getattr__(self, attr: str) -> Any:
        bound = self._bound
        if bound is None:  # two threads may both bind: equal loggers, either will do
            import structlog

            bound = self._bound = structlog.get_logger(self._name)
        return getattr(bound, attr)


def get_logger(name: str) -> Any:
    """A logger named ``name`` (structlog's, imported on first use)."""
    return _Logger(name)
