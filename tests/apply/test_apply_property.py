"""Property: whatever sequence of desired sets is applied with --prune, the source's windows
afterwards are exactly the last set, and applying it again changes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.apply.helpers import apply, live_windows, patch_night
from tests.conftest import Tenant

KEYS = ["a", "b", "c", "d"]
VARIANTS: list[dict[str, Any]] = [
    {"name": "Patch night"},
    {"name": "Patch night", "description": "kernel"},
    {"name": "Renamed", "targets": ["service:db", "service:cache"]},
    {"name": "Earlier", "effects": ["drop"]},
]
SETS = st.dictionaries(st.sampled_from(KEYS), st.integers(0, len(VARIANTS) - 1), max_size=4)


def _window(key: str, variant: int) -> dict[str, Any]:
    window = patch_night(key, **VARIANTS[variant])
    if variant == 3:
        window["schedule"] = {**window["schedule"], "start_time": "21:00"}
    return window


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=st.lists(SETS, min_size=1, max_size=3))
def test_apply_with_prune_converges_to_the_last_set(tenant: Tenant,
                                                    sets: list[dict[str, int]]) -> None:
    for desired in sets:
        windows = [_window(k, v) for k, v in sorted(desired.items())]
        first = apply(tenant, source="prop", windows=windows, prune=True)
        again = apply(tenant, source="prop", windows=windows, prune=True)
        assert (first.status_code, again.json()["changes"],
                [(k, n) for k, s, n in live_windows(tenant) if s == "prop"]) == (
            200, [], sorted((k, str(VARIANTS[v]["name"])) for k, v in desired.items()))
