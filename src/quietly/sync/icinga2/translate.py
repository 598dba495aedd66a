"""A window's occurrences → Icinga 2 downtimes (pure: no I/O, the clock is passed in).

Icinga 2 has no label matchers: a downtime is scheduled on one object, a host or a service.
So only a window's *targets* can be expressed, each through the sync's ``target_objects``
(target kind → Icinga object type, by default ``host`` → ``Host`` and ``service`` →
``Service``):

- ``host:web1`` is the host ``web1``; its downtime also covers all of its services when the
  sync says ``all_services`` (the default, what "the host is in maintenance" means to most);
- ``service:web1!http`` is the service ``http`` of host ``web1`` (Icinga's own full name);
- target groups are expanded to their members at sync time (a membership change re-syncs).

Every occurrence running or starting within the lead becomes one **fixed** downtime per
object. Occurrences are half-open ``[start, end)``; Icinga takes fractional Unix seconds, and
the end written is the last millisecond before the occurrence's end, as for Alertmanager.

What cannot be expressed is returned as reasons, never dropped: windows whose effects are
only ``reroute``/``attach``, condition groups (label matchers), ``all_targets``, targets of a
kind without an object type, and a service target not written ``host!service``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from quietly.core.model import Effect, Window
from quietly.sync.reconciler import (
    DesiredObject,
    NotExpressible,
    SyncTarget,
    desired_objects,
    last_millisecond_before,
)

__all__ = ["DEFAULT_TARGET_OBJECTS", "OBJECT_TYPES", "SILENCING_EFFECTS", "DowntimePayload",
           "IcingaObject", "IcingaScope", "Translation", "desired_downtimes", "digest",
           "occurrence_end_to_downtime_end", "translate_scope"]

SILENCING_EFFECTS = frozenset({Effect.MUTE, Effect.SUPPRESS_INCIDENTS, Effect.DROP})
OBJECT_TYPES = ("Host", "Service")
DEFAULT_TARGET_OBJECTS: Mapping[str, str] = {"host": "Host", "service": "Service"}


@dataclass(frozen=True, slots=True, order=True)
class IcingaObject:
    """One host, or one service of a host, that a downtime is scheduled on."""

    type: str  # "Host" or "Service"
    host: str
    service: str = ""
    all_services: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.host}!{self.service}" if self.service else self.host


@dataclass(frozen=True, slots=True)
class Translation:
    """The objects one window's occurrences are scheduled on, and what cannot be expressed."""

    objects: tuple[IcingaObject, ...]
    reasons: tuple[str, ...]


def _object_of(target: str, object_type: str, all_services: bool
               ) -> tuple[IcingaObject | None, str | None]:
    kind, _, ident = target.partition(":")
    if object_type == "Host":
        return IcingaObject("Host", ident, "", all_services), None
    host, bang, service = ident.partition("!")
    if not bang or not host or not service:
        return None, (f"target {target!r}: a {kind} target stands for an Icinga service and "
                      "must be written host!service")
    return IcingaObject("Service", host, service), None


def translate_scope(window: Window, members: Mapping[str, frozenset[str]],
                    target_objects: Mapping[str, str], *, all_services: bool) -> Translation:
    """The objects that together cover what ``window`` covers in Icinga, and the reasons for
    what they cannot. ``members`` maps the workspace's group names to their targets."""
    if not window.effects & SILENCING_EFFECTS:
        effects = ", ".join(sorted(e.value for e in window.effects))
        return Translation((), (f"effects {effects}: an Icinga downtime can only silence "
                                "(mute, suppress_incidents, drop)",))
    reasons: list[str] = []
    if window.all_targets:
        reasons.append("all_targets: Icinga downtimes are scheduled per host or service, "
                       "not on everything")
    if window.match:
        reasons.append(f"match ({len(window.match)} condition group(s)): Icinga has no "
                       "alert labels; only targets become downtimes")
    targets = set(window.targets)
    for group in window.groups:
        targets |= members.get(group, frozenset())
    objects: set[IcingaObject] = set()
    unmapped: dict[str, int] = {}
    for target in sorted(targets):
        kind = target.partition(":")[0]
        object_type = target_objects.get(kind)
        if object_type is None:
            unmapped[kind] = unmapped.get(kind, 0) + 1
            continue
        found, reason = _object_of(target, object_type, all_services)
        if found is not None:
            objects.add(found)
        if reason is not None:
            reasons.append(reason)
    reasons += [f"targets of kind {kind!r} ({count}): no Icinga object type stands for this "
                "kind (target_objects)" for kind, count in sorted(unmapped.items())]
    return Translation(tuple(sorted(objects)), tuple(reasons))


def digest(obj: IcingaObject) -> str:
    """A short, stable digest of the object a downtime is scheduled on."""
    canonical = json.dumps([obj.type, obj.host, obj.service, obj.all_services],
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def occurrence_end_to_downtime_end(end: datetime) -> datetime:
    """The last whole millisecond strictly before ``end``: the downtime never covers the
    instant the window stops covering."""
    return last_millisecond_before(end)


@dataclass(frozen=True, slots=True)
class IcingaScope:
    """What of a sync the translation reads."""

    workspace_id: int
    sync_id: int
    target_objects: Mapping[str, str]
    all_services: bool
    lead: timedelta
    public_url: str | None = None


@dataclass(frozen=True, slots=True)
class DowntimePayload:
    """What Icinga is sent besides the bounds: the object and the comment."""

    object: IcingaObject
    comment: str


def desired_downtimes(windows: list[Window], members: Mapping[str, frozenset[str]],
                      scope: IcingaScope, now: datetime
                      ) -> tuple[list[DesiredObject], list[NotExpressible]]:
    """Every downtime that should exist at ``now``, and what cannot be expressed (see
    ``sync.reconciler.desired_objects``)."""
    def translate(window: Window) -> tuple[tuple[IcingaObject, ...], tuple[str, ...]]:
        found = translate_scope(window, members, scope.target_objects,
                                all_services=scope.all_services)
        return found.objects, found.reasons

    return desired_objects(
        windows, SyncTarget(scope.workspace_id, scope.sync_id, scope.lead, scope.public_url),
        now, translate=translate, digest=digest, payload=DowntimePayload)
