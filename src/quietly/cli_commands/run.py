"""``quietly run``: maintenance exactly as long as a command runs.

Start a window, run the command, end the window when the command exits — whatever the way:
success, failure, Ctrl-C or SIGTERM — and exit with the command's code. While the command
outlives ``--for``, the window is extended in short steps up to ``--max``: a slow deploy never
pages anyone, and if ``quietly run`` itself is killed (SIGKILL, a lost machine) the window
lapses within one step instead of staying on for hours.

Signals: SIGTERM and SIGHUP are passed on to the command. SIGINT is too, unless ``run`` is the
terminal's foreground job: then Ctrl-C has already reached the command, which shares the
process group, and a second one could cut short its own clean-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated

import typer

from quietly.cli_commands.common import (
    DEFAULT_URL,
    KeyOpt,
    UrlOpt,
    connect,
    fail,
    fail_on,
    format_utc,
    parse_instant,
)
from quietly.client import ClientError, QuietlyClient
from quietly.core.codec import format_instant, parse_duration
from quietly.core.errors import ValidationError

__all__ = ["Extension", "exit_code", "run"]

# Extend in steps of at most this much: the most a killed `quietly run` can leave behind.
MAX_STEP = timedelta(minutes=5)
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@dataclass(frozen=True, slots=True)
class Extension:
    """When and how far to extend a window that a command is outliving.

    The window is extended once less than half a step is left, to ``now + step``, never past
    ``limit`` (start + ``--max``).
    """

    step: timedelta
    limit: datetime

    @classmethod
    def plan(cls, start: datetime, duration: timedelta, most: timedelta) -> Extension:
        return cls(step=min(duration, MAX_STEP), limit=start + most)

    def due(self, end: datetime) -> datetime:
        """The instant at which a window ending at ``end`` needs extending."""
        return end - self.step / 2

    def new_end(self, end: datetime, now: datetime) -> datetime | None:
        """The end to set at ``now``, or None when ``end`` is already at the limit."""
        target = min(now + self.step, self.limit)
        return target if target > end else None


def exit_code(returncode: int) -> int:
    """The shell's convention: a command killed by signal N exits 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _now() -> datetime:
    return datetime.now(UTC)


def _foreground() -> bool:
    """Whether this process group is the terminal's foreground job (Ctrl-C reaches all)."""
    try:
        with open("/dev/tty", "rb") as tty:
            return os.tcgetpgrp(tty.fileno()) == os.getpgrp()
    except OSError:
        return False


@contextmanager
def _forwarding(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """Pass signals on to ``child`` while the block runs; restore the handlers after."""
    foreground = _foreground()

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and foreground:
            return
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _extend(client: QuietlyClient, window_id: int, end: datetime,
            plan: Extension) -> datetime:
    """Extend the window if it is due; a failure is reported and tried again next time."""
    new_end = plan.new_end(end, _now())
    if new_end is None:
        return end
    try:
        window = client.update_window(window_id, {"schedule": {"end": format_instant(new_end)}})
    except ClientError as exc:
        typer.echo(f"quietly run: could not extend window {window_id}: {exc}", err=True)
        return end
    return parse_instant(window["schedule"]["end"])


def _supervise(client: QuietlyClient, child: subprocess.Popen[bytes], window_id: int,
               end: datetime, plan: Extension) -> tuple[int, datetime]:
    """Wait for ``child``, extending the window while it runs; its exit code and the end."""
    retry = max(plan.step / 8, timedelta(seconds=1))  # after a failed extension
    next_try = plan.due(end)
    while True:
        wait = (next_try - _now()).total_seconds() if end < plan.limit else 60.0
        try:
            return exit_code(child.wait(timeout=min(max(wait, 0.1), 60.0))), end
        except subprocess.TimeoutExpired:
            pass
        if end < plan.limit and _now() >= next_try:
            extended = _extend(client, window_id, end, plan)
            next_try = plan.due(extended) if extended > end else _now() + retry
            end = extended


def _stop(client: QuietlyClient, window_id: int, end: datetime) -> None:
    try:
        client.stop_maintenance([], window_id=window_id)
    except ClientError as exc:
        typer.echo(f"quietly run: could not end window {window_id} ({exc}); it ends by "
                   f"itself at {format_utc(end)}", err=True)


def _spawn(command: list[str]) -> subprocess.Popen[bytes] | int:
    """Start the command; the shell's exit code (127 not found, 126 not runnable) if not."""
    try:
        return subprocess.Popen(command)  # noqa: S603 - running the caller's command is the job
    except FileNotFoundError:
        typer.echo(f"quietly run: {command[0]}: command not found", err=True)
        return 127
    except OSError as exc:
        typer.echo(f"quietly run: {command[0]}: {exc.strerror}", err=True)
        return 126


def run(
    command: Annotated[list[str], typer.Argument(
        metavar="-- COMMAND [ARG]...", help="The command to run, after `--`.",
        show_default=False)],
    target: Annotated[list[str], typer.Option(
        "--target", metavar="KIND:ID", help="A target to put under maintenance (repeatable).",
        show_default=False)],
    duration: Annotated[str, typer.Option(
        "--for", metavar="DURATION", help="Expected length: 30m, 2h, PT45M.")] = "30m",
    most: Annotated[str | None, typer.Option(
        "--max", metavar="DURATION", show_default=False,
        help="Keep extending while the command runs, up to this long in all "
        "(default: 4 times --for).")] = None,
    name: Annotated[str | None, typer.Option(
        metavar="TEXT", help="Name of the window.", show_default=False)] = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None,
) -> None:
    """Run a command under maintenance: start a window, run it, end the window on exit.

    The window ends however the command ends (success, failure, Ctrl-C, SIGTERM) and `run`
    exits with the command's code (128+N when killed by signal N; 2 when maintenance could not
    start, and then the command does not run). While the command outlives --for, the window is
    extended a little at a time, up to --max.

    Example: quietly run --target service:checkout --for 30m -- ./deploy.sh v1.4.2
    """
    try:
        length = parse_duration(duration, "--for")
        longest = parse_duration(most, "--max") if most else length * 4
    except ValidationError as exc:
        raise fail_on(exc) from exc
    if longest < length:
        raise fail("--max: must not be shorter than --for")
    with connect(url, key) as client:
        window = client.start_maintenance(target, duration.strip(),
                                          name or f"run: {' '.join(command)}"[:500])
        window_id = int(window["id"])
        start = parse_instant(window["schedule"]["start"])
        end = parse_instant(window["schedule"]["end"])
        typer.echo(f"quietly run: window {window_id} started for {', '.join(target)}",
                   err=True)
        child = _spawn(command)
        code = child if isinstance(child, int) else 1
        try:
            if not isinstance(child, int):
                with _forwarding(child):
                    code, end = _supervise(client, child, window_id, end,
                                           Extension.plan(start, length, longest))
        finally:
            _stop(client, window_id, end)
    raise typer.Exit(code)
