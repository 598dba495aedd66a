"""``storage.migrate``: a store already at the heads is recognised without Alembic (issue 19,
start-up), and everything else still goes through ``alembic upgrade``; ``quietly db status``
and ``db downgrade`` say what they apply or undo, and a store a newer release migrated is
refused in words."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from quietly.core.errors import QuietlyError
from quietly.storage.db import Database
from quietly.storage.migrate import (
    SchemaNewer,
    alembic_config,
    behind,
    downgrade,
    migrations,
    script_heads,
    stored_heads,
    undone_by,
    upgrade,
)

_IMPORTED = ("import sys; from quietly.storage.db import Database; "
             "from quietly.storage.migrate import upgrade; "
             "upgrade(Database(sys.argv[1]).engine); print('alembic' in sys.modules)")


def test_the_heads_read_from_the_files_are_alembics(db: Database) -> None:
    """Alembic's heads, less those another head depends on (0013 depends on the branches
    0002 and 0003: after an upgrade ``alembic_version`` holds the last revision alone)."""
    script = ScriptDirectory.from_config(alembic_config(db.engine))
    behind: set[str] = set()
    todo = [down for head in script.get_heads()
            for down in script.get_revision(head)._all_down_revisions]
    while todo:
        revision = todo.pop()
        if revision not in behind:
            behind.add(revision)
            todo += script.get_revision(revision)._all_down_revisions
    assert script_heads() == frozenset(script.get_heads()) - behind


def test_the_test_database_holds_the_heads(db: Database) -> None:
    assert stored_heads(db.engine) == script_heads()


def _imports_alembic(url: str) -> bool:
    out = subprocess.run([sys.executable, "-c", _IMPORTED, url], capture_output=True,
                         text=True, timeout=120, check=True,
                         env={**os.environ, "PYTHONTZPATH": ""})
    return out.stdout.strip() == "True"


def test_alembic_runs_for_a_new_store_and_not_for_one_at_the_heads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = _imports_alembic(url)
    again = _imports_alembic(url)
    assert (first, again, stored_heads(Database(url).engine)) == (True, False, script_heads())


def test_a_store_behind_the_heads_is_upgraded(tmp_path: Path) -> None:
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db.engine)
        command.downgrade(alembic_config(db.engine), "0011")
        behind = stored_heads(db.engine)
        upgrade(db.engine)
        assert (behind != script_heads(), stored_heads(db.engine)) == (True, script_heads())
    finally:
        db.dispose()


def _quietly(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``quietly`` command on the SQLite file ``path`` (stdin not a terminal)."""
    return subprocess.run([sys.executable, "-c", "from quietly.cli import main; main()", *args],
                          capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONTZPATH": "",
                               "QUIETLY_DATABASE_URL": f"sqlite:///{path}"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stamp(path: Path, revision: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_every_migration_comes_after_what_it_names_and_a_new_store_needs_them_all() -> None:
    order = [m.revision for m in behind(None)]
    assert sorted(order) == sorted(migrations())
    assert all(order.index(before) < order.index(m.revision)
               for m in migrations().values() for before in m.after)
    assert behind(script_heads()) == []
    assert all(m.title and "\n" not in m.title for m in migrations().values())


def test_what_downgrade_says_it_undoes_is_what_alembic_undoes(tmp_path: Path) -> None:
    """Differential, against Alembic: down to every revision in turn, newest first; the
    migrations ``undone_by`` names are exactly those ``upgrade`` would then apply again."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db.engine)
        for target in [m.revision for m in reversed(behind(None))][1:]:
            stored = stored_heads(db.engine)
            assert stored is not None
            predicted = undone_by(stored, target)
            downgrade(db.engine, target)
            after = stored_heads(db.engine)
            assert {m.revision for m in behind(after)} - {m.revision for m in behind(stored)} \
                == {m.revision for m in predicted}, target
        assert stored_heads(db.engine) == {"0001"}
        upgrade(db.engine)
        assert stored_heads(db.engine) == script_heads()
    finally:
        db.dispose()


@pytest.mark.parametrize(("stored", "target", "field_or_kind"), [
    ({"0014"}, "0099", "revision"),             # no such migration
    ({"0001"}, "0012", "revision"),             # not reached yet: that is an upgrade
    ({"0015"}, "0012", SchemaNewer),            # a newer release's store
])
def test_downgrade_targets_that_are_refused(stored: set[str], target: str,
                                            field_or_kind: object) -> None:
    with pytest.raises(QuietlyError) as caught:
        undone_by(frozenset(stored), target)
    if isinstance(field_or_kind, str):
        assert caught.value.field == field_or_kind
    else:
        assert isinstance(caught.value, SchemaNewer)


def test_a_store_a_newer_release_migrated_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
        _stamp(path, "0015")
        with pytest.raises(SchemaNewer, match=r"0015.*newer release"):
            upgrade(db.engine)
    finally:
        db.dispose()
    for args in (("db", "upgrade"), ("db", "status"), ("serve", "--port", str(_free_port()))):
        out = _quietly(path, *args)
        assert (out.returncode, "Traceback" in out.stderr) == (1, False), out.stderr
        assert "0015" in out.stderr
        assert "quietly db downgrade 0014" in out.stderr


@pytest.mark.parametrize(("url", "said"), [
    # a folder that cannot be made: SQLite cannot open the file
    ("sqlite:////proc/quietly-nowhere/q.db", "cannot open the database sqlite:////proc/"),
    # nothing listens on port 1; the password is not printed
    ("postgresql+psycopg://quietly:s3cret@127.0.0.1:1/quietly",
     "cannot open the database postgresql+psycopg://quietly:***@127.0.0.1:1/quietly: "),
])
def test_serve_names_a_store_it_cannot_open_in_one_line(url: str, said: str) -> None:
    out = subprocess.run([sys.executable, "-c", "from quietly.cli import main; main()",
                          "serve", "--port", str(_free_port())],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                         env={**os.environ, "PYTHONTZPATH": "", "QUIETLY_DATABASE_URL": url})
    assert (out.returncode, "Traceback" in out.stderr, "s3cret" in out.stderr) == (
        1, False, False), out.stderr
    assert said in out.stderr.splitlines()[-1]


def test_db_status_and_downgrade_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    assert "no schema yet" in _quietly(path, "db", "status").stdout
    assert _quietly(path, "db", "upgrade").returncode == 0
    status = _quietly(path, "db", "status")
    assert (status.returncode, status.stdout.splitlines()[-1]) == (0, "up to date")

    asked = _quietly(path, "db", "downgrade", "0011")  # no terminal to confirm at
    assert (asked.returncode, "--yes" in asked.stderr) == (2, True)
    assert "undo 0014: change feed" in asked.stdout
    assert "undo 0013: compact store" in asked.stdout
    assert "undo 0012" in asked.stdout
    assert _quietly(path, "db", "status").stdout.splitlines()[-1] == "up to date"

    done = _quietly(path, "db", "downgrade", "0011", "--yes")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "database taken back to 0011")
    status = _quietly(path, "db", "status").stdout
    assert [line.split(":")[0] for line in status.splitlines()[1:]] == ["pending 0012",
                                                                        "pending 0013",
                                                                        "pending 0014"]
    ahead = _quietly(path, "db", "downgrade", "0012", "--yes")
    assert (ahead.returncode, "has not reached 0012" in ahead.stderr) == (1, True)
    assert _quietly(path, "db", "upgrade").returncode == 0
    assert _quietly(path, "db", "status").stdout.splitlines()[-1] == "up to date"
