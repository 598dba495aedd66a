"""``quietly admin create-key --scope … --role maintenance --expires …``, ``list-keys`` and
``revoke-key`` (issue #15 point 3), run as real processes on a fresh data directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quietly.cli_commands.keys import parse_expiry
from tests.cli.test_admin_commands import _env, quietly

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    return _env(tmp_path / "data")


# (--expires, instant)
EXPIRES = [
    ("90d", NOW + timedelta(days=90)),
    ("12h", NOW + timedelta(hours=12)),
    ("2w", NOW + timedelta(weeks=2)),
    ("30m", NOW + timedelta(minutes=30)),
    ("2027-03-01", datetime(2027, 3, 1, tzinfo=UTC)),
    ("2027-03-01T09:00:00+01:00", datetime(2027, 3, 1, 8, tzinfo=UTC)),
    ("2027-03-01T09:00:00Z", datetime(2027, 3, 1, 9, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "instant"), EXPIRES)
def test_parse_expiry(text: str, instant: datetime) -> None:
    assert parse_expiry(text, NOW) == instant


@pytest.mark.parametrize("text", ["0d", "soon", "90 days", "-1d"])
def test_parse_expiry_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--expires"):
        parse_expiry(text, NOW)


def test_create_list_and_revoke_a_scoped_maintenance_key(fresh: dict[str, str]) -> None:
    created = quietly(fresh, "admin", "create-key", "--name", "deploy-payments", "--role",
                      "maintenance", "--scope", "service:pay-*", "--scope",
                      "group:web-tier,service:checkout", "--expires", "90d")
    listed = quietly(fresh, "admin", "list-keys")
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    expires = datetime.strptime(rows[1][5], "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    assert (created.returncode, created.stdout.splitlines()[-1].startswith("qly_"),
            "limited to service:pay-*, group:web-tier, service:checkout" in created.stderr,
            rows[0][:4], rows[1][1:5], rows[1][6],
            abs(expires - datetime.now(UTC) - timedelta(days=90)) < timedelta(minutes=5)) == (
        0, True, True, ["ID", "NAME", "ROLE", "SCOPE"],
        ["deploy-payments", "maintenance", "service:pay-*,group:web-tier,service:checkout",
         "-"], "active", True)
    revoked = quietly(fresh, "admin", "revoke-key", rows[1][0])
    after = quietly(fresh, "admin", "list-keys").stdout.splitlines()
    with_revoked = quietly(fresh, "admin", "list-keys", "--revoked").stdout.splitlines()
    assert (revoked.returncode, len(after), with_revoked[1].split("\t")[-1]) == (0, 1, "revoked")


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "checkout"], "error: --scope: 'checkout' is not a target pattern"),
    (["--expires", "2001-01-01"], "error: --expires: must be in the future"),
    (["--expires", "soon"], "error: --expires 'soon': write 90d"),
    (["--role", "admin", "--scope", "service:x"], "error: --scope: an admin key cannot"),
])
def test_bad_options_exit_2_naming_the_option(fresh: dict[str, str], args: list[str],
                                              message: str) -> None:
    result = quietly(fresh, "admin", "create-key", "--name", "bad", *args)
    assert (result.returncode, result.stderr.splitlines()[-1].startswith(message)) == (
        2, True), result.stderr
