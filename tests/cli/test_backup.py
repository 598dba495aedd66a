"""``quietly backup`` while a real ``quietly serve`` keeps writing, and ``quietly restore``.

The writer acknowledges each window as the API answers 201; every window acknowledged before
the backup command started must be in the copy, whatever the server wrote meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.storage.backup import contents
from tests.cli.test_admin_commands import _env, fresh, quietly, served

__all__ = ["fresh", "served"]  # fixtures re-used from the admin tests


class Writer(threading.Thread):
    """Creates windows one after another; ``acked`` holds (monotonic time, id) per 201."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, timeout=30,
                                   headers={"Authorization": f"Bearer {key}"})
        self.acked: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set() and n < 2000:
            n += 1
            answer = self.client.post("/api/v1/maintenance/start", json={
                "targets": [f"service:load-{n}"], "duration": "PT30M"})
            if answer.status_code == 201:
                self.acked.append((time.monotonic(), answer.json()["id"]))
        self.client.close()


@pytest.fixture
def writing(served: tuple[str, str]) -> Iterator[Writer]:
    writer = Writer(*served)
    writer.start()
    while len(writer.acked) < 20:  # the load is on before anything is measured
        time.sleep(0.01)
    yield writer
    writer.stop.set()
    writer.join(timeout=60)


def _window_ids(path: Path) -> set[int]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM windows")}


def test_backup_under_write_load_holds_every_acknowledged_write(
        writing: Writer, fresh: dict[str, str], tmp_path: Path) -> None:
    copy = tmp_path / "backup.db"
    started = time.monotonic()
    result = quietly(fresh, "backup", str(copy))
    acked_before = {wid for at, wid in writing.acked if at < started}
    written_while = len(writing.acked)
    in_copy = _window_ids(copy)
    assert (result.returncode, result.stdout.startswith("backed up "),
            acked_before - in_copy, contents(copy).windows == len(in_copy)) == (
        0, True, set(), True), result.stderr
    # The server went on writing: the live database now has windows the copy has not.
    while len(writing.acked) <= written_while:
        time.sleep(0.01)
    assert {wid for _, wid in writing.acked} - in_copy != set()


def test_restore_refuses_a_live_database_then_replaces_it_with_force(
        served: tuple[str, str], fresh: dict[str, str], tmp_path: Path) -> None:
    url, key = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
        kept = api.post("/api/v1/maintenance/start", json={
            "targets": ["service:kept"], "duration": "PT30M"}).json()["id"]
        copy = tmp_path / "backup.db"
        assert quietly(fresh, "backup", str(copy)).returncode == 0
        later = api.post("/api/v1/maintenance/start", json={
            "targets": ["service:later"], "duration": "PT30M"}).json()["id"]
    live = Path(fresh["QUIETLY_DATA_DIR"]) / "quietly.db"
    refused = quietly(fresh, "restore", str(copy))
    elsewhere = _env(tmp_path / "other")
    into_new = quietly(elsewhere, "restore", str(copy))
    forced = quietly(fresh, "restore", str(copy), "--force")
    assert (refused.returncode, "holds 2 windows in 1 workspaces" in refused.stderr,
            "--force" in refused.stderr, into_new.returncode, forced.returncode,
            _window_ids(tmp_path / "other" / "quietly.db"), _window_ids(live)) == (
        2, True, True, 0, 0, {kept}, {kept}), (refused.stderr, later)


REFUSALS = {
    "backup onto an existing file": (["backup", "{existing}"], "exists; pass --force"),
    "restore from a file that is not SQLite": (["restore", "{existing}"],
                                               "is not a SQLite database"),
    "restore from nothing": (["restore", "{missing}"], "does not exist"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refusals_change_nothing(case: str, fresh: dict[str, str], tmp_path: Path) -> None:
    args, message = REFUSALS[case]
    existing = tmp_path / "existing.db"
    existing.write_text("not a database")
    assert quietly(fresh, "admin", "list-workspaces").returncode == 0  # a live database
    paths = {"existing": str(existing), "missing": str(tmp_path / "missing.db")}
    result = quietly(fresh, *[a.format(**paths) for a in args])
    assert (result.returncode, message in result.stderr, existing.read_text()) == (
        2, True, "not a database")


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_on_postgresql_it_explains_pg_dump(command: str, fresh: dict[str, str],
                                           tmp_path: Path) -> None:
    env = {**fresh, "QUIETLY_DATABASE_URL": "postgresql://ops:s3cret@127.0.0.1:5432/quietly"}
    result = quietly(env, command, str(tmp_path / "quietly.dump"))
    tool = "pg_dump --format=custom" if command == "backup" else "pg_restore --clean"
    assert (result.returncode, tool in result.stderr, "s3cret" in result.stderr,
            "postgresql://ops:***@127.0.0.1:5432/quietly" in result.stderr) == (
        2, True, False, True), result.stderr
