"""Sync targets (admin): the systems whose suppression objects quietly keeps in step — the
silences of an Alertmanager cluster, the downtimes of an Icinga 2 instance.

A sync is stored with its connection (URL; for Alertmanager a base path, optional basic auth,
bearer token or extra headers; for Icinga 2 basic auth and how its certificate is checked),
how targets map to the system's notions (alert labels; Icinga object types), the lead (how
far ahead occurrences become objects) and the interval of drift repair. Fields of one type
are refused on a sync of the other (a 422 naming the field), never silently ignored.
Secrets are write-only: ``to_json`` never shows them (so the audit log never holds them),
only whether they are set. The run state is kept by ``services.sync_state``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quietly.core.codec import format_instant, parse_duration
from quietly.core.errors import Conflict, NotFound, ValidationError
from quietly.core.records import Principal
from quietly.notify.guard import DestinationRefused, check_destination
from quietly.services import audit
from quietly.storage.tables import SyncRow

__all__ = ["DEFAULT_PARALLELISM", "SYNC_TYPES", "SyncConfig", "config_from_row", "create_sync",
           "default_target_labels", "delete_sync", "format_seconds", "get_sync",
           "list_syncs", "update_sync"]

SYNC_TYPES = ("alertmanager", "icinga2")
# Fields that mean something for one type only.
_TYPE_OF_FIELD = {"base_path": "alertmanager", "target_labels": "alertmanager",
                  "allow_all_targets": "alertmanager", "bearer_token": "alertmanager",
                  "headers": "alertmanager", "target_objects": "icinga2",
                  "all_services": "icinga2", "ca_file": "icinga2", "verify_tls": "icinga2",
                  "endpoints": "icinga2"}
DEFAULT_PARALLELISM = 8
MAX_PARALLELISM = 32
MAX_ENDPOINTS = 8
ICINGA_OBJECT_TYPES = ("Host", "Service")
CA_FILE = re.compile(r"^/[^\0\r\n]{0,999}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,199}$")
KIND = re.compile(r"^[a-z][a-z0-9_]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
BASE_PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,499}$")
HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
RESERVED_HEADERS = {"authorization", "host", "content-length", "content-type",
                    "transfer-encoding", "connection"}
MAX_LEAD = timedelta(days=31)
MAX_INTERVAL = timedelta(days=1)
_SIMPLE_TEMPLATE = re.compile(r"^([a-z][a-z0-9_]*):\{([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """A sync as the API and the reconciler see it."""

    id: int
    workspace_id: int
    name: str
    type: str
    url: str
    base_path: str
    target_labels: dict[str, str] | None  # None: the receiver's rule
    lead_seconds: int
    interval_seconds: int
    allow_all_targets: bool
    basic_username: str | None
    secrets: dict[str, Any] = field(repr=False)
    created_at: datetime
    updated_at: datetime
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def lead(self) -> timedelta:
        return timedelta(seconds=self.lead_seconds)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def to_json(self) -> dict[str, Any]:
        """The public shape: secrets are never in it, only whether they are set."""
        headers = self.secrets.get("headers") or {}
        return {"id": self.id, "type": self.type, "name": self.name, "url": self.url,
                "base_path": self.base_path, "target_labels": self.target_labels,
                "lead": format_seconds(self.lead_seconds),
                "interval": format_seconds(self.interval_seconds),
                "allow_all_targets": self.allow_all_targets,
                "basic_auth_username": self.basic_username,
                "basic_auth_password_set": bool(self.secrets.get("password")),
                "bearer_token_set": bool(self.secrets.get("bearer_token")),
                "headers": sorted(headers),
                **self._options_json(),
                "created_at": format_instant(self.created_at),
                "updated_at": format_instant(self.updated_at)}


    def _options_json(self) -> dict[str, Any]:
        parallelism = int(self.options.get("parallelism", DEFAULT_PARALLELISM))
        if self.type != "icinga2":
            return {"target_objects": None, "all_services": None, "ca_file": None,
                    "verify_tls": None, "endpoints": None, "parallelism": parallelism}
        return {"target_objects": dict(self.options.get("target_objects")
                                       or DEFAULT_TARGET_OBJECTS),
                "all_services": bool(self.options.get("all_services", True)),
                "ca_file": self.options.get("ca_file"),
                "verify_tls": bool(self.options.get("verify_tls", True)),
                "endpoints": list(self.options.get("endpoints") or []),
                "parallelism": parallelism}


DEFAULT_TARGET_OBJECTS = {"host": "Host", "service": "Service"}


def format_seconds(total: int) -> str:
    """``86400`` → ``24h``, ``90`` → ``1m30s`` (the short form the API accepts)."""
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{seconds}s" if seconds or not text else ""
    return text


def default_target_labels(rule: str) -> dict[str, str]:
    """The receiver's rule (``QUIETLY_ALERTMANAGER_TARGET_LABELS``) read backwards: each
    template that is exactly ``kind:{label}`` says which label the kind stands for."""
    out: dict[str, str] = {}
    for raw in (part.strip() for part in rule.split(",")):
        found = _SIMPLE_TEMPLATE.match(raw)
        if found is not None:
            out.setdefault(found.group(1), found.group(2))
    return out


def config_from_row(row: SyncRow) -> SyncConfig:
    return SyncConfig(row.id, row.workspace_id, row.name, row.type, row.url, row.base_path,
                      dict(row.target_labels) if row.target_labels is not None else None,
                      row.lead_seconds, row.interval_seconds, row.allow_all_targets,
                      row.basic_username, dict(row.secrets or {}), row.created_at,
                      row.updated_at, dict(row.options or {}))


def _check_name(name: str) -> str:
    if not NAME.match(name) or name.isdigit():
        raise ValidationError("use letters, digits, spaces, '_', '.', ':' and '-' (at most "
                              "200), starting with a letter or digit, not only digits",
                              field="name")
    return name


def _check_url(url: str, allow_private: bool) -> str:
    """http(s) only, no credentials in it, and no internal address unless
    ``QUIETLY_WEBHOOK_ALLOW_PRIVATE`` (the same guard as webhook channels)."""
    try:
        check_destination(url, allow_private)
    except DestinationRefused as exc:
        if not exc.retryable:
            raise ValidationError(str(exc), field="url") from exc
    return url


def _check_base_path(path: str) -> str:
    if not BASE_PATH.match(path) or "//" in path or "/../" in f"{path}/":
        raise ValidationError("a path such as '/api/v2' or '/api/alertmanager/grafana/api/v2' "
                              "(letters, digits, '.', '_', '~', '-' and '/')",
                              field="base_path")
    return "/" + path.strip("/")


def _check_target_labels(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    for kind, label in value.items():
        if not KIND.match(kind):
            raise ValidationError(f"{kind!r} is not a target kind ([a-z][a-z0-9_]*)",
                                  field="target_labels")
        if not LABEL.match(label):
            raise ValidationError(f"{label!r} is not an Alertmanager label name "
                                  "([a-zA-Z_][a-zA-Z0-9_]*)", field=f"target_labels.{kind}")
    return dict(value)


def _seconds(text: str, name: str, low: timedelta, high: timedelta) -> int:
    value = parse_duration(text, name)
    if value < low or value > high or value.total_seconds() != int(value.total_seconds()):
        lowest, highest = (format_seconds(int(v.total_seconds())) for v in (low, high))
        raise ValidationError(f"must be whole seconds between {lowest} and {highest}",
                              field=name)
    return int(value.total_seconds())


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if not HEADER.match(name) or name.lower() in RESERVED_HEADERS:
            raise ValidationError(f"{name!r} is not a header quietly may set (a token; not "
                                  "Authorization, Host or Content-*)", field="headers")
        if any(ch in value for ch in "\r\n\0"):
            raise ValidationError("header values cannot hold line breaks",
                                  field=f"headers.{name}")
    return dict(headers)


def _check_type_fields(sync_type: str, changes: dict[str, Any]) -> None:
    for name, owner in _TYPE_OF_FIELD.items():
        if owner != sync_type and changes.get(name) not in (None, {}, []):
            raise ValidationError(f"only {owner} syncs have this field (this sync is "
                                  f"{sync_type})", field=name)


def _check_target_objects(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    for kind, object_type in value.items():
        if not KIND.match(kind):
            raise ValidationError(f"{kind!r} is not a target kind ([a-z][a-z0-9_]*)",
                                  field="target_objects")
        if object_type not in ICINGA_OBJECT_TYPES:
            raise ValidationError("must be 'Host' or 'Service'",
                                  field=f"target_objects.{kind}")
    return dict(value)


def _apply_icinga(row: SyncRow, changes: dict[str, Any]) -> None:
    options = dict(row.options or {})
    if "target_objects" in changes:
        options["target_objects"] = _check_target_objects(changes["target_objects"])
    if changes.get("all_services") is not None:
        options["all_services"] = bool(changes["all_services"])
    if "ca_file" in changes:
        ca_file = changes["ca_file"]
        if ca_file is not None and not CA_FILE.match(ca_file):
            raise ValidationError("an absolute path on the machines that run the worker",
                                  field="ca_file")
        options["ca_file"] = ca_file
    if changes.get("verify_tls") is not None:
        options["verify_tls"] = bool(changes["verify_tls"])
    if "endpoints" in changes:
        options["endpoints"] = changes["endpoints"] or None
    row.options = {k: v for k, v in options.items() if v is not None}


def _check_parallelism(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_PARALLELISM:
        raise ValidationError(f"must be between 1 and {MAX_PARALLELISM}", field="parallelism")
    return value


def _check_endpoints(row: SyncRow, allow_private: bool) -> None:
    """The other endpoints of the zone: HTTPS, allowed destinations, none twice."""
    endpoints = list((row.options or {}).get("endpoints") or [])
    if len(endpoints) > MAX_ENDPOINTS:
        raise ValidationError(f"at most {MAX_ENDPOINTS} endpoints", field="endpoints")
    seen = {row.url.rstrip("/").lower()}
    for index, url in enumerate(endpoints):
        where = f"endpoints[{index}]"
        if not isinstance(url, str) or not url.lower().startswith("https://"):
            raise ValidationError("Icinga 2's API is served over HTTPS only (https://…:5665)",
                                  field=where)
        try:
            check_destination(url, allow_private)
        except DestinationRefused as exc:
            if not exc.retryable:
                raise ValidationError(str(exc), field=where) from exc
        if url.rstrip("/").lower() in seen:
            raise ValidationError("each endpoint once (and not the sync's url again)",
                                  field=where)
        seen.add(url.rstrip("/").lower())


def _check_icinga_row(row: SyncRow) -> None:
    """Icinga 2's API speaks HTTPS and wants an API user."""
    if not row.url.lower().startswith("https://"):
        raise ValidationError("Icinga 2's API is served over HTTPS only (https://…:5665)",
                              field="url")
    if not row.basic_username or not (row.secrets or {}).get("password"):
        raise ValidationError("an Icinga 2 sync needs the API user's name and password",
                              field="basic_auth")


