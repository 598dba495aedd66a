"""Alertmanager's own ``timeinterval`` package as a test oracle.

Builds ``amoracle/main.go`` against Debian's Alertmanager source
(``golang-github-prometheus-alertmanager-dev``, GOPATH mode, no network) with Debian's Go
(``golang-go``), once per session, and asks it whether intervals contain instants. Go reads
zone data from the ``tzdata`` Python package (``ZONEINFO``), so both sides use the same rules.
Tests using it skip, saying why, when the toolchain or the source is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import tzdata
import yaml

__all__ = ["GOCODE", "Oracle", "build_oracle", "missing_reason"]

GOCODE = Path("/usr/share/gocode")
_SOURCE = Path(__file__).with_name("amoracle") / "main.go"
_ZONEINFO = Path(tzdata.__file__).parent / "zoneinfo"


def missing_reason() -> str | None:
    """Why the oracle cannot be built here, or None."""
    if shutil.which("go") is None:
        return "Go is not installed (Debian package golang-go)"
    if not (GOCODE / "src/github.com/prometheus/alertmanager/timeinterval").is_dir():
        return ("Alertmanager's Go source is not installed "
                "(Debian package golang-github-prometheus-alertmanager-dev)")
    return None


@dataclass(frozen=True)
class Oracle:
    binary: Path

    def ask(self, cases: Sequence[tuple[dict[str, object], Sequence[datetime]]]) \
            -> list[tuple[str | None, list[bool]]]:
        """For each (interval as a mapping, instants): Alertmanager's parse error or None,
        and ContainsTime for every instant."""
        payload = {"cases": [{"interval": yaml.safe_dump(interval),
                              "instants": [t.isoformat() for t in instants]}
                             for interval, instants in cases]}
        done = subprocess.run(
            [str(self.binary)], input=json.dumps(payload), capture_output=True, text=True,
            check=True, env={**os.environ, "ZONEINFO": str(_ZONEINFO)})
        return [(r.get("error"), r["contains"]) for r in json.loads(done.stdout)["results"]]


def build_oracle(workdir: Path) -> Oracle:
    """Compile the oracle into ``workdir`` (offline, from Debian's Go source tree)."""
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off",
           "GOPATH": f"{workdir / 'gopath'}:{GOCODE}", "GOCACHE": str(workdir / "gocache")}
    binary = workdir / "amoracle"
    subprocess.run(["go", "build", "-o", str(binary), str(_SOURCE)], env=env, check=True,
                   capture_output=True)
    return Oracle(binary)
