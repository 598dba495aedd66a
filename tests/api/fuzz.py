"""Run schemathesis over the live server's whole OpenAPI document, every surface at once.

The suite runs the ``schemathesis`` command against the test server (its pytest plugin no
longer loads on pytest 9.2): every phase (examples, coverage, fuzzing, stateful) and every
check the installed version has. Operations are read from the document, so an operation added
later is fuzzed without touching this file. Credentials go by the document's security
schemes (``api.openapi``): a bearer key natively and on four compatibility APIs, HTTP Basic on
Uptrends. The key is an admin key, which the API will not let revoke itself.

Reproducible: Hypothesis' deterministic mode, the same cases every run. Deeper, opt-in:
``QUIETLY_FUZZ_EXAMPLES`` (examples per operation and phase); other cases:
``QUIETLY_FUZZ_SEED=<n>`` (random generation from that seed, so the same seed replays them).
Every failure is printed with its curl reproduction and the seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_SEED", "EXAMPLE_CONFIG", "SURFACES", "FuzzRun", "config_text",
           "default_examples", "fuzz", "run_schemathesis", "surface_of"]

# Where the five compatibility APIs live; everything else in the document is native.
SURFACES = ("native", "ohdear", "uptrends", "pagertree", "ionhour", "incidentio")
DEFAULT_SEED = 20261206
REPO = Path(__file__).resolve().parents[2]
# The same configuration for a run by hand against `quietly serve` (README, Operating).
EXAMPLE_CONFIG = Path(__file__).with_name("schemathesis.example.toml")


def surface_of(path: str) -> str:
    """``/compat/<vendor>/…`` → the vendor; any other path → ``native``."""
    if path.startswith("/compat/"):
        return path.split("/")[2]
    return "native"


def default_examples(database_url: str) -> int:
    """Examples per operation and phase: ``QUIETLY_FUZZ_EXAMPLES``, else 40 on SQLite (the
    CI run that must find the defects) and a lighter 12 on PostgreSQL."""
    raw = os.environ.get("QUIETLY_FUZZ_EXAMPLES")
    if raw:
        return int(raw)
    return 12 if database_url.startswith("postgresql") else 40


@dataclass
class FuzzRun:
    """What one schemathesis run tested and found, per operation label ("GET /path")."""

    seed: int | None  # None: deterministic generation
    examples: int
    seconds: float
    returncode: int
    output: str
    operations: dict[str, list[str]] = field(default_factory=dict)  # label → failures

    def failures(self, surface: str) -> dict[str, list[str]]:
        return {label: found for label, found in self.operations.items()
                if found and _surface_of_label(label) == surface}

    def tested(self, surface: str) -> list[str]:
        return sorted(label for label in self.operations if _surface_of_label(label) == surface)


def _surface_of_label(label: str) -> str | None:
    """"GET /compat/ohdear/…" → "ohdear"; None for what is no operation ("Stateful tests",
    whose failures the run's exit status reports)."""
    method, _, path = label.partition(" ")
    return surface_of(path) if method.isupper() and path.startswith("/") else None


def _known_ids(known: dict[str, list[int | str]]) -> str:
    """Path parameters drawn half the time from objects that exist (a dictionary per name),
    so reads, changes and deletes get past the 404 as often as they probe it."""
    lines = []
    for name, values in sorted(known.items()):
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    if known:
        lines.append("[parameters]")
        lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}'
                  for name in sorted(known)]
    return "\n".join(lines)


def config_text(key: str, examples: int, seed: int | None,
                known: dict[str, list[int | str]] | None = None) -> str:
    """The schemathesis.toml of a run: credentials per security scheme (``key`` as is, or
    ``${QUIETLY_API_KEY}``, which schemathesis reads from the environment), every check on,
    ``known`` ids of objects that exist by path parameter name."""
    return f"""# schemathesis configuration of quietly's test suite (tests/api/fuzz.py)
seed = {seed if seed is not None else DEFAULT_SEED}
hooks = "tests.api.fuzz_hooks"
continue-on-failure = true

[generation]
max-examples = {examples}
deterministic = {"false" if seed is not None else "true"}
# The server refuses NUL in any text, with a 422 naming the field (api.middleware.NulGuard).
allow-x00 = false

[checks]
enabled = true

[checks.positive_data_acceptance]
# Valid by the schema yet refused by a rule the schema cannot state (end after start, a
# channel that exists…): the hook's `refusal_is_documented` judges each such 400/422.
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]

[auth.openapi.apiKey]
bearer = {json.dumps(key)}

[auth.openapi.uptrendsBasic]
username = "fuzz"
password = {json.dumps(key)}

{_known_ids(known or {})}"""


def _junit_operations(report: Path) -> dict[str, list[str]]:
    """label → failure messages, from schemathesis' JUnit report (one testcase per
    operation; the stateful phase's cases are not tied to one operation)."""
    found: dict[str, list[str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        label = case.get("name", "")
        messages = [(el.get("message") or el.text or "").strip()
                    for el in case if el.tag in ("failure", "error")]
        found.setdefault(label, []).extend(messages)
    return found


def run_schemathesis(base_url: str, key: str, workdir: Path, *, examples: int,
                     seed: int | None = None, include_path_regex: str | None = None,
                     known: dict[str, list[int | str]] | None = None) -> FuzzRun:
    """Run schemathesis over ``base_url``'s document (every operation, or those whose path
    matches ``include_path_regex``) and return what it tested and found."""
    if seed is None and os.environ.get("QUIETLY_FUZZ_SEED"):
        seed = int(os.environ["QUIETLY_FUZZ_SEED"])
    config = workdir / "schemathesis.toml"
    config.write_text(config_text(key, examples, seed, known))
    report = workdir / "junit.xml"
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config),
               "run", f"{base_url}/openapi.json", "--checks", "all", "--workers", "1",
               "--report", "junit", "--report-junit-path", str(report),
               "--output-truncate", "true", "--request-timeout", "30",
               # A timing check: on a loaded machine generating one example can take long
               # (the suite asserts no wall-clock limit anywhere); the others stay on.
               "--suppress-health-check", "too_slow"]
    if include_path_regex:
        command += ["--include-path-regex", include_path_regex]
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1",
           "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks"}
    started = time.monotonic()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    if not report.exists():
        raise RuntimeError(f"schemathesis did not run (exit {done.returncode}):\n{output}")
    return FuzzRun(seed, examples, seconds, done.returncode, output,
                   _junit_operations(report))


def fuzz(base_url: str, path_regex: str, headers: dict[str, str], *,
         max_examples: int = 25) -> list[str]:
    """Fuzz the operations whose path matches, with the bearer key of ``headers``; fail on
    anything found; return the labels of the operations exercised. (The suite's full run is
    ``tests/api/test_schemathesis.py``; this is for a test that wants one area on its own.)"""
    import tempfile

    key = headers["Authorization"].removeprefix("Bearer ").strip()
    with tempfile.TemporaryDirectory() as workdir:
        run = run_schemathesis(base_url, key, Path(workdir), examples=max_examples,
                               include_path_regex=path_regex)
    assert run.returncode == 0, run.output
    return sorted(run.operations)
