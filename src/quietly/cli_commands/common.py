"""What every client command shares: connection options, errors, JSON and table output.

Exit codes: 0 success, 1 a negative answer (``check``: not quiet; ``import``: some windows
failed), 2 an error (bad flags, a refused request, an unreachable server) — click itself also
uses 2 for usage errors, so scripts can treat 2 as "could not tell".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from quietly.client import DEFAULT_URL, ClientError, QuietlyClient
from quietly.core.errors import QuietlyError
from quietly.core.timeutil import get_zone

__all__ = ["DEFAULT_URL", "JsonOpt", "KeyOpt", "UrlOpt", "connect", "emit_json", "fail",
           "fail_on", "format_length", "format_local", "format_occurrence", "format_utc",
           "format_wire_utc", "parse_instant", "table"]

UrlOpt = Annotated[str, typer.Option(
    "--url", envvar="QUIETLY_URL", help="Base URL of the quietly server.",
    rich_help_panel="Connection")]
KeyOpt = Annotated[str | None, typer.Option(
    "--key", envvar="QUIETLY_API_KEY", help="API key (Bearer).", show_default=False,
    rich_help_panel="Connection")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

_MAX_CELL = 60


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` to stderr; return the Exit to raise (``raise fail(…)``)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def fail_on(exc: QuietlyError | ClientError) -> typer.Exit:
    """``error: <field>: <detail>`` for a domain error or a server's problem+json."""
    return fail(str(exc))


@contextmanager
def connect(url: str, key: str | None) -> Iterator[QuietlyClient]:
    """A client for ``url``; any client error inside the block exits 2 with its message.

    A missing key is refused before any request: the server would only answer 401.
    """
    if not key or url == DEFAULT_URL:  # not given: the config file may name them
        from quietly.settings import get_settings

        settings = get_settings()
        key, url = key or settings.api_key, settings.url if url == DEFAULT_URL else url
    if not key:
        raise fail("no API key: pass --key, set QUIETLY_API_KEY or put api_key in the "
                   "config file")
    try:
        with QuietlyClient(url, key) as client:
            yield client
    except ClientError as exc:
        raise fail_on(exc) from exc


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _cell(value: object) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` under ``headers`` in aligned columns (long cells are shortened)."""
    cells = [[_cell(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def parse_instant(text: str) -> datetime:
    """Read an RFC 3339 instant from the wire (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def format_utc(instant: datetime) -> str:
    return instant.astimezone(get_zone("UTC")).strftime("%Y-%m-%d %H:%M UTC")


def format_wire_utc(text: str) -> str:
    """A wire instant (``2026-11-23T18:51:18.336437Z``) as ``2026-11-23 18:51:18 UTC``."""
    return parse_instant(text).astimezone(get_zone("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_local(instant: datetime, zone: str) -> str:
    """``Sun 2026-03-29 03:30 CEST``: weekday, wall clock and the zone's abbreviation."""
    return instant.astimezone(get_zone(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def format_length(length: timedelta) -> str:
    """``2h``, ``1d 2h 30m``, ``45s``: an occurrence's elapsed length, largest units first."""
    seconds = int(length.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts) or "0s"


def format_occurrence(occurrence: dict[str, str] | None, zone: str | None) -> str:
    """One occurrence from the wire, in ``zone`` when known (else UTC); ``-`` when None."""
    if not occurrence:
        return "-"
    start, end = parse_instant(occurrence["start"]), parse_instant(occurrence["end"])
    if zone is None:
        return f"{format_utc(start)} → {format_utc(end)}"
    return f"{format_local(start, zone)} → {format_local(end, zone)}"
