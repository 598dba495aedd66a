"""The schedule in words (placeholder, replaced below)."""

from __future__ import annotations

from quietly.core.model import Schedule

__all__ = ["human_schedule", "human_schedule_short"]


def human_schedule(schedule: Schedule) -> str:
    return repr(schedule)


def human_schedule_short(schedule: Schedule) -> str:
    return repr(schedule)