def _apply(row: SyncRow, changes: dict[str, Any], allow_private: bool) -> None:
    """Validate and store the fields in ``changes`` (API names)."""
    if "type" in changes:
        if changes["type"] not in SYNC_TYPES:
            raise ValidationError(f"must be one of {', '.join(SYNC_TYPES)}", field="type")
        row.type = changes["type"]
    _check_type_fields(row.type, changes)
    if "name" in changes:
        row.name = _check_name(changes["name"])
    if "url" in changes:
        row.url = _check_url(changes["url"], allow_private)
    if "base_path" in changes:
        row.base_path = _check_base_path(changes["base_path"])
    if "target_labels" in changes:
        row.target_labels = _check_target_labels(changes["target_labels"])
    if "lead" in changes:
        row.lead_seconds = _seconds(changes["lead"], "lead", timedelta(0), MAX_LEAD)
    if "interval" in changes:
        row.interval_seconds = _seconds(changes["interval"], "interval", timedelta(seconds=1),
                                        MAX_INTERVAL)
    if "allow_all_targets" in changes:
        row.allow_all_targets = bool(changes["allow_all_targets"])
    _apply_secrets(row, changes)
    if "parallelism" in changes:
        options = dict(row.options or {})
        options["parallelism"] = _check_parallelism(changes["parallelism"])
        row.options = {k: v for k, v in options.items() if v is not None}
    if row.type == "icinga2":
        _apply_icinga(row, changes)
        _check_icinga_row(row)
        _check_endpoints(row, allow_private)


