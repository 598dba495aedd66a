"""Maintenance files: YAML and JSON read alike, line numbers kept for errors, and the JSON
Schema in docs/ kept current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quietly.api.native.apply_schemas import QuietlyFile
from quietly.cli_commands.manifest import dump, load
from tests.cli.helpers import cli, ok

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "quietly-file.schema.json"

PATCH_YAML = """\
# Patch night, owned by the platform team
groups:
  - name: db-tier
    targets: [service:db, service:db-replica]
windows:
  - key: patch-night
    name: Patch night
    groups: [db-tier]
    schedule:
      kind: recurring
      timezone: Europe/Berlin
      rrule: FREQ=MONTHLY;BYDAY=2TU
      start_time: 22:00
      end_time: 02:00
      starts_on: 2031-01-01
"""

FREEZE_JSON = {"windows": [
    {"key": "freeze", "name": "Release freeze", "all_targets": True,
     "schedule": {"kind": "once", "start": "2032-12-20T00:00:00+01:00",
                  "end": "2033-01-02T00:00:00+01:00"}},
    {"key": "sundays", "name": "Sunday backups", "targets": ["service:backup"],
     "schedule": {"kind": "recurring", "timezone": "UTC", "cron": "0 3 * * 0",
                  "duration": "PT2H", "starts_on": "2031-01-01"}}]}


def test_the_schema_in_docs_is_current() -> None:
    """Regenerate with: quietly schema -o docs/quietly-file.schema.json"""
    assert ok(cli("schema")).stdout == SCHEMA_FILE.read_text(encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "maintenance").mkdir()
    (tmp_path / "maintenance" / "patch.yaml").write_text(PATCH_YAML)
    (tmp_path / "maintenance" / "freeze.json").write_text(json.dumps(FREEZE_JSON, indent=2))
    (tmp_path / "maintenance" / "notes.txt").write_text("not a maintenance file")
    return tmp_path


def test_a_directory_is_read_in_name_order_with_times_and_dates_as_strings(repo: Path) -> None:
    manifest = load([repo / "maintenance"])
    schedule = manifest.windows[2]["schedule"]
    assert ([w["key"] for w in manifest.windows], [g["name"] for g in manifest.groups],
            (schedule["start_time"], schedule["end_time"], schedule["starts_on"]),
            manifest.errors) == (
        ["freeze", "sundays", "patch-night"], ["db-tier"], ("22:00", "02:00", "2031-01-01"),
        [])


def test_files_follow_the_schema_model(repo: Path) -> None:
    manifest = load([repo / "maintenance"])
    parsed = QuietlyFile.model_validate({"windows": manifest.windows,
                                         "groups": manifest.groups})
    assert len(parsed.windows) == 3


def test_a_path_of_the_set_points_at_its_file_and_line(repo: Path) -> None:
    manifest = load([repo / "maintenance"])
    folder = repo / "maintenance"
    assert [manifest.locate(path, "msg") for path in (
        "windows[2].schedule.timezone", "windows[2].name", "windows[2].description",
        "groups[0].targets[1]", "windows[1]", "source")] == [
        f"{folder}/patch.yaml:11: windows[0].schedule.timezone: msg",
        f"{folder}/patch.yaml:7: windows[0].name: msg",
        f"{folder}/patch.yaml:6: windows[0].description: msg",
        f"{folder}/patch.yaml:4: groups[0].targets[1]: msg",
        f"{folder}/freeze.json:13: windows[1]: msg",
        f"{folder}/freeze.json, {folder}/patch.yaml: source: msg"]


@pytest.mark.parametrize(("name", "text", "error"), [
    ("syntax.yaml", "windows:\n  - key: [unclosed\n", "syntax.yaml:3: not valid YAML"),
    ("list.yaml", "- key: a\n", "list.yaml:1: expected a mapping with 'windows' and/or 'groups'"),
    ("extra.yaml", "windows: []\nwindow: []\n", "extra.yaml:2: window: unknown key"),
    ("notlist.yaml", "windows:\n  key: a\n", "notlist.yaml:2: windows: expected a list"),
    ("item.yaml", "groups:\n  - web\n", "item.yaml:2: groups[0]: expected a mapping"),
    ("bad.json", '{"windows": [}', "bad.json:1: not valid JSON: Expecting value"),
    ("tabs.json", '{\n\t"windows": [\n\t\t{"key": 1}\n\t],\n\t"x": 2\n}',
     "tabs.json:5: x: unknown key"),
])
def test_file_errors_name_file_and_line(tmp_path: Path, name: str, text: str,
                                        error: str) -> None:
    (tmp_path / name).write_text(text)
    errors = load([tmp_path / name]).errors
    assert [e.removeprefix(f"{tmp_path}/")[: len(error)] for e in errors] == [error]


def test_every_broken_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("windows: {}\n")
    (tmp_path / "b.yaml").write_text("groups: [1, 2]\n")
    errors = load([tmp_path, tmp_path / "missing.yaml"]).errors
    assert [e.replace(f"{tmp_path}/", "") for e in errors] == [
        "missing.yaml: no such file or directory", "a.yaml:1: windows: expected a list",
        "b.yaml:1: groups[0]: expected a mapping", "b.yaml:1: groups[1]: expected a mapping"]


def test_dump_reads_back_to_the_same_values(repo: Path) -> None:
    manifest = load([repo / "maintenance"])
    document = {"groups": manifest.groups, "windows": manifest.windows}
    (repo / "again.yaml").write_text(dump(document))
    again = load([repo / "again.yaml"])
    assert {"groups": again.groups, "windows": again.windows} == document
