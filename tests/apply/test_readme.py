"""The README's "Maintenance as code" example works as printed."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from quietly.core.records import Role
from tests.cli.helpers import client_cli
from tests.conftest import Tenant

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Maintenance as code\n", 1)[1].split("\n## ", 1)[0]
FILES = dict(re.findall(r"`(maintenance/[\w.-]+\.yaml)`:\n\n```yaml\n(.*?)```", SECTION, re.S))
SNIPPETS = re.findall(r"```yaml\n(.*?)```", SECTION, re.S)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_example_plans_applies_and_then_has_nothing_to_do(tenant: Tenant,
                                                               repo: Path) -> None:
    folder = str(repo / "maintenance")
    plan = client_cli(tenant, "plan", "-f", folder, "--source", "ops/maintenance")
    applied = client_cli(tenant, "apply", "-f", folder, "--source", "ops/maintenance")
    again = client_cli(tenant, "plan", "-f", folder, "--source", "ops/maintenance")
    printed = SECTION.split("```console\n", 1)[1].split("\n$ echo", 1)[0]
    assert (sorted(FILES), plan.exit_code, plan.stdout, applied.exit_code, again.exit_code) == (
        ["maintenance/groups.yaml", "maintenance/windows.yaml"], 2,
        printed.split("\n", 1)[1] + "\n", 0, 0)


def test_the_example_errors_are_the_ones_printed(tenant: Tenant, repo: Path) -> None:
    windows = repo / "maintenance" / "windows.yaml"
    windows.write_text(windows.read_text().replace("Europe/Berlin", "Europe/Berln"))
    groups = repo / "maintenance" / "groups.yaml"
    groups.write_text(groups.read_text().replace("name: db-tier", "name: db tier"))
    result = client_cli(tenant, "plan", "-f", str(repo / "maintenance"), "--source", "s")
    printed = SECTION.split("```text\n", 1)[1].split("```", 1)[0]
    assert (result.exit_code, result.stderr.replace(f"{repo}/", "").splitlines()) == \
        (1, [line.strip() for line in printed.strip().splitlines()])


def test_the_ci_snippets_are_valid_yaml_running_plan_and_apply() -> None:
    jobs = [yaml.safe_load(text) for text in SNIPPETS[2:]]
    assert (len(jobs), ["quietly plan" in json.dumps(j) and "quietly apply" in json.dumps(j)
                        for j in jobs]) == (2, [True, True])


def test_the_curl_example_answers_a_plan(tenant: Tenant) -> None:
    command = SECTION.split("```sh\ncurl", 1)[1].split("\n#", 1)[0]
    body = json.loads(shlex.split(command.replace("\\\n", " "))[-1])
    answer = tenant.client(Role.VIEWER).post("/api/v1/apply", json=body)
    assert (answer.status_code, [c["action"] for c in answer.json()["changes"]]) == \
        (200, ["create", "create"])
