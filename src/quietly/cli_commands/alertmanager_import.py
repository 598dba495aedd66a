"""``quietly import alertmanager-silences`` and ``quietly import alertmanager-config``.

Both create windows through the native API of a running server (``QUIETLY_URL`` /
``--quietly-url`` and ``QUIETLY_API_KEY`` / ``--key``; ``--url`` is Alertmanager's here), print
one line per window created and per thing skipped or not translatable with the reason, and
are idempotent: windows carry an import key in their description and are not created twice.
``quietly import FILE`` (an export) keeps working: ``ImportGroup`` sends anything that is not
one of these subcommands to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from quietly.cli_commands.bulk import create_many
from quietly.cli_commands.common import JsonOpt, KeyOpt, connect, emit_json, fail
from quietly.client import DEFAULT_URL, QuietlyClient

if TYPE_CHECKING:
    from quietly.integrations.alertmanager.config_import import ConfigPlan, Finding

__all__ = ["ImportGroup", "alertmanager_config", "alertmanager_silences"]

QuietlyUrlOpt = Annotated[str, typer.Option(
    "--quietly-url", envvar="QUIETLY_URL", help="Base URL of the quietly server.",
    rich_help_panel="Connection")]


class ImportGroup(TyperGroup):
    """``quietly import``: subcommands, and ``quietly import FILE`` for an export file."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["file", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


def _existing_keys(client: QuietlyClient) -> dict[str, int]:
    """Import key → window id, over every window of the workspace (a cancelled one too:
    cancelling an imported window is a decision a second import must respect)."""
    from quietly.integrations.alertmanager.config_import import import_key

    found: dict[str, int] = {}
    for window in client.iter_windows({}):
        key = import_key(window.get("description"))
        if key:
            found.setdefault(key, int(window["id"]))
    return found


