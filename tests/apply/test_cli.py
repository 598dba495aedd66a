"""``quietly plan`` and ``quietly apply`` against the real server, and the YAML export's
round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quietly.core.records import Role
from tests.apply.test_files import FREEZE_JSON, PATCH_YAML
from tests.cli.helpers import cli, client_cli
from tests.conftest import Tenant

NO_CI = {"QUIETLY_SOURCE": None, "GITHUB_REPOSITORY": None, "CI_PROJECT_PATH": None}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "maintenance"
    folder.mkdir()
    (folder / "patch.yaml").write_text(PATCH_YAML)
    (folder / "freeze.json").write_text(json.dumps(FREEZE_JSON, indent=2))
    return folder


def _run(tenant: Tenant, command: str, *args: str) -> tuple[int, str, str]:
    result = client_cli(tenant, command, *args)
    return result.exit_code, result.stdout, result.stderr


def test_plan_shows_creations_with_schedule_in_words_and_next_occurrences(
        tenant: Tenant, repo: Path) -> None:
    code, out, _ = _run(tenant, "plan", "-f", str(repo), "--source", "ops")
    block = next(b for b in out.split("\n\n") if b.startswith("+ window patch-night"))
    assert (code, [line for line in block.splitlines()
                   if line.startswith(("+", "    next:", "    schedule in words:"))],
            out.splitlines()[-1]) == (
        2, ["+ window patch-night (create): Patch night",
            "    schedule in words: On the second Tuesday of every month from 22:00 to 02:00 "
            "(next day) (Europe/Berlin)",
            "    next: Tue 2031-01-14 22:00 CET → Wed 2031-01-15 02:00 CET",
            "    next: Tue 2031-02-11 22:00 CET → Wed 2031-02-12 02:00 CET",
            "    next: Tue 2031-03-11 22:00 CET → Wed 2031-03-12 02:00 CET"],
        "Plan: 4 to create, 0 to change, 0 to delete.")


def test_apply_then_plan_has_nothing_to_do_and_a_change_shows_its_fields(
        tenant: Tenant, repo: Path) -> None:
    applied = _run(tenant, "apply", "-f", str(repo), "--source", "ops")
    unchanged = _run(tenant, "plan", "-f", str(repo), "--source", "ops")
    edited = PATCH_YAML.replace("start_time: 22:00", "start_time: 23:00")
    (repo / "patch.yaml").write_text(edited)
    changed = _run(tenant, "plan", "-f", str(repo), "--source", "ops")
    assert (applied[0], applied[1].splitlines()[-1], unchanged[0], unchanged[1].splitlines()[-1],
            changed[0], [line for line in changed[1].splitlines() if "→" in line][:1]) == (
        0, "Applied: 4 to create, 0 to change, 0 to delete.",
        0, "No changes: the workspace already matches the files.",
        2, ['    schedule.start_time: "22:00" → "23:00"'])


def test_apply_prune_deletes_what_the_files_no_longer_contain(tenant: Tenant,
                                                               repo: Path) -> None:
    _run(tenant, "apply", "-f", str(repo), "--source", "ops")
    (repo / "freeze.json").unlink()
    plan = _run(tenant, "plan", "-f", str(repo), "--source", "ops", "--prune")
    applied = _run(tenant, "apply", "-f", str(repo), "--source", "ops", "--prune")
    after = _run(tenant, "plan", "-f", str(repo), "--source", "ops", "--prune")
    deleted = [line.split(" (delete, id ")[0] for line in plan[1].splitlines()
               if line.startswith("- ")]
    assert (plan[0], deleted, applied[0], after[0]) == (
        2, ["- window freeze", "- window sundays"], 0, 0)


def test_every_error_points_at_its_file_and_line(tenant: Tenant, repo: Path) -> None:
    (repo / "patch.yaml").write_text(PATCH_YAML.replace("Europe/Berlin", "Europe/Berln"))
    (repo / "freeze.json").write_text(
        '{"windows": [{"key": "freeze", "name": "Freeze",\n'
        '  "schedule": {"kind": "once", "start": "soon", "end": "2033-01-02T00:00:00Z"}}]}')
    code, out, err = _run(tenant, "plan", "-f", str(repo), "--source", "ops")
    assert (code, out, err.replace(f"{repo}/", "").splitlines()) == (1, "", [
        "freeze.json:2: windows[0].schedule.start: 'soon' is not an RFC 3339 date-time such "
        "as 2026-12-01T02:00:00Z",
        "patch.yaml:11: windows[0].schedule.timezone: unknown time zone 'Europe/Berln': use an "
        "IANA name such as Europe/Berlin"])


def test_a_failed_apply_applies_nothing(tenant: Tenant, repo: Path) -> None:
    (repo / "patch.yaml").write_text(PATCH_YAML.replace("groups: [db-tier]",
                                                        "groups: [no-such-group]"))
    code, _, err = _run(tenant, "apply", "-f", str(repo), "--source", "ops")
    listed = tenant.viewer.get("/api/v1/windows").json()["windows"]
    assert (code, err.replace(f"{repo}/", "").splitlines(), listed) == (
        1, ["patch.yaml:8: windows[0].groups[0]: no target group named 'no-such-group'; "
            "create it first"], [])


@pytest.mark.parametrize(("env", "expected"), [
    ({"QUIETLY_SOURCE": "from-env"}, "from-env"),
    ({"GITHUB_REPOSITORY": "acme/maintenance"}, "acme/maintenance"),
    ({"CI_PROJECT_PATH": "ops/maintenance"}, "ops/maintenance"),
])
def test_the_source_defaults_to_the_ci_repository(tenant: Tenant, repo: Path,
                                                   env: dict[str, str], expected: str) -> None:
    result = cli("plan", "-f", str(repo), "--url", tenant.base_url, "--key",
                 tenant.keys[Role.VIEWER], env={**NO_CI, **env})
    assert result.stdout.splitlines()[0].startswith(f"source {expected!r}")


def test_a_viewer_key_may_plan_but_not_apply(tenant: Tenant, repo: Path) -> None:
    plan = client_cli(tenant, "plan", "-f", str(repo), "--source", "s", role=Role.VIEWER)
    applied = client_cli(tenant, "apply", "-f", str(repo), "--source", "s", role=Role.VIEWER)
    assert (plan.exit_code, applied.exit_code, "editor" in applied.stderr) == (2, 1, True)


def test_without_a_source_plan_stops(tenant: Tenant, repo: Path) -> None:
    result = cli("plan", "-f", str(repo), "--url", tenant.base_url, "--key", "x", env=NO_CI)
    assert (result.exit_code, result.stderr.startswith("error: name the source")) == (1, True)


def test_plan_without_files_or_key_is_an_error(tenant: Tenant, repo: Path) -> None:
    no_files = cli("plan", "--source", "s", "--url", tenant.base_url, "--key", "x")
    no_key = cli("plan", "-f", str(repo), "--source", "s", "--url", tenant.base_url,
                 env={"QUIETLY_API_KEY": None})
    assert (no_files.exit_code, no_key.exit_code) == (1, 1)