def _apply_secrets(row: SyncRow, changes: dict[str, Any]) -> None:
    secrets = dict(row.secrets or {})
    if "basic_auth" in changes:
        basic = changes["basic_auth"]
        row.basic_username = basic["username"] if basic else None
        secrets["password"] = basic["password"] if basic else None
    if "bearer_token" in changes:
        secrets["bearer_token"] = changes["bearer_token"]
    if "headers" in changes:
        secrets["headers"] = _check_headers(changes["headers"] or {})
    if row.basic_username and secrets.get("bearer_token"):
        raise ValidationError("set basic_auth or bearer_token, not both", field="bearer_token")
    row.secrets = {k: v for k, v in secrets.items() if v}


def _row(db: Session, workspace_id: int, sync_id: int) -> SyncRow:
    row = db.scalar(select(SyncRow).where(SyncRow.workspace_id == workspace_id,
                                          SyncRow.id == sync_id))
    if row is None:
        raise NotFound(f"no sync with id {sync_id}", field="id")
    return row


def _name_taken(db: Session, workspace_id: int, name: str, but: int | None = None) -> None:
    found = db.scalar(select(SyncRow.id).where(SyncRow.workspace_id == workspace_id,
                                               SyncRow.name == name))
    if found is not None and found != but:
        raise Conflict(f"a sync named {name!r} already exists", field="name")


