"""Differential test: quietly's expansion against libical, occurrence for occurrence.

A few hundred random recurring windows (``random_schedules``) in thirteen zones, each expanded
by quietly and by libical (``libical_expand.py``, with its RFC 5545 deviations worked around)
over a range of four months to a year and a half from its first date; starts and ends must be
equal. The seed changes every run and is printed on failure; rerun one with
``QUIETLY_LIBICAL_SEED=<seed> pytest tests/differential/test_libical_rules.py``.
"""

from __future__ import annotations

import os
import random
import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from quietly.core.model import RecurringSchedule
from quietly.core.schedule import occurrences, rrule_body
from tests.differential import libical
from tests.differential.random_schedules import ZONES, valid_schedule

CASES = 320
SEED = int(os.environ.get("QUIETLY_LIBICAL_SEED") or secrets.randbits(32))


def request_case(case_id: str, schedule: RecurringSchedule, lo: datetime,
                 hi: datetime) -> dict[str, Any]:
    """The helper's description of ``schedule`` (DTSTART is starts_on at start_time)."""
    assert schedule.start_time is not None
    assert schedule.starts_on is not None
    dtstart = datetime.combine(schedule.starts_on, schedule.start_time)
    end_time = schedule.end_time
    return {
        "id": case_id, "zone": schedule.timezone, "dtstart": f"{dtstart:%Y%m%dT%H%M%S}",
        "rrule": rrule_body(schedule),
        "end_time": None if end_time is None else f"{end_time:%H%M%S}",
        "overnight": end_time is not None and end_time <= schedule.start_time,
        "duration": (None if schedule.duration is None
                     else int(schedule.duration.total_seconds())),
        "lo": libical.stamp(lo), "hi": libical.stamp(hi)}


def quietly_spans(schedule: RecurringSchedule, lo: datetime,
                  hi: datetime) -> list[libical.Span]:
    return [(o.start, o.end) for o in occurrences(schedule, lo, hi) if o.start >= lo]


def draw_cases(seed: int, count: int) -> list[tuple[dict[str, Any], RecurringSchedule,
                                                     datetime, datetime]]:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        data, schedule = valid_schedule(rng, ZONES[index % len(ZONES)])
        assert schedule.starts_on is not None
        lo = datetime.combine(schedule.starts_on, time(), tzinfo=UTC) - timedelta(days=2)
        cases.append((data, schedule, lo, lo + timedelta(days=rng.randint(120, 540))))
    return cases


def test_quietly_agrees_with_libical() -> None:
    libical.require()
    print(f"libical differential seed: {SEED} (QUIETLY_LIBICAL_SEED={SEED} reruns it)")
    cases = draw_cases(SEED, CASES)
    request = {"zones": ZONES, "rules": [request_case(str(i), schedule, lo, hi)
                                         for i, (_, schedule, lo, hi) in enumerate(cases)]}
    answer = libical.run(request, f"seed {SEED}")["rules"]
    disagreements = []
    for i, (data, schedule, lo, hi) in enumerate(cases):
        ours, theirs = quietly_spans(schedule, lo, hi), libical.spans(answer[str(i)])
        if ours != theirs:
            only_ours = sorted(set(ours) - set(theirs))[:3]
            only_theirs = sorted(set(theirs) - set(ours))[:3]
            disagreements.append(f"case {i}: {data} in [{lo:%Y-%m-%d}, {hi:%Y-%m-%d}): "
                                 f"only quietly {only_ours}, only libical {only_theirs}")
    total = sum(len(libical.spans(v)) for v in answer.values())
    assert disagreements == [], (
        f"seed {SEED}: {len(disagreements)} of {CASES} windows ({total} libical occurrences) "
        "disagree:\n" + "\n".join(disagreements[:10]))


@pytest.mark.parametrize("seed", [18, 5545])
def test_fixed_seeds_agree(seed: int) -> None:
    """Two fixed seeds as well, so that a failure found once stays in the suite."""
    libical.require()
    cases = draw_cases(seed, 40)
    answer = libical.run({"zones": ZONES, "rules": [
        request_case(str(i), s, lo, hi) for i, (_, s, lo, hi) in enumerate(cases)]})["rules"]
    mismatched = [i for i, (_, s, lo, hi) in enumerate(cases)
                  if quietly_spans(s, lo, hi) != libical.spans(answer[str(i)])]
    assert mismatched == [], f"seed {seed}: cases {mismatched}"
