"""Run ``libical_expand.py`` under the system Python, where Debian's libical bindings live.

The tests skip, saying why, when ``/usr/bin/python3`` cannot import ``ICalGLib`` 3.0 (install
``gir1.2-ical-3.0`` and ``python3-gi``; CI installs both, see ``.ci/run``).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tzdata

SYSTEM_PYTHON = "/usr/bin/python3"
HELPER = Path(__file__).with_name("libical_expand.py")
# The zone data quietly reads (zoneinfo with PYTHONTZPATH="" uses the tzdata package).
TZDIR = str(Path(tzdata.__file__).parent / "zoneinfo")
PROBE = "import gi; gi.require_version('ICalGLib', '3.0'); from gi.repository import ICalGLib"

Span = tuple[datetime, datetime]


@cache
def missing() -> str | None:
    """Why libical cannot be used here, or None when it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", PROBE], capture_output=True, text=True,
                           check=False, timeout=60)
    if probe.returncode != 0:
        return ("libical's GObject bindings are not installed for the system Python "
                "(apt-get install gir1.2-ical-3.0 python3-gi): " + probe.stderr.strip()[-200:])
    return None


def require() -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def run(request: dict[str, Any], context: str = "") -> dict[str, Any]:
    """Send one request to the helper (``tzdir`` filled in) and return its answer.

    ``context`` (the seed) opens the failure message when the helper fails.
    """
    require()
    body = json.dumps({"tzdir": TZDIR, **request})
    done = subprocess.run([SYSTEM_PYTHON, str(HELPER)], input=body, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, f"{context}: libical helper failed: {done.stderr[-3000:]}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def spans(pairs: list[list[str]]) -> list[Span]:
    return [(parse_stamp(a), parse_stamp(b)) for a, b in pairs]
