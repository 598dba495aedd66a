"""Schemas of syncs (…Create, …Update, …Public, …Status)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from quietly.api.types import SPACED_NAME_PATTERN, URL_AUTHORITY_PATTERN, WHOLE, Flag

SyncType = Literal["alertmanager", "icinga2"]
SyncName = Annotated[str, Field(min_length=1, max_length=200, examples=["prod"],
                               json_schema_extra={"pattern": SPACED_NAME_PATTERN})]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^[hH][tT][tT][pP][sS]?://",
                           examples=["http://alertmanager.example.com:9093"],
                           json_schema_extra={  # the document adds: a host follows
                               "pattern": r"^[hH][tT][tT][pP][sS]?://" + URL_AUTHORITY_PATTERN})]
BasePath = Annotated[str, Field(min_length=1, max_length=500, examples=["/api/v2"],
                                json_schema_extra={"pattern": r"^/[A-Za-z0-9._~/-]{0,499}$"},
                                description="Where the v2 API lives: '/api/v2' for "
                                "Alertmanager, '/api/alertmanager/grafana/api/v2' for Grafana, "
                                "'/alertmanager/api/v2' for Mimir and Cortex.")]
ShortDuration = Annotated[str, Field(min_length=1, max_length=32, examples=["24h", "60s"],
                                     description="'24h', '90m', '60s' or ISO 8601 'PT24H'.")]
Kind = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
HeaderName = Annotated[str, Field(min_length=1, max_length=100,
                                  pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
HeaderValue = Annotated[str, Field(max_length=2000,
                                   json_schema_extra={"pattern": "^[^\r\n]*$"})]
TargetLabels = Annotated[dict[Kind, Label], Field(
    max_length=100, examples=[{"service": "service", "host": "instance"}],
    description="Which alert label each target kind stands for; null: the Alertmanager "
                "receiver's rule (QUIETLY_ALERTMANAGER_TARGET_LABELS).")]
Secret = Annotated[str, Field(min_length=1, max_length=2000)]
TargetObjects = Annotated[dict[Kind, Literal["Host", "Service"]], Field(
    max_length=100, examples=[{"host": "Host", "service": "Service"}],
    description="Icinga 2 only: which object type each target kind stands for "
                "(host:web1 → host web1; service:web1!http → service http of web1); "
                "null: {'host': 'Host', 'service': 'Service'}.")]
Endpoints = Annotated[list[Url], Field(
    max_length=8, examples=[["https://icinga-2.example.com:5665"]],
    description="Icinga 2 only: the other endpoints of the same HA zone, tried in order "
                "when `url` cannot be reached; [] or null: none.")]
Parallelism = Annotated[int, Field(
    ge=1, le=32, examples=[8],
    description="How many silences (Alertmanager) or downtimes (Icinga 2) are created, "
                "changed or removed at once (default 8)."), WHOLE]
CaFile = Annotated[str, Field(min_length=1, max_length=1000,
                              examples=["/etc/quietly/icinga-ca.crt"],
                              json_schema_extra={"pattern": r"^/[^\u0000\r\n]{0,999}$"},
                              description="Icinga 2 only: the CA certificate to verify the "
                              "API's certificate with (a path on the worker's machines).")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BasicAuth(Strict):
    username: Annotated[str, Field(min_length=1, max_length=200)]
    password: Secret


class SyncCreate(Strict):
    type: SyncType = Field(default="alertmanager", description="alertmanager: silences; "
                           "icinga2: downtimes (fields of the other type are refused).")
    name: SyncName
    url: Url
    base_path: BasePath = "/api/v2"
    target_labels: TargetLabels | None = None
    lead: ShortDuration = "24h"
    interval: ShortDuration = Field(default="60s", description="Drift repair interval, "
                                                               "at least 1s.")
    allow_all_targets: Flag = False
    basic_auth: BasicAuth | None = Field(default=None, description="Write-only.")
    bearer_token: Secret | None = Field(default=None, description="Write-only.")
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, max_length=20,
                                                   description="Write-only values.")
    target_objects: TargetObjects | None = None
    all_services: Flag | None = Field(default=None, description="Icinga 2 only: a host's "
                                      "downtime covers its services too (default true).")
    ca_file: CaFile | None = None
    verify_tls: Flag | None = Field(default=None, description="Icinga 2 only: false skips "
                                    "certificate checks (default true).")
    endpoints: Endpoints | None = None
    parallelism: Parallelism | None = None


class SyncUpdate(Strict):
    name: SyncName | None = None
    url: Url | None = None
    base_path: BasePath | None = None
    target_labels: TargetLabels | None = None
    lead: ShortDuration | None = None
    interval: ShortDuration | None = None
    allow_all_targets: Flag | None = None
    basic_auth: BasicAuth | None = Field(default=None, description="null removes it.")
    bearer_token: Secret | None = Field(default=None, description="null removes it.")
    headers: dict[HeaderName, HeaderValue] | None = Field(default=None, max_length=20)
    target_objects: TargetObjects | None = None
    all_services: Flag | None = None
    ca_file: CaFile | None = Field(default=None, description="null removes it.")
    verify_tls: Flag | None = None
    endpoints: Endpoints | None = Field(default=None, description="null removes them.")
    parallelism: Parallelism | None = Field(default=None, description="null: the default.")


class SyncPublic(BaseModel):
    id: int
    type: SyncType
    name: str
    url: str
    base_path: str
    target_labels: dict[str, str] | None
    lead: str
    interval: str
    allow_all_targets: bool
    basic_auth_username: str | None
    basic_auth_password_set: bool
    bearer_token_set: bool
    headers: list[str] = Field(description="The names of the extra headers (values are "
                                           "write-only).")
    target_objects: dict[str, str] | None = Field(description="Icinga 2 only.")
    all_services: bool | None = Field(description="Icinga 2 only.")
    ca_file: str | None = Field(description="Icinga 2 only.")
    verify_tls: bool | None = Field(description="Icinga 2 only.")
    endpoints: list[str] | None = Field(default=None, description="Icinga 2 only.")
    parallelism: int | None = Field(default=None, description="Requests at once (default 8).")
    created_at: str
    updated_at: str


class SyncList(BaseModel):
    syncs: list[SyncPublic]


class NotExpressiblePublic(BaseModel):
    window_id: int
    window_name: str
    reason: str


class RepairPublic(BaseModel):
    at: str
    key: str
    what: str


class LastRunPublic(BaseModel):
    at: str
    created: int
    changed: int
    removed: int
    requests: int
    duration_ms: int
    endpoint: str | None = Field(default=None, description="Icinga 2 only: the endpoint of "
                                 "the zone that answered.")
    unreachable: list[str] = Field(default_factory=list, description="Icinga 2 only: "
                                   "endpoints that could not be reached in this run (another "
                                   "one took over).")


class SyncStatus(BaseModel):
    id: int
    name: str
    healthy: bool
    running: bool
    objects: int
    last_run_at: str | None
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None
    consecutive_failures: int
    errors_total: int
    repairs_total: int
    next_run_at: str | None
    interval: str
    last_run: LastRunPublic | None
    repairs: list[RepairPublic]
    not_expressible: list[NotExpressiblePublic]
