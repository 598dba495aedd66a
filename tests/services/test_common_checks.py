"""``windows._common_valid``: a common create as ``create_fastpath.common_fields`` reads it,
vouched for without the full checks only when the full checks (``_with_default_start``,
``_check_own_fields``, ``_reject_ended_once``) pass it; what it does not vouch for goes
through them, which name the error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.api.native.create_fastpath import common_fields
from quietly.core.errors import ValidationError
from quietly.core.model import OnceSchedule
from quietly.core.records import WindowFields
from quietly.services.windows import (
    _check_own_fields,
    _common_valid,
    _reject_ended_once,
    _with_default_start,
)
from tests.api.test_create_common_fields import ZONES, documents

_T = datetime(2026, 12, 7, 2, tzinfo=UTC)


def _full_checks_pass(fields: WindowFields, now: datetime) -> bool:
    try:
        checked = _with_default_start(fields, now)
        _check_own_fields(checked)
        _reject_ended_once(checked, now)
    except ValidationError:
        return False
    return checked is fields


@settings(max_examples=1500, deadline=None)
@given(document=documents(), zone=st.sampled_from(ZONES),
       now=st.integers(-3 * 24 * 60, 3 * 24 * 60).map(lambda m: _T + timedelta(minutes=m)))
def test_what_it_vouches_for_passes_the_full_checks(document: Any, zone: str,
                                                     now: datetime) -> None:
    fields = common_fields(document, zone)
    if fields is not None:
        assert _common_valid(fields, now) == _full_checks_pass(fields, now), document


def _common(name: str = "w", targets: tuple[str, ...] = ("service:a",),
            hours: tuple[int, int] = (1, 2)) -> WindowFields:
    return WindowFields(name=name, targets=targets, schedule=OnceSchedule(
        _T + timedelta(hours=hours[0]), _T + timedelta(hours=hours[1])))


@pytest.mark.parametrize(("fields", "valid"), [
    (_common(), True),
    (_common(name=" \t"), False),            # blank name
    (_common(targets=()), False),            # no target
    (_common(hours=(2, 2)), False),          # end not after start
    (_common(hours=(-2, 0)), False),         # ended at now
    (_common(hours=(-2, 1)), True),          # running now
], ids=["plain", "blank name", "no target", "empty", "ended", "running"])
def test_common_valid_table(fields: WindowFields, valid: bool) -> None:
    assert _common_valid(fields, _T) is valid
    assert _full_checks_pass(fields, _T) is valid
