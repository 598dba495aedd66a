"""Request and response schemas of the native API, split by purpose (…Create, …Update, …Public)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, JsonValue

from quietly.api.types import (
    GROUP_NAME_PATTERN,
    HHMM,
    WEEKDAY_OF_MONTH_PATTERN,
    WHOLE,
    Flag,
    Instant,
    IsoDate,
    LabelName,
    Name,
    ShortText,
    TargetName,
    ZoneName,
)
from quietly.core.limits import MAX_MATCHERS_PER_GROUP, MAX_TARGETS
from quietly.core.model import Effect, MatcherOp, State, Verdict
from quietly.core.records import Role
from quietly.core.scopes import MAX_PATTERN_LENGTH, MAX_PATTERNS, SCOPE_PATTERN

# incident.io's `lead` as sent (id, email, slack_user_id, name; or a `user`/`api_key` object of
# such fields): short names, scalar values, one level of nesting, bounded.
LeadKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LeadScalar = Annotated[str, Field(max_length=500)] | Annotated[int, Field(
    ge=-(2**53), le=2**53)] | bool | None
Lead = Annotated[dict[LeadKey, LeadScalar | Annotated[dict[LeadKey, LeadScalar], Field(
    max_length=20)]], Field(max_length=20, description="Who leads the maintenance "
                            "(incident.io's `lead`), kept as sent.")]

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Minutes = Annotated[int, Field(ge=0, le=60 * 24 * 7), WHOLE]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleOnce(Strict):
    kind: Literal["once"]
    start: Instant
    end: Instant
    timezone: ZoneName | None = None


class ScheduleRecurring(Strict):
    kind: Literal["recurring"]
    timezone: ZoneName | None = Field(
        default=None, description="IANA zone; defaults to the workspace's zone.")
    rrule: Annotated[str, Field(min_length=1, max_length=1000)] | None = Field(
        default=None, examples=["FREQ=WEEKLY;BYDAY=SU"])
    cron: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, examples=["0 2 * * 0"])
    every: Literal["daily", "weekly", "monthly"] | None = None
    days_of_week: list[DayName] | None = Field(default=None, max_length=7)
    day_of_month: Annotated[int, Field(ge=-31, le=31), WHOLE] | None = None
    weekday_of_month: Annotated[str, Field(pattern=WEEKDAY_OF_MONTH_PATTERN)] | None = None
    short_month: Literal["last_day", "skip"] | None = None
    start_time: HHMM | None = None
    end_time: HHMM | None = None
    duration: Annotated[str, Field(min_length=2, max_length=40)] | None = Field(
        default=None, examples=["PT2H"])
    starts_on: IsoDate | None = None
    until: IsoDate | None = None
    count: Annotated[int, Field(ge=1, le=100_000), WHOLE] | None = None


ScheduleIn = Annotated[ScheduleOnce | ScheduleRecurring, Field(discriminator="kind")]


class MatcherIn(Strict):
    label: LabelName
    op: MatcherOp
    value: Annotated[str, Field(max_length=1000)] | None = None
    values: list[Annotated[str, Field(max_length=1000)]] | None = Field(default=None,
                                                                       max_length=1000)


# An empty group is refused by the service ("needs at least one matcher"), in its words.
MatcherGroup = Annotated[list[MatcherIn], Field(max_length=MAX_MATCHERS_PER_GROUP,
                                                json_schema_extra={"minItems": 1})]
ChannelRef = Annotated[str, Field(min_length=1, max_length=200)] | int


class WindowBase(Strict):
    description: ShortText | None = None
    targets: list[TargetName] = Field(default_factory=list, max_length=MAX_TARGETS)
    groups: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=1000)
    match: list[MatcherGroup] = Field(default_factory=list, max_length=100)
    all_targets: Flag = False
    effects: list[Effect] = Field(default_factory=lambda: [Effect.MUTE], max_length=5,
                                  json_schema_extra={"minItems": 1})
    notify_channels: list[ChannelRef] = Field(default_factory=list, max_length=100)
    notify_start_minutes_before: Minutes | None = None
    notify_end_minutes_before: Minutes | None = None
    notification_message: ShortText | None = None
    resolve_on_end: Flag = False
    reroute_on_end: Flag = False
    escalation_targets: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=100)
    incident_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    lead: Lead | None = None
    publish_to_status_page: Flag = False
    show_in_sidebar: Flag = True


class WindowCreate(WindowBase):
    name: Name
    schedule: ScheduleIn


# An omitted PATCH field keeps its value; the fields below have no "no value", so the schema
# refuses null for them, as the server does (``convert.update_changes``).
_KEEP: Any = None


# The keys a schedule has, in either form: the only keys a PATCH may change.
_SCHEDULE_KEYS: list[JsonValue] = [
    *sorted(set(ScheduleOnce.model_fields) | set(ScheduleRecurring.model_fields))]


class WindowUpdate(Strict):
    """Every field optional; ``schedule`` is merged into the current one key by key."""

    name: Name = _KEEP
    description: ShortText | None = None
    schedule: dict[str, Any] | None = Field(
        default=None, description="Keys to change in the schedule, e.g. {\"end\": …}.",
        json_schema_extra={"propertyNames": {"enum": _SCHEDULE_KEYS}})
    targets: list[TargetName] | None = Field(default=None, max_length=MAX_TARGETS)
    groups: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    match: list[MatcherGroup] | None = Field(default=None, max_length=100)
    all_targets: Flag = _KEEP
    effects: list[Effect] | None = Field(default=None, max_length=5,
                                         json_schema_extra={"minItems": 1})
    notify_channels: list[ChannelRef] | None = None
    notify_start_minutes_before: Minutes | None = None
    notify_end_minutes_before: Minutes | None = None
    notification_message: ShortText | None = None
    resolve_on_end: Flag = _KEEP
    reroute_on_end: Flag = _KEEP
    escalation_targets: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = None
    incident_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    lead: Lead | None = None
    publish_to_status_page: Flag = _KEEP
    show_in_sidebar: Flag = _KEEP


class OccurrencePublic(BaseModel):
    start: str
    end: str


class MatcherPublic(BaseModel):
    label: str
    op: MatcherOp
    value: str | None = None
    values: list[str] | None = None


class ScheduleOncePublic(BaseModel):
    kind: Literal["once"]
    start: str
    end: str
    timezone: str | None


class ScheduleRecurringPublic(BaseModel):
    kind: Literal["recurring"]
    timezone: str
    rrule: str | None = None
    cron: str | None = None
    every: str | None = None
    days_of_week: list[str] | None = None
    day_of_month: int | None = None
    weekday_of_month: str | None = None
    short_month: str | None = None
    start_time: str | None
    end_time: str | None
    duration: str | None
    starts_on: str | None
    until: str | None
    count: int | None


class ManagedByPublic(BaseModel):
    """Set on objects that ``POST /api/v1/apply`` manages: the next apply of ``source``
    reverts a hand edit."""

    source: str
    key: str


class WindowPublic(BaseModel):
    id: int
    name: str
    description: str | None
    schedule: Annotated[ScheduleOncePublic | ScheduleRecurringPublic,
                        Field(discriminator="kind")]
    targets: list[str]
    groups: list[str]
    match: list[list[MatcherPublic]]
    all_targets: bool
    effects: list[Effect]
    notify_channels: list[str | int]
    notify_start_minutes_before: int | None
    notify_end_minutes_before: int | None
    notification_message: str | None
    resolve_on_end: bool
    reroute_on_end: bool
    escalation_targets: list[str]
    incident_id: str | None
    lead: dict[str, Any] | None
    publish_to_status_page: bool
    show_in_sidebar: bool
    origin: str
    key: str | None = Field(default=None, description="Stable key (maintenance as code).")
    managed_by: ManagedByPublic | None = None
    state: State
    current_occurrence: OccurrencePublic | None
    next_occurrence: OccurrencePublic | None
    human_schedule: str
    created_by: str | None
    created_at: str
    updated_at: str
    cancelled_at: str | None
    archived_at: str | None


class WindowList(BaseModel):
    windows: list[WindowPublic]
    next_cursor: str | None


class OccurrenceList(BaseModel):
    window_id: int
    occurrences: list[OccurrencePublic]


class MaintenanceStart(Strict):
    targets: list[TargetName] = Field(min_length=1, max_length=MAX_TARGETS)
    duration: Annotated[str, Field(min_length=2, max_length=40)] = Field(
        default="PT30M", description="ISO 8601 (PT30M) or short (30m, 2h).")
    name: Name | None = None
    description: ShortText | None = None
    effects: list[Effect] = Field(default_factory=lambda: [Effect.MUTE], min_length=1,
                                  max_length=5)
    publish_to_status_page: Flag = False


class MaintenanceStop(Strict):
    targets: list[TargetName] = Field(
        default_factory=list, max_length=MAX_TARGETS,
        description="End maintenance of these targets (with window_id: only these of it).")
    window_id: Annotated[int, Field(ge=1, le=2**63 - 1), WHOLE] | None = Field(
        default=None, description="End this window (as printed by maintenance/start).")
    scope: Literal["immediate", "all"] = Field(
        default="immediate",
        description="By targets: 'immediate' ends only maintenance started with "
        "maintenance/start; 'all' ends every running one-time window naming them.")
    delay_seconds: Annotated[int, Field(ge=0, le=86_400 * 7), WHOLE] = 0


class MaintenanceStopped(BaseModel):
    stopped: list[WindowPublic] = Field(
        description="Windows ended, or narrowed when they also cover other targets.")
    left_running: list[WindowPublic] = Field(
        default_factory=list,
        description="Running windows naming the targets that this stop left alone.")


class AlertIn(Strict):
    targets: list[TargetName] = Field(default_factory=list, max_length=1000)
    labels: dict[Annotated[str, Field(max_length=200)],
                 Annotated[str, Field(max_length=10_000)]] = Field(default_factory=dict)


class DecideRequest(Strict):
    at: Instant | None = None
    alerts: list[AlertIn] = Field(max_length=100_000)


class DecisionPublic(BaseModel):
    verdict: Verdict
    windows: list[int]


class DecisionOne(DecisionPublic):
    at: str
    stale: bool = False


class DecisionBatch(BaseModel):
    at: str
    stale: bool = False
    decisions: list[DecisionPublic]


class GroupIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200,
                               json_schema_extra={"pattern": GROUP_NAME_PATTERN})]
    targets: list[TargetName] = Field(default_factory=list, max_length=100_000)
    description: ShortText | None = None


class GroupPut(Strict):
    targets: list[TargetName] = Field(default_factory=list, max_length=100_000)
    description: ShortText | None = None


class GroupPublic(BaseModel):
    name: str
    description: str | None
    targets: list[str]
    created_at: str
    updated_at: str
    key: str | None = None
    managed_by: ManagedByPublic | None = None


class GroupList(BaseModel):
    groups: list[GroupPublic]


class KeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role = Field(description="viewer, maintenance (start, stop and check only), editor "
                                   "or admin.")
    scope: Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH,
                                               pattern=SCOPE_PATTERN)]],
                     Field(max_length=MAX_PATTERNS,
                           validation_alias=AliasChoices("scope", "targets"),
                           description="Target patterns the key may change windows of "
                                       "('service:checkout', 'service:pay-*', "
                                       "'group:web-tier'); empty: every target. Also "
                                       "accepted as 'targets'.")] = []
    expires_at: Annotated[str, Field(max_length=64, description="RFC 3339 instant after "
                                     "which the key is refused (401).")] | None = None


class KeyPublic(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_at: str
    created_by: str | None
    last_used_at: str | None
    revoked_at: str | None
    scope: list[str] = Field(description="Target patterns; empty: unrestricted.")
    expires_at: str | None
    expired: bool


class KeyCreated(KeyPublic):
    key: str = Field(description="The secret; shown only in this response.")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class WorkspacePublic(BaseModel):
    id: int
    slug: str
    name: str
    timezone: str


class WorkspaceUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timezone: ZoneName | None = None


class AuditEntryPublic(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    entries: list[AuditEntryPublic]
    next_cursor: str | None
