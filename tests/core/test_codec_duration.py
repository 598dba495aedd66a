"""``parse_duration`` keeps recent texts' results (issue 19: start-up, fifth pass): it answers
every text, first time or cached, as the uncached reading below did, errors included."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core.codec import parse_duration
from quietly.core.errors import ValidationError

# The reading before the cache, verbatim.
_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def _reference(text: str, field: str = "duration") -> timedelta:
    raw = text.strip()
    found = _DURATION.match(raw.upper()) or _SHORT_DURATION.match(raw.lower())
    if not raw or raw.upper() in ("P", "PT") or found is None:
        raise ValidationError(
            f"{text!r} is not a duration; use ISO 8601 such as 'PT30M' or 'P1DT2H', or '90m'",
            field=field,
        )
    parts = {k: float(v) for k, v in found.groupdict().items() if v}
    weeks = parts.get("w", 0.0)
    return timedelta(weeks=weeks, days=parts.get("d", 0.0), hours=parts.get("h", 0.0),
                     minutes=parts.get("m", 0.0), seconds=parts.get("s", 0.0))


def _outcome(read: object, text: str, field: str) -> object:
    try:
        return ("ok", read(text, field))  # type: ignore[operator]
    except ValidationError as exc:
        return ("refused", str(exc), exc.field)
    except (OverflowError, ValueError) as exc:
        return (type(exc).__name__, str(exc))


_PIECES = st.sampled_from(["P", "T", "W", "D", "H", "M", "S", "p", "t", "h", "m", "s", "d",
                           "1", "2", "30", "90", "1.5", "0", " ", "", "Y", "999999999"])
texts = st.one_of(st.lists(_PIECES, max_size=8).map("".join), st.text(max_size=12))


@settings(max_examples=500)
@given(text=texts, field=st.sampled_from(["duration", "schedule.duration"]))
def test_it_reads_every_text_as_the_uncached_reading_did(text: str, field: str) -> None:
    expected = _outcome(_reference, text, field)
    assert _outcome(parse_duration, text, field) == expected
    assert _outcome(parse_duration, text, field) == expected  # again: from the cache


@pytest.mark.parametrize(("text", "expected"), [
    ("PT2H", timedelta(hours=2)), ("pt2h30m", timedelta(hours=2, minutes=30)),
    ("P1DT0.5S", timedelta(days=1, seconds=0.5)), ("90m", timedelta(minutes=90)),
    (" 1w ", None), ("P", None), ("PT", None), ("", None), ("2h30", None),
])
def test_a_table_of_texts(text: str, expected: timedelta | None) -> None:
    for _ in range(2):
        if expected is None:
            with pytest.raises(ValidationError) as refused:
                parse_duration(text, "schedule.duration")
            assert refused.value.field == "schedule.duration"
        else:
            assert parse_duration(text) == expected
