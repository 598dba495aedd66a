"""Caps on what one window may hold, the same whatever API it comes through (issue #14)."""

from __future__ import annotations

__all__ = ["MAX_MATCHERS_PER_GROUP", "MAX_TARGETS"]

MAX_TARGETS = 1000
"""Targets one window may name (a window naming 10,000 made /metrics answer ~1 MB): name a
group or match labels instead."""
MAX_MATCHERS_PER_GROUP = 50
"""Matchers in one condition group."""
