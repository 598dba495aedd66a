"""Run the ``quietly`` CLI in-process (Typer's CliRunner) against the test server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner, Result

from quietly.cli import app
from quietly.core.records import Role
from tests.conftest import Tenant

runner = CliRunner()


def cli(*args: str, stdin: str | None = None, env: dict[str, str | None] | None = None) -> Result:
    """Run ``quietly ARGS``; an unexpected exception fails the test with its traceback."""
    result = runner.invoke(app, list(args), input=stdin, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def client_cli(tenant: Tenant, *args: str, role: Role = Role.EDITOR,
               stdin: str | None = None) -> Result:
    """Run a client command with ``--url`` and ``--key`` of ``tenant``."""
    return cli(*args, "--url", tenant.base_url, "--key", tenant.keys[role], stdin=stdin)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def ok_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def rows(output: str) -> list[list[str]]:
    """A table printed by the CLI as lists of cells (columns are split by 2+ spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.strip()]


def in_hours(hours: float) -> str:
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() + hours * 3600,
                                  UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