def _headers(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise fail(f"--header: {value!r} is not 'Name: value'")
        out[name.strip()] = text.strip()
    return out


def alertmanager_silences(
    url: Annotated[str, typer.Option("--url", help="Alertmanager's base URL, e.g. "
                                     "http://127.0.0.1:9093 (a path prefix is kept).")],
    take_over: Annotated[bool, typer.Option(
        "--take-over", help="Expire each silence in Alertmanager once its window exists.")]
    = False,
    basic_auth: Annotated[str | None, typer.Option(
        "--basic-auth", envvar="ALERTMANAGER_BASIC_AUTH", metavar="USER:PASSWORD",
        help="HTTP basic auth for Alertmanager.", show_default=False)] = None,
    bearer_token: Annotated[str | None, typer.Option(
        "--bearer-token", envvar="ALERTMANAGER_BEARER_TOKEN",
        help="Bearer token for Alertmanager.", show_default=False)] = None,
    header: Annotated[list[str] | None, typer.Option(
        "--header", help="Extra header for Alertmanager, 'Name: value' (repeatable).")] = None,
    quietly_url: QuietlyUrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Turn Alertmanager's active and pending silences into one-time windows.

    Example: quietly import alertmanager-silences --url http://127.0.0.1:9093 --take-over
    """
    from quietly.integrations.alertmanager.silences_import import (
        AlertmanagerApi,
        AlertmanagerError,
        plan_silences,
    )

    auth = None
    if basic_auth is not None:
        user, sep, password = basic_auth.partition(":")
        if not sep:
            raise fail("--basic-auth: expected USER:PASSWORD")
        auth = (user, password)
    report: dict[str, list[dict[str, Any]]] = {"created": [], "skipped": [], "expired": [],
                                               "errors": []}
    try:
        with AlertmanagerApi(url, basic_auth=auth, bearer_token=bearer_token,
                             headers=_headers(header or [])) as am, \
                connect(quietly_url, key) as client:
            plan = plan_silences(am.list_silences(), _existing_keys(client), source=url,
                                 now=datetime.now(UTC))
            taken = []
            outcomes = create_many(client, [body for _, body in plan.create])
            for (silence, body), (window_id, error) in zip(plan.create, outcomes,
                                                           strict=True):
                if error is not None:
                    report["errors"].append({"silence": silence["id"], "error": str(error)})
                    continue
                report["created"].append({"silence": silence["id"], "window": window_id,
                                          "name": body["name"]})
                taken.append((silence, window_id))
            for silence, window_id in plan.imported:
                report["skipped"].append({"silence": silence["id"], "reason":
                                          f"already imported as window {window_id}"})
            report["skipped"] += [{"silence": s["id"], "reason": r} for s, r in plan.skipped]
            if take_over:
                for silence, window_id in [*taken, *plan.imported]:
                    am.expire(silence["id"])
                    report["expired"].append({"silence": silence["id"], "window": window_id})
    except AlertmanagerError as exc:
        raise fail(str(exc)) from exc
    _print_silences(report, as_json)


def _print_silences(report: dict[str, list[dict[str, Any]]], as_json: bool) -> None:
    if as_json:
        emit_json(report)
    else:
        for r in report["created"]:
            typer.echo(f"created window {r['window']} from silence {r['silence']}: {r['name']}")
        for r in report["expired"]:
            typer.echo(f"expired silence {r['silence']} (now window {r['window']})")
        for r in report["skipped"]:
            typer.echo(f"skipped silence {r['silence']}: {r['reason']}")
        for r in report["errors"]:
            typer.echo(f"error: silence {r['silence']}: {r['error']}", err=True)
    if report["errors"]:
        raise typer.Exit(1)


def alertmanager_config(
    file: Annotated[Path, typer.Argument(help="alertmanager.yml ('-' for standard input).",
                                         allow_dash=True)],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print what would be created; create nothing.")] = False,
    quietly_url: QuietlyUrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Turn every time interval that routes mute with into recurring windows.

    Example: quietly import alertmanager-config /etc/alertmanager/alertmanager.yml --dry-run
    """
    from quietly.integrations.alertmanager.amconfig import ConfigError, load_config
    from quietly.integrations.alertmanager.config_import import plan_config

    source = "<stdin>" if str(file) == "-" else str(file)
    try:
        text = typer.get_text_stream("stdin").read() if str(file) == "-" \
            else file.read_text(encoding="utf-8")
        plan = plan_config(load_config(text, source), now=datetime.now(UTC))
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    results: list[dict[str, Any]] = []
    if dry_run:
        results = [{"key": w.key, "window": w.body} for w in plan.windows]
    else:
        with connect(quietly_url, key) as client:
            existing = _existing_keys(client)
            outcomes = iter(create_many(client, [p.body for p in plan.windows
                                                 if p.key not in existing]))
            for planned in plan.windows:
                entry: dict[str, Any] = {"key": planned.key, "name": planned.body["name"]}
                if planned.key in existing:
                    entry["existing"] = existing[planned.key]
                else:
                    window_id, error = next(outcomes)
                    entry["id"], entry["error"] = window_id, str(error) if error else None
                results.append(entry)
    _print_config(plan, results, dry_run, as_json)


def _findings(items: list[Finding]) -> list[dict[str, str]]:
    return [{"interval": f.subject, "reason": f.reason} for f in items]


def _print_config(plan: ConfigPlan, results: list[dict[str, Any]], dry_run: bool,
                  as_json: bool) -> None:
    if as_json:
        emit_json({"windows": results, "untranslatable": _findings(plan.untranslatable),
                   "skipped": _findings(plan.skipped), "notes": _findings(plan.notes)})
    else:
        for r in results:
            if dry_run:
                w = r["window"]
                typer.echo(f"would create: {w['name']}: {w['schedule']['rrule']} "
                           f"{w['schedule']['start_time']}-{w['schedule']['end_time']} "
                           f"({w['schedule']['timezone']})")
            elif r.get("existing") is not None:
                typer.echo(f"skipped {r['name']}: already imported as window {r['existing']}")
            elif r.get("id") is not None:
                typer.echo(f"created window {r['id']}: {r['name']}")
            else:
                typer.echo(f"error: {r['name']}: {r['error']}", err=True)
        for f in plan.untranslatable:
            typer.echo(f"not translated: {f.subject}: {f.reason}")
        for f in plan.skipped:
            typer.echo(f"skipped {f.subject}: {f.reason}")
        for f in plan.notes:
            typer.echo(f"note: {f.subject}: {f.reason}")
    if any(r.get("error") for r in results):
        raise typer.Exit(1)
