"""``quietly sync list|show|create|update|delete|status``: syncs on a running server (admin).

A sync is named by its id or its name. Secrets (``--basic-password``, ``--bearer-token``,
``--header`` values) may come from the environment so they stay out of shell history.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quietly.cli_commands.common import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    connect,
    emit_json,
    fail,
    format_wire_utc,
    table,
)
from quietly.client import QuietlyClient

__all__ = ["sync_app"]

sync_app = typer.Typer(help="Keep Alertmanager silences and Icinga 2 downtimes in step with "
                       "the windows (admin).",
                       no_args_is_help=True)

SyncRef = Annotated[str, typer.Argument(help="The sync's id or name.")]
_TARGET_LABEL_HELP = ("Which alert label a target kind stands for, kind=label (repeatable), "
                      "e.g. 'host=instance'. Default: the receiver's rule.")


def _resolve(client: QuietlyClient, ref: str) -> int:
    if ref.isdigit():
        return int(ref)
    for sync in client.request("GET", "/api/v1/syncs")["syncs"]:
        if sync["name"] == ref:
            return int(sync["id"])
    raise fail(f"no sync named {ref!r}")


def _pairs(values: list[str] | None, sep: str, what: str) -> dict[str, str] | None:
    if not values:
        return None
    out: dict[str, str] = {}
    for raw in values:
        name, found, value = raw.partition(sep)
        if not found or not name.strip():
            raise fail(f"{what}: {raw!r} is not name{sep}value")
        out[name.strip()] = value.strip()
    return out


def _body(**given: Any) -> dict[str, Any]:
    body = {k: v for k, v in given.items()
            if v is not None and k not in ("basic_user", "basic_password")}
    if given.get("basic_user"):
        body["basic_auth"] = {"username": given["basic_user"],
                              "password": given.get("basic_password") or ""}
    return body


def _print(sync: dict[str, Any]) -> None:
    auth = ("basic " + str(sync["basic_auth_username"]) if sync["basic_auth_username"]
            else "bearer" if sync["bearer_token_set"] else "none")
    if sync["type"] == "icinga2":
        tls = (sync["ca_file"] or "system CAs") if sync["verify_tls"] else "NOT verified"
        specific = [("url", sync["url"]),
                    ("endpoints", ", ".join(sync.get("endpoints") or []) or "-"),
                    ("objects", sync["target_objects"]),
                    ("all services", sync["all_services"]), ("tls", tls),
                    ("parallelism", sync.get("parallelism"))]
    else:
        specific = [("url", sync["url"] + sync["base_path"]),
                    ("target labels", sync["target_labels"] or "default (receiver rule)"),
                    ("all targets", sync["allow_all_targets"])]
    rows = [("id", sync["id"]), ("name", sync["name"]), ("type", sync["type"]), *specific,
            ("lead", sync["lead"]), ("interval", sync["interval"]), ("auth", auth),
            ("headers", ", ".join(sync["headers"]) or "-")]
    for name, value in rows:
        typer.echo(f"{name + ':':15}{value}")


NameOpt = Annotated[str | None, typer.Option(help="Name of the sync, e.g. 'prod'.")]
AmUrlOpt = Annotated[str | None, typer.Option("--am-url", help="Alertmanager's base URL.")]
BasePathOpt = Annotated[str | None, typer.Option(
    help="Where the v2 API lives: /api/v2 (Alertmanager), /api/alertmanager/grafana/api/v2 "
    "(Grafana), /alertmanager/api/v2 (Mimir, Cortex).")]
TargetLabelOpt = Annotated[list[str] | None, typer.Option("--target-label",
                                                          help=_TARGET_LABEL_HELP)]
LeadOpt = Annotated[str | None, typer.Option(help="How far ahead occurrences become "
                                                  "silences, e.g. 24h.")]
IntervalOpt = Annotated[str | None, typer.Option(help="Drift repair interval, e.g. 60s.")]
AllOpt = Annotated[bool | None, typer.Option("--allow-all-targets/--no-all-targets",
                                             help="Let all_targets windows silence "
                                                  "everything.")]
UserOpt = Annotated[str | None, typer.Option(help="Basic auth user name.")]
PasswordOpt = Annotated[str | None, typer.Option(envvar="QUIETLY_SYNC_BASIC_PASSWORD",
                                                 help="Basic auth password.",
                                                 show_default=False)]
BearerOpt = Annotated[str | None, typer.Option(envvar="QUIETLY_SYNC_BEARER_TOKEN",
                                               help="Bearer token (Grafana, Mimir, …).",
                                               show_default=False)]
HeaderOpt = Annotated[list[str] | None, typer.Option(
    "--header", help="An extra header 'Name: value' (repeatable), e.g. X-Scope-OrgID.")]
IcingaUrlOpt = Annotated[str | None, typer.Option(
    "--icinga-url", help="Icinga 2's API, e.g. https://icinga.example.com:5665 (makes an "
    "icinga2 sync: downtimes instead of silences; needs --basic-user and --basic-password).")]
TargetObjectOpt = Annotated[list[str] | None, typer.Option(
    "--target-object", help="Icinga 2: kind=Host|Service (repeatable), e.g. node=Host; "
    "default host=Host and service=Service.")]
AllServicesOpt = Annotated[bool | None, typer.Option(
    "--all-services/--host-only", help="Icinga 2: a host's downtime covers its services too "
    "(default) or the host alone.")]
CaFileOpt = Annotated[str | None, typer.Option(
    help="Icinga 2: CA certificate to verify the API with (a path on the worker's machine).")]
VerifyOpt = Annotated[bool | None, typer.Option(
    "--verify-tls/--insecure-tls", help="Icinga 2: check the API's certificate (default) or "
    "not (self-signed certificates on a trusted network only).")]
EndpointOpt = Annotated[list[str] | None, typer.Option(
    "--icinga-endpoint", help="Icinga 2: another endpoint of the same HA zone (repeatable), "
    "tried in order when --icinga-url cannot be reached.")]
ParallelismOpt = Annotated[int | None, typer.Option(
    min=1, max=32, help="Silences or downtimes created, changed or removed at once (default 8).")]


@sync_app.command("list")
def list_syncs(url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """List the workspace's syncs.

    Example: quietly sync list
    """
    with connect(url, key) as client:
        syncs = client.request("GET", "/api/v1/syncs")["syncs"]
    if as_json:
        emit_json(syncs)
        return
    table(["ID", "NAME", "TYPE", "URL", "LEAD", "INTERVAL"],
          [(s["id"], s["name"], s["type"],
            s["url"] + (s["base_path"] if s["type"] == "alertmanager" else ""), s["lead"],
            s["interval"]) for s in syncs])


@sync_app.command("show")
def show(sync: SyncRef, url: UrlOpt = DEFAULT_URL, key: KeyOpt = None,
         as_json: JsonOpt = False) -> None:
    """Show one sync (secrets are never shown, only whether they are set).

    Example: quietly sync show prod
    """
    with connect(url, key) as client:
        found = client.request("GET", f"/api/v1/syncs/{_resolve(client, sync)}")
    emit_json(found) if as_json else _print(found)


@sync_app.command("create")
def create(name: NameOpt = None, am_url: AmUrlOpt = None, base_path: BasePathOpt = None,
           target_label: TargetLabelOpt = None, lead: LeadOpt = None,
           interval: IntervalOpt = None, allow_all_targets: AllOpt = None,
           basic_user: UserOpt = None, basic_password: PasswordOpt = None,
           bearer_token: BearerOpt = None, header: HeaderOpt = None,
           icinga_url: IcingaUrlOpt = None, target_object: TargetObjectOpt = None,
           all_services: AllServicesOpt = None, ca_file: CaFileOpt = None,
           verify_tls: VerifyOpt = None,
           icinga_endpoint: EndpointOpt = None, parallelism: ParallelismOpt = None,
           url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Create a sync: quietly keeps that Alertmanager's silences (--am-url), or that Icinga
    2's downtimes (--icinga-url), equal to the windows.

    Example: quietly sync create --name prod --am-url http://alertmanager:9093
    --target-label service=service --target-label host=instance

    Example: quietly sync create --name icinga --icinga-url https://icinga-1:5665
    --icinga-endpoint https://icinga-2:5665 --basic-user quietly --ca-file /etc/quietly/ca.crt
    """
    if not name or bool(am_url) == bool(icinga_url):
        raise fail("a sync needs --name and one of --am-url and --icinga-url")
    body = _body(name=name, url=am_url or icinga_url, base_path=base_path,
                 type="icinga2" if icinga_url else None,
                 target_labels=_pairs(target_label, "=", "--target-label"), lead=lead,
                 interval=interval, allow_all_targets=allow_all_targets,
                 basic_user=basic_user, basic_password=basic_password,
                 bearer_token=bearer_token, headers=_pairs(header, ":", "--header"),
                 target_objects=_pairs(target_object, "=", "--target-object"),
                 all_services=all_services, ca_file=ca_file, verify_tls=verify_tls,
                 endpoints=icinga_endpoint or None, parallelism=parallelism)
    with connect(url, key) as client:
        created = client.request("POST", "/api/v1/syncs", json=body)
    emit_json(created) if as_json else _print(created)


