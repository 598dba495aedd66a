"""``quietly run``'s extension plan and exit codes, as pure functions (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.cli_commands.run import Extension, exit_code

T0 = datetime(2030, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("duration", "most", "end", "now", "expected"), [
    # --for 30m: steps of 5 minutes, extended from 2.5 minutes before the end.
    (30 * MIN, 120 * MIN, T0 + 30 * MIN, T0 + 28 * MIN, T0 + 33 * MIN),
    # --for 2m: the step is the duration itself.
    (2 * MIN, 10 * MIN, T0 + 2 * MIN, T0 + 90 * MIN / 60, T0 + 3.5 * MIN),
    # never past start + --max
    (30 * MIN, 31 * MIN, T0 + 30 * MIN, T0 + 29 * MIN, T0 + 31 * MIN),
    # already at the limit: nothing to do
    (30 * MIN, 31 * MIN, T0 + 31 * MIN, T0 + 30 * MIN, None),
])
def test_new_end(duration: timedelta, most: timedelta, end: datetime, now: datetime,
                 expected: datetime | None) -> None:
    assert Extension.plan(T0, duration, most).new_end(end, now) == expected


def test_due_is_half_a_step_before_the_end() -> None:
    assert Extension.plan(T0, 30 * MIN, 60 * MIN).due(T0 + 30 * MIN) == T0 + 27.5 * MIN


@given(duration=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=2)),
       extra=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
       elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)))
def test_extensions_never_pass_max_and_always_move_forward(
        duration: timedelta, extra: timedelta, elapsed: timedelta) -> None:
    plan = Extension.plan(T0, duration, duration + extra)
    end = T0 + duration
    now = T0 + elapsed
    new_end = plan.new_end(end, now)
    assert new_end is None or end < new_end <= T0 + duration + extra


@pytest.mark.parametrize(("returncode", "expected"), [(0, 0), (3, 3), (-15, 143), (-2, 130)])
def test_exit_code_follows_the_shell(returncode: int, expected: int) -> None:
    assert exit_code(returncode) == expected
