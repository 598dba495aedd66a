"""The ``NOTIFY`` payloads of window changes: a batch's ids as ranges, read back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.services.outbox import MAX_PAYLOAD, changed_ids_payloads, parse_window_ids


@pytest.mark.parametrize(("ids", "payloads"), [
    ([7], ["w:3:7"]),
    ([5, 6, 7, 8], ["w:3:5-8"]),
    ([9, 5, 6, 12, 13, 20], ["w:3:5-6,9,12-13,20"]),
    (list(range(100, 10_100)), ["w:3:100-10099"]),
])
def test_ids_are_sent_as_runs(ids: list[int], payloads: list[str]) -> None:
    assert changed_ids_payloads(3, ids) == payloads


@pytest.mark.parametrize(("text", "ids"), [
    ("7", [7]),
    ("5-8,12", [5, 6, 7, 8, 12]),
    ("x", []),
    ("5-", []),
    ("8-5", []),
    ("1-100001", []),  # more than any batch: not ours
    ("1-60000,70000-130000", []),
    ("", []),
])
def test_payload_ids_are_read_strictly(text: str, ids: list[int]) -> None:
    assert parse_window_ids(text) == ids


@given(st.lists(st.integers(min_value=1, max_value=10**12), max_size=3000))
def test_payloads_name_exactly_the_ids_and_fit_a_notification(ids: list[int]) -> None:
    payloads = changed_ids_payloads(42, ids)
    read = [i for p in payloads for i in parse_window_ids(p.split(":", 2)[2])]
    assert (sorted(read), all(len(p.encode()) < MAX_PAYLOAD for p in payloads)) == (
        sorted(set(ids)), True)