@sync_app.command("update")
def update(sync: SyncRef, name: NameOpt = None, am_url: AmUrlOpt = None,
           base_path: BasePathOpt = None, target_label: TargetLabelOpt = None,
           lead: LeadOpt = None, interval: IntervalOpt = None,
           allow_all_targets: AllOpt = None, basic_user: UserOpt = None,
           basic_password: PasswordOpt = None, bearer_token: BearerOpt = None,
           header: HeaderOpt = None, icinga_url: IcingaUrlOpt = None,
           target_object: TargetObjectOpt = None, all_services: AllServicesOpt = None,
           ca_file: CaFileOpt = None, verify_tls: VerifyOpt = None,
           icinga_endpoint: EndpointOpt = None, parallelism: ParallelismOpt = None,
           url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Change the fields given; the sync runs again at once.

    Example: quietly sync update prod --lead 48h
    """
    body = _body(name=name, url=am_url or icinga_url, base_path=base_path,
                 target_labels=_pairs(target_label, "=", "--target-label"), lead=lead,
                 interval=interval, allow_all_targets=allow_all_targets,
                 basic_user=basic_user, basic_password=basic_password,
                 bearer_token=bearer_token, headers=_pairs(header, ":", "--header"),
                 target_objects=_pairs(target_object, "=", "--target-object"),
                 all_services=all_services, ca_file=ca_file, verify_tls=verify_tls,
                 endpoints=icinga_endpoint or None, parallelism=parallelism)
    with connect(url, key) as client:
        updated = client.request("PATCH", f"/api/v1/syncs/{_resolve(client, sync)}",
                                 json=body)
    emit_json(updated) if as_json else _print(updated)


@sync_app.command("delete")
def delete(sync: SyncRef, url: UrlOpt = DEFAULT_URL, key: KeyOpt = None) -> None:
    """Delete a sync; its silences or downtimes are left to end by themselves.

    Example: quietly sync delete prod
    """
    with connect(url, key) as client:
        sync_id = _resolve(client, sync)
        client.request("DELETE", f"/api/v1/syncs/{sync_id}")
    typer.echo(f"deleted sync {sync_id}")


def _when(value: str | None) -> str:
    return format_wire_utc(value) if value else "never"


@sync_app.command("status")
def status(sync: SyncRef, url: UrlOpt = DEFAULT_URL, key: KeyOpt = None,
           as_json: JsonOpt = False) -> None:
    """Objects held, last success and error, repairs, windows that cannot be expressed.
    Exits 1 when the last run failed.

    Example: quietly sync status prod
    """
    with connect(url, key) as client:
        sync_id = _resolve(client, sync)
        found = client.request("GET", f"/api/v1/syncs/{sync_id}/status")
        kind = client.request("GET", f"/api/v1/syncs/{sync_id}")["type"]
    if as_json:
        emit_json(found)
    else:
        objects = "downtimes" if kind == "icinga2" else "silences"
        typer.echo(f"{found['name']}: {'healthy' if found['healthy'] else 'NOT healthy'}, "
                   f"{found['objects']} {objects}, last success "
                   f"{_when(found['last_success_at'])}")
        if found["last_error"]:
            typer.echo(f"last error ({_when(found['last_error_at'])}, "
                       f"{found['consecutive_failures']} in a row): {found['last_error']}")
        typer.echo(f"errors {found['errors_total']}, repairs {found['repairs_total']}, "
                   f"next run {_when(found['next_run_at'])}")
        last = found.get("last_run") or {}
        if last.get("endpoint"):
            down = ", ".join(last.get("unreachable") or [])
            typer.echo(f"answered by {last['endpoint']}" + (f" (unreachable: {down})"
                                                             if down else ""))
        for repair in found["repairs"]:
            typer.echo(f"repaired {format_wire_utc(repair['at'])}: {repair['key']}: "
                       f"{repair['what']}")
        for problem in found["not_expressible"]:
            typer.echo(f"not synced: window {problem['window_id']} "
                       f"({problem['window_name']}): {problem['reason']}")
    if found["consecutive_failures"]:
        raise typer.Exit(1)
