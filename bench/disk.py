"""Where quietly's SQLite store spends its bytes per window (issue #19, "on disk").

    PYTHONTZPATH="" python -m bench.disk [--load 20000] [--keep]

Loads ``--load`` windows the way ``bench.writes`` does (``POST /api/v1/windows/batch`` into
a fresh ``bench.serve`` on an empty store, the same one-time windows with one target), stops
the server cleanly and prints: the data directory's growth per window (``bench.writes``'s
"on disk" figure, without Alertmanager and the create-rate parts), then SQLite's ``dbstat``
per table and index: bytes of payload, of page overhead and unused space, per window.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx

from bench.servers import Servers
from bench.writes import BATCH, _dir_bytes, window_body
from quietly.api.app import prepare_database
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.settings import Settings

__all__ = ["breakdown", "main"]


def breakdown(db_file: Path) -> list[tuple[str, int, int, int]]:
    """``(table or index, pages' bytes, payload, unused)`` per b-tree, biggest first."""
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT name, sum(pgsize), sum(payload), sum(unused) FROM dbstat "
            "GROUP BY name ORDER BY sum(pgsize) DESC").fetchall()
    return [(str(n), int(p), int(pl), int(u)) for n, p, pl, u in rows]


def load(url: str, key: str, count: int) -> None:
    """``count`` of ``bench.writes``'s windows through the batch endpoint, one request at a
    time (the bytes do not depend on concurrency), a batch that got 503 sent again: on a
    loaded machine (load average 15-20) the server's state refresh every 30 s (``_Ticker``)
    can hold SQLite's write lock longer than the busy timeout, for the old code too."""
    now = datetime.now(UTC)
    with httpx.Client(base_url=url, timeout=600, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"}) as http:
        for start in range(0, count, BATCH):
            body = {"windows": [window_body(i, now)
                                for i in range(start, min(count, start + BATCH))]}
            content = json.dumps(body).encode()
            for _ in range(5):  # a batch is all or nothing: a 503 wrote none of it
                response = http.post("/api/v1/windows/batch", content=content)
                if response.status_code != 503:
                    break
                print("503, retrying:", response.text[:120])
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code} {response.text[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep and name the data folder")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="quietly-bench-disk-"))
    db = prepare_database(Settings(data_dir=data_dir, run_worker=False))
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, "bench-disk", name="bench",
                                         timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.EDITOR, now=now)[1]
    db.dispose()
    empty = _dir_bytes(data_dir)
    before = {name: pages for name, pages, _, _ in breakdown(next(data_dir.glob("*.db")))}
    with Servers({"QUIETLY_DATA_DIR": str(data_dir)}, 1) as servers:
        load(servers.url, key, args.load)
    codes = [proc.returncode for _, proc in servers._procs]
    if not set(codes) <= {0, -15}:  # uvicorn re-raises SIGTERM once it has shut down
        print(f"warning: the server did not stop cleanly (exit codes {codes})")
    grown = _dir_bytes(data_dir) - empty
    files = sorted(f"{f.name} {f.stat().st_size:,}" for f in data_dir.iterdir() if f.is_file())
    print(f"windows {args.load:,}; data directory grew {grown:,} B: "
          f"{grown / args.load:.0f} B per window ({', '.join(files)})")
    print(f"{'b-tree':<34}{'B/window':>9}{'payload':>9}{'unused':>8}")
    total = 0
    for name, pages, payload, unused in breakdown(next(data_dir.glob("*.db"))):
        pages -= before.get(name, 0)
        total += pages
        if pages:
            print(f"{name:<34}{pages / args.load:>9.1f}{payload / args.load:>9.1f}"
                  f"{unused / args.load:>8.1f}")
    print(f"{'all pages':<34}{total / args.load:>9.1f}")
    if args.keep:
        print(f"kept: {data_dir}")


if __name__ == "__main__":
    main()
