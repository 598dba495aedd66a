"""Reading a SQLite store's windows in a second process while the server imports (issue 19).

``quietly serve`` spends its first half second importing FastAPI, SQLAlchemy and the app,
on one core; reading 50,000 windows (the query, then decoding their JSON) is another half
second on the same core. On SQLite, ``serve`` starts this module as a child process
(``EarlyRead.start``) before those imports: the child reads what the index loader needs in
one read transaction and decodes it, on the second core, meanwhile. The app then takes the
rows (``EarlyRead.take``) instead of reading the store itself — but only when they are
provably current:

- the child notes SQLite's ``PRAGMA data_version`` inside its read transaction, and the app
  asks it again when it would read the store itself (after migrations and the default
  workspace, before serving): the child answers whether any connection — of this process,
  another ``quietly`` command, a migration, anything — has committed since. Any commit at
  all, and the rows are dropped for the usual read (``None``);
- a child that fails, dies, is slow beyond ``timeout`` or says anything unexpected gives
  ``None`` too. Nothing is kept: there is no snapshot file to go stale.

So the rows are what the app's own read would return at that moment, and decisions stay
exact; at worst the start is as slow as without this module.

The child writes its rows into a file without a name that the app opened and handed it
(``tempfile.TemporaryFile``; gone with the last descriptor), then their size on its
standard output: the app reads them in one call when it needs them. Through the pipe alone
the child stalled after its first 64 KiB until the app read, and the ~7 MB of 50,000
windows then crossed in a hundred turns between the two processes on the app's start-up
path (~0.03 s of it; the file: one copy from memory).

What the child hands over (``marshal``: integers, texts, tuples; each distinct name or set
of effects one object, which ``marshal`` writes once and then refers to, so the index's
windows share their target names as the store's own read makes them share interned ones —
not interned: ``marshal.loads`` would intern each of them again, a third of its time):
per live window in id order one of three forms, all beginning ``(id, workspace,
updated_at, cancelled_at, effects, targets`` with ``targets`` the distinct names in order:
a one-time window with targets only (most windows) adds ``start, end)``, its instants in
microseconds; any other one-time window ``start, end, all_targets, groups, match)``; a
recurring window ``all_targets, groups, match, schedule)`` (groups, conditions and schedule
as stored: the app decodes each distinct text once, ``services.index_load``); per target
group ``(workspace, name, members)``. This module imports only the standard library and
msgspec: the child must start fast.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import select
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import msgspec

__all__ = ["MIN_BYTES", "ROW_COLUMNS", "EarlyRead", "core_free", "json_micros", "loads",
           "sqlite_path"]

# The columns of ``services.index_load``'s statement, in its order, as SQLite stores them.
ROW_COLUMNS = ("id", "workspace_id", "updated_at", "cancelled_at", "all_targets",
               "schedule", "targets", "groups", "match", "effects")
_WINDOWS = ("SELECT id, workspace_id, updated_at, cancelled_at, all_targets, "
            "CAST(schedule AS TEXT), CAST(targets AS TEXT), CAST(groups AS TEXT), "
            "CAST(match AS TEXT), CAST(effects AS TEXT) FROM windows "
            "WHERE archived_at IS NULL ORDER BY id")
_GROUPS = "SELECT workspace_id, name, CAST(targets AS TEXT) FROM target_groups"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CHECK, _CURRENT, _CHANGED = b"?", b"=", b"!"

_decode = msgspec.json.Decoder().decode


def loads(text: str) -> Any:
    """A stored JSON text, decoded: by msgspec, or by ``json.loads`` where msgspec refuses
    the text (``NaN``, say: never written by us, but still JSON as ``json.loads`` reads it)."""
    try:
        return _decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def json_micros(value: str) -> int:
    """An RFC 3339 instant of a schedule's JSON in microseconds since the epoch
    (``core.intervals.micros``; a naive one is UTC)."""
    found = datetime.fromisoformat(value)
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return (found - _EPOCH) // _MICROSECOND


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL (``None`` for anything else: other
    databases, in-memory stores, URLs with options, a file not there yet)."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix):]
            if path and "?" not in path and not path.startswith(":memory:") \
                    and os.path.isfile(path):
                return path
    return None


# -- the child ------------------------------------------------------------------------------

class _Rows:
    """The child's side: stored rows to the forms described in the module docstring."""

    def __init__(self) -> None:
        self._once: dict[str, tuple[int, int] | None] = {}  # schedule text → its instants
        # One object per distinct text: marshal writes a text held twice once, and then a
        # reference to it (what the parent loads is a fifth smaller and faster to load).
        self._texts: dict[str, str] = {}
        self._one = self._texts.setdefault

    def interval(self, schedule: str) -> tuple[int, int] | None:
        """A one-time schedule's start and end; ``None`` for a recurring one."""
        if schedule in self._once:
            return self._once[schedule]
        data = loads(schedule)
        found = (json_micros(data["start"]), json_micros(data["end"])) \
            if data["kind"] == "once" else None
        self._once[schedule] = found
        return found

    def window(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        wid, workspace, updated, cancelled, all_targets, schedule, targets, groups, match, \
            effects = row
        one = self._one
        names = tuple(dict.fromkeys([one(name, name) for name in loads(targets)])) \
            if targets != "[]" else ()
        interval = self.interval(schedule)
        if interval is not None and groups == "[]" and match == "[]" and not all_targets:
            return (wid, workspace, updated, cancelled, one(effects, effects), names, *interval)
        if interval is not None:  # one-time, scoped
            return (wid, workspace, updated, cancelled, one(effects, effects), names, *interval,
                    all_targets, one(groups, groups), one(match, match))
        return (wid, workspace, updated, cancelled, one(effects, effects), names, all_targets,
                one(groups, groups), one(match, match), one(schedule, schedule))


def _read(conn: sqlite3.Connection) -> tuple[bytes, int]:
    """Every live window and every group, encoded, and the store's data version then."""
    rows = _Rows()
    conn.execute("BEGIN")  # one snapshot for both tables and the version
    try:
        windows = [rows.window(row) for row in conn.execute(_WINDOWS)]
        groups = [(ws, name, frozenset(loads(members)))
                  for ws, name, members in conn.execute(_GROUPS)]
        version = conn.execute("PRAGMA data_version").fetchone()[0]
    finally:
        conn.execute("COMMIT")
    return marshal.dumps((windows, groups)), version


def _child(path: str, spool: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Read, write the rows into ``spool`` and say their size, then answer one question:
    has anything committed since?"""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    blob, version = _read(conn)
    with open(spool, "wb", closefd=True) as out:
        out.write(blob)
    stdout.write(len(blob).to_bytes(8, "big"))
    stdout.flush()
    if stdin.read(1) != _CHECK:  # the parent went away, or loads by itself
        return
    current = conn.execute("PRAGMA data_version").fetchone()[0] == version
    stdout.write(_CURRENT if current else _CHANGED)
    stdout.flush()


# -- the parent -----------------------------------------------------------------------------

# Below this size (about a thousand windows with their audit entries) a child costs more
# than it saves: measured on an empty store, a start took 0.2-0.3 s longer with one on a
# loaded 2-core VM (bench/README.md, "Start-up, fourth pass").
MIN_BYTES = 1 << 20


# Linux's run queue now: its fourth field is "runnable tasks/all tasks".
_LOADAVG = "/proc/loadavg"
_LOOKS = 3


def core_free() -> bool:
    """Whether the child is likely to find a core to itself: fewer tasks runnable at this
    moment, this process included, than cores (Linux's ``/proc/loadavg``); where that cannot
    be read, the last minute's load average below the number of cores. (On a machine whose
    cores are all busy the child's reading is extra work in the same share of CPU: a
    50,000-window start took 10.0 s instead of 8.7 s at load 7 on 2 cores; bench/README.md,
    "Start-up, fourth pass". The minute's average alone lags: a start on an idle machine
    right after a busy minute — a deploy's build, the writes benchmark — went without the
    child, 1.33-1.47 s to ready instead of 1.03-1.21; "Start-up, sixth pass".)"""
    cores = os.cpu_count() or 1
    try:
        # A few looks a millisecond apart: a task that runs for an instant (a kernel
        # worker, whoever polls for this server to be ready) does not count as busy.
        for look in range(_LOOKS):
            if look:
                time.sleep(0.001)
            with open(_LOADAVG, "rb") as stat:
                if int(stat.read().split()[3].split(b"/")[0]) < cores:
                    return True
        return False
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        return True
    return load < cores


def _stored_bytes(path: str) -> int:
    total = 0
    for name in (path, path + "-wal"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(name)
    return total


Prefetched = tuple[list[tuple[Any, ...]], list[tuple[int, str, frozenset[str]]]]


class EarlyRead:
    """A child process reading a SQLite store (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen[bytes], spool: IO[bytes]) -> None:
        self._proc: subprocess.Popen[bytes] | None = proc
        self._spool = spool  # where the child writes its rows (its descriptor: argv[2])

    @classmethod
    def start(cls, database_url: str, min_bytes: int = MIN_BYTES,
              *, need_free_core: bool = True) -> EarlyRead | None:
        """Start reading the store of ``database_url``; ``None`` when it is not a SQLite
        file that exists (PostgreSQL, a first start), holds less than ``min_bytes`` (file
        and write-ahead log), no core looks free (``need_free_core``: the child's work would
        only add to the start's), or the child cannot be started."""
        path = sqlite_path(database_url)
        if path is None or os.name != "posix":  # (``select`` on pipes: POSIX only)
            return None
        if _stored_bytes(path) < min_bytes or (need_free_core and not core_free()):
            return None
        try:
            spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by ``take``, ``close``)
        except OSError:
            return None
        try:
            # (our own module on the store's path, no shell)
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", __name__, path, str(spool.fileno())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                pass_fds=(spool.fileno(),))
        except OSError:
            spool.close()
            return None
        return cls(proc, spool)

    def take(self, timeout: float = 30.0) -> Prefetched | None:
        """The child's windows and groups if nothing has been committed to the store since
        it read them, else ``None`` (then read the store). Call it where the store would be
        read, and once: the child is gone afterwards."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            return _receive(proc, self._spool.fileno(), timeout)
        except (OSError, ValueError, EOFError, TypeError):
            return None
        finally:
            _end(proc)
            self._spool.close()

    def wait_read(self, timeout: float) -> bool:
        """Whether the child has read the store (or ended) within ``timeout`` seconds."""
        proc = self._proc
        return proc is not None and proc.stdout is not None \
            and _ready(proc.stdout.fileno(), timeout)

    def close(self) -> None:
        """Stop the child if its rows were never taken."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc)
            self._spool.close()


_MAX_BYTES = 1 << 31  # far beyond any store's rows (50,000 windows: ~7 MB)


def _exactly(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes from ``fd``, or ``EOFError`` when it ends or ``deadline`` passes."""
    if not 0 <= size <= _MAX_BYTES:
        raise ValueError(f"the early read announced {size} bytes")
    parts: list[bytes] = []
    while size:
        if not _ready(fd, deadline - time.monotonic()):
            raise EOFError("the early read stalled")
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise EOFError("the early read ended early")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _receive(proc: subprocess.Popen[bytes], spool: int,
             timeout: float) -> Prefetched | None:
    assert proc.stdin is not None
    assert proc.stdout is not None
    fd, deadline = proc.stdout.fileno(), time.monotonic() + timeout
    size = int.from_bytes(_exactly(fd, 8, deadline), "big")
    if not 0 <= size <= _MAX_BYTES:
        raise ValueError(f"the early read announced {size} bytes")
    written = os.fstat(spool).st_size
    if written != size:
        raise EOFError(f"the early read announced {size} bytes and wrote {written}")
    blob = os.pread(spool, size, 0)
    if len(blob) != size:
        raise EOFError("the early read's file ended early")
    proc.stdin.write(_CHECK)
    proc.stdin.flush()
    if _exactly(fd, 1, time.monotonic() + timeout) != _CURRENT:
        return None
    windows, groups = marshal.loads(blob)  # noqa: S302 (our own child's plain data)
    if type(windows) is not list or type(groups) is not list:
        raise ValueError("the early read sent something else")
    return windows, groups


def _ready(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read (or its end) within ``timeout`` seconds."""
    readable, _, _ = select.select([fd], [], [], max(timeout, 0.0))
    return bool(readable)


def _end(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.stdin.buffer, sys.stdout.buffer)
