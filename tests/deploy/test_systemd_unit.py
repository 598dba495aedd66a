"""``deploy/quietly.service`` passes ``systemd-analyze verify`` with no warning and keeps a
low exposure score in ``systemd-analyze security`` (Debian's systemd, offline: no running
systemd is needed). ``ExecStart`` is pointed at this environment's ``quietly`` first,
because verify checks that the program exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "quietly.service"
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(ANALYZE is None, reason="needs systemd-analyze (Debian: "
                                "apt-get install systemd)")


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    quietly = Path(sys.executable).with_name("quietly")
    assert quietly.exists()
    copy = tmp_path / "quietly.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/quietly", str(quietly)))
    return copy


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_unit_verifies_without_warnings(unit: Path) -> None:
    result = _analyze("verify", "--man=no", str(unit))
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_unit_is_sandboxed(unit: Path) -> None:
    text = UNIT.read_text()
    result = _analyze("security", "--offline=true", str(unit))
    score = re.search(r"Overall exposure level for quietly.service: ([0-9.]+)", result.stdout)
    assert score is not None, result.stdout + result.stderr
    assert (float(score.group(1)) <= 2.0, "DynamicUser=yes" in text,
            "StateDirectory=quietly" in text) == (True, True, True)
