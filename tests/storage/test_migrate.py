"""``storage.migrate``: a store already at the heads is recognised without Alembic (issue 19,
start-up), and everything else still goes through ``alembic upgrade``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from quietly.storage.db import Database
from quietly.storage.migrate import alembic_config, script_heads, stored_heads, upgrade

_IMPORTED = ("import sys; from quietly.storage.db import Database; "
             "from quietly.storage.migrate import upgrade; "
             "upgrade(Database(sys.argv[1]).engine); print('alembic' in sys.modules)")


def test_the_heads_read_from_the_files_are_alembics(db: Database) -> None:
    """Alembic's heads, less those another head depends on (0013 depends on the branches
    0002 and 0003: after an upgrade ``alembic_version`` holds 0013 alone)."""
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