def create_sync(db: Session, principal: Principal, fields: dict[str, Any], *,
                allow_private: bool, now: datetime) -> SyncConfig:
    """Store a sync (due at once: its first run starts within the worker's poll)."""
    row = SyncRow(workspace_id=principal.workspace_id, type="alertmanager", base_path="/api/v2",
                  target_labels=None, lead_seconds=86400, interval_seconds=60,
                  allow_all_targets=False, basic_username=None, secrets={}, created_at=now,
                  updated_at=now, change_seq=0, seen_seq=-1, next_run_at=now, failures=0,
                  errors_total=0, repairs_total=0, objects=0, last_run={}, repairs=[],
                  not_expressible=[], options={})
    _apply(row, fields, allow_private)
    _name_taken(db, principal.workspace_id, row.name)
    db.add(row)
    db.flush()
    sync = config_from_row(row)
    audit.record(db, principal, action="create", object_type="sync", object_id=row.id, at=now,
                 before=None, after=sync.to_json())
    return sync


def get_sync(db: Session, principal: Principal, sync_id: int) -> SyncConfig:
    return config_from_row(_row(db, principal.workspace_id, sync_id))


def list_syncs(db: Session, principal: Principal) -> list[SyncConfig]:
    stmt = (select(SyncRow).where(SyncRow.workspace_id == principal.workspace_id)
            .order_by(SyncRow.id))
    return [config_from_row(r) for r in db.scalars(stmt)]


def update_sync(db: Session, principal: Principal, sync_id: int, changes: dict[str, Any], *,
                allow_private: bool, now: datetime) -> SyncConfig:
    """Change fields (``null`` clears a secret); the sync runs again at once."""
    row = _row(db, principal.workspace_id, sync_id)
    before = config_from_row(row).to_json()
    _apply(row, changes, allow_private)
    if "name" in changes:
        _name_taken(db, principal.workspace_id, row.name, but=row.id)
    row.updated_at = now
    db.flush()
    db.execute(update(SyncRow).where(SyncRow.id == row.id)
               .values(change_seq=SyncRow.change_seq + 1, failures=0, next_run_at=now))
    db.refresh(row)
    sync = config_from_row(row)
    audit.record(db, principal, action="update", object_type="sync", object_id=row.id, at=now,
                 before=before, after=sync.to_json())
    return sync


def delete_sync(db: Session, principal: Principal, sync_id: int, now: datetime) -> None:
    """Forget a sync. Its silences are left to end by themselves (quietly stops managing
    them; expire them in Alertmanager to end them sooner)."""
    row = _row(db, principal.workspace_id, sync_id)
    before = config_from_row(row).to_json()
    db.delete(row)
    db.flush()
    audit.record(db, principal, action="delete", object_type="sync", object_id=sync_id, at=now,
                 before=before, after=None)
