"""``quietly admin create-key | list-keys | revoke-key`` (server side: they work on the
configured database directly, like the other ``admin`` commands; imported by ``quietly.cli``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from quietly.cli_commands.common import fail
from quietly.cli_commands.config import using_database
from quietly.core.errors import QuietlyError
from quietly.core.records import Role

__all__ = ["create_key", "list_keys", "parse_expiry", "revoke_key"]

_RELATIVE = re.compile(r"^(\d{1,5})\s*([mhdw])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}


def parse_expiry(text: str, now: datetime) -> datetime:
    """``90d``, ``12h``, ``2w``, ``30m`` from ``now``; or a date (midnight UTC) or an RFC 3339
    instant. Raises ValueError with a message for the user."""
    value = text.strip()
    relative = _RELATIVE.match(value.lower())
    if relative:
        amount = int(relative.group(1))
        if amount == 0:
            raise ValueError("--expires must be in the future")
        return now + amount * _UNITS[relative.group(2)]
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("z", "Z"))
                                        else value)
    except ValueError:
        raise ValueError(f"--expires {text!r}: write 90d, 12h, 2w, a date (2027-03-01, "
                         "midnight UTC) or an instant (2027-03-01T09:00:00+01:00)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _option_error(exc: QuietlyError) -> str:
    """The error with its field named as the option that set it (``scope[1]`` → --scope)."""
    field = exc.field or ""
    for name, option in (("scope", "--scope"), ("expires_at", "--expires"), ("name", "--name")):
        if field == name or field.startswith(name + "["):
            return f"{option}: {exc.message}"  # the message quotes the value at fault
    return str(exc)


def create_key(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'deploy-bot'.")],
    role: Annotated[Role, typer.Option(
        help="viewer, maintenance (start, stop and check only), editor or admin.")
    ] = Role.EDITOR,
    workspace: Annotated[str, typer.Option(help="Workspace slug.")] = "default",
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="Limit the key to windows on these targets (repeat it, or separate "
        "with commas): service:checkout, service:pay-*, group:web-tier.",
        show_default=False)] = None,
    expires: Annotated[str | None, typer.Option(
        help="When the key stops working: 90d, 12h, 2w, a date or an RFC 3339 instant.",
        show_default=False)] = None,
) -> None:
    """Create an API key; the key is printed alone on the last line.

    Example: export QUIETLY_API_KEY=$(quietly admin create-key --name deploy-bot)

    Example: quietly admin create-key --name deploy-payments --role maintenance
    --scope 'service:pay-*' --expires 90d
    """
    from quietly.services import workspaces
    from quietly.services.bootstrap import prepare_database

    now = datetime.now(UTC)
    patterns = [p.strip() for item in scope or [] for p in item.split(",") if p.strip()]
    try:
        expires_at = parse_expiry(expires, now) if expires is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from exc
    db = prepare_database(using_database())
    try:
        with db.transaction() as session:
            ws = workspaces.get_workspace(session, workspace)
            info, raw = workspaces.create_key(session, ws.id, name=name, role=role, now=now,
                                              created_by="cli", scope=patterns,
                                              expires_at=expires_at)
    except QuietlyError as exc:
        raise fail(_option_error(exc)) from exc
    finally:
        db.dispose()
    limits = ""
    if info.scope:
        limits += f", limited to {', '.join(info.scope)}"
    if info.expires_at:
        limits += f", expires {info.expires_at.isoformat(timespec='seconds')}"
    typer.echo(f"created {info.role.value} key {info.name!r} (id {info.id}) in {ws.slug}"
               f"{limits}; store it now, it is not shown again:", err=True)
    typer.echo(raw)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if value else "-"


def list_keys(
    workspace: Annotated[str, typer.Option(help="Workspace slug.")] = "default",
    revoked: Annotated[bool, typer.Option("--revoked", help="Show revoked keys too.")] = False,
) -> None:
    """List a workspace's keys: id, name, role, scope, last use, expiry, state.

    Example: quietly admin list-keys --workspace default
    """
    from quietly.services import workspaces
    from quietly.services.bootstrap import prepare_database

    now = datetime.now(UTC)
    db = prepare_database(using_database())
    try:
        with db.read() as session:
            ws = workspaces.get_workspace(session, workspace)
            keys = workspaces.list_keys(session, ws.id)
    except QuietlyError as exc:
        raise fail(str(exc)) from exc
    finally:
        db.dispose()
    typer.echo("ID\tNAME\tROLE\tSCOPE\tLAST USED\tEXPIRES\tSTATE")
    for k in keys:
        if k.revoked_at is not None and not revoked:
            continue
        state = ("revoked" if k.revoked_at else "expired" if k.expired(now) else "active")
        typer.echo(f"{k.id}\t{k.name}\t{k.role.value}\t{','.join(k.scope) or '*'}\t"
                   f"{_when(k.last_used_at)}\t{_when(k.expires_at)}\t{state}")


def revoke_key(
    key_id: Annotated[int, typer.Argument(help="The key's id (see list-keys).", min=1,
                                          max=2**62)],
    workspace: Annotated[str, typer.Option(help="Workspace slug.")] = "default",
) -> None:
    """Revoke a key: it stops working at once (in a running server within 10 s).

    Example: quietly admin revoke-key 7
    """
    from quietly.core.records import Principal
    from quietly.services import workspaces
    from quietly.services.bootstrap import prepare_database

    db = prepare_database(using_database())
    try:
        with db.transaction() as session:
            ws = workspaces.get_workspace(session, workspace)
            actor = Principal(workspace_id=ws.id, workspace_slug=ws.slug,
                              workspace_timezone=ws.timezone, role=Role.ADMIN, key_id=None,
                              key_name="cli")
            info = workspaces.revoke_key(session, actor, key_id, datetime.now(UTC))
    except QuietlyError as exc:
        raise fail(str(exc)) from exc
    finally:
        db.dispose()
    typer.echo(f"revoked key {info.name!r} (id {info.id}) in {ws.slug}")
