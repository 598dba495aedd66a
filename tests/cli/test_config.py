"""One place for settings: a TOML config file under QUIETLY_* variables, ``config show``,
and a data directory that does not depend on the working directory. Real ``quietly``
processes with a home of their own (settings are read once per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QUIETLY_", "XDG_")) and k != "STATE_DIRECTORY"}
    return {**env, "HOME": str(home), "PYTHONTZPATH": "", **extra}


def quietly(env: dict[str, str], *args: str, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quietly.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def _show(result: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """``name = value  # source`` lines of ``config show`` as {name: (value, source)}."""
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith("#"):
            continue
        setting, _, source = line.partition("  # ")
        name, _, value = setting.partition(" = ")
        found[name.strip()] = (value.strip(), source.strip())
    return found


def test_config_file_under_environment_with_sources_and_secrets_masked(tmp_path: Path) -> None:
    config = tmp_path / "quietly.toml"
    config.write_text('port = 9090\ndefault_timezone = "Europe/Berlin"\n'
                      'oidc_client_secret = "hunter2"\n'
                      'database_url = "postgresql://ops:s3cret@127.0.0.1:5432/quietly"\n')
    env = _env(tmp_path / "home", QUIETLY_DEFAULT_TIMEZONE="Asia/Tokyo")
    result = quietly(env, "--config", str(config), "config", "show")
    shown = _show(result)
    assert (result.returncode, shown["port"], shown["default_timezone"],
            shown["oidc_client_secret"], shown["database_url"][0], shown["host"],
            "hunter2" in result.stdout, "s3cret" in result.stdout,
            result.stdout.splitlines()[0]) == (
        0, ("9090", str(config)), ('"Asia/Tokyo"', "environment QUIETLY_DEFAULT_TIMEZONE"),
        ('"********"', str(config)),
        '"postgresql+psycopg://ops:***@127.0.0.1:5432/quietly"', ('"127.0.0.1"', "default"),
        False, False, f"# config file: {config}"), result.stderr


def test_usual_locations_and_quietly_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "quietly").mkdir(parents=True)
    (home / ".config" / "quietly" / "config.toml").write_text("port = 7001\n")
    named = tmp_path / "named.toml"
    named.write_text("port = 7002\n")
    from_home = _show(quietly(_env(home), "config", "show"))
    from_variable = _show(quietly(_env(home, QUIETLY_CONFIG=str(named)), "config", "show"))
    assert (from_home["port"][0], from_variable["port"][0]) == ("7001", "7002")


BAD_FILES = {
    "a named file that is missing": (None, "no such config file (from QUIETLY_CONFIG)"),
    "an unknown key": ("prot = 9090\n", "unknown setting 'prot'"),
    "not TOML": ("port = \n", "not valid TOML"),
    "a bad value": ('port = "eighty"\n', "error: QUIETLY_PORT: Input should be a valid"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_config_file_stops_with_a_line_naming_it(case: str, tmp_path: Path) -> None:
    text, message = BAD_FILES[case]
    config = tmp_path / "quietly.toml"
    if text is not None:
        config.write_text(text)
    result = quietly(_env(tmp_path / "home", QUIETLY_CONFIG=str(config)), "config", "show")
    assert (result.returncode, message in result.stderr, "Traceback" in result.stderr) == (
        2, True, False), result.stderr


def test_the_database_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    home, here, there = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    here.mkdir()
    there.mkdir()
    env = _env(home)
    made = quietly(env, "admin", "create-workspace", "payments", cwd=here)
    listed = quietly(env, "admin", "list-workspaces", cwd=there)
    database = home / ".local" / "share" / "quietly" / "quietly.db"
    assert (made.returncode, made.stderr, [r.split("\t")[1] for r in listed.stdout.splitlines()],
            database.exists(), (here / "quietly-data").exists()) == (
        0, f"database: sqlite:///{database}\n", ["default", "payments"], True, False)


def test_systemd_state_directory_is_the_default_data_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = quietly(_env(tmp_path / "home", STATE_DIRECTORY=str(state)), "admin",
                     "create-key", "--name", "ops", "--role", "viewer")
    assert (result.returncode, result.stdout.splitlines()[-1].startswith("qly_"),
            result.stderr.splitlines()[0], (state / "quietly.db").exists()) == (
        0, True, f"database: sqlite:///{state / 'quietly.db'}", True)
