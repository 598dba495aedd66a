"""Reconciliation, system-agnostic: desired objects vs the objects a system holds that are ours.

    desired (from the windows, now)  ─┐
                                      ├─ plan() ─→ create / change end / remove ─ apply()
    actual  (adapter.list_own())     ─┘

Every object quietly writes carries a **tag** (``Tag``): the workspace, the sync, the window,
the occurrence's start and a digest of the object's matchers. The tag is the object's identity
(``Tag.key``): quietly recognises its own objects by it and never touches one without it, and
because a run always lists before it creates, a process killed between creating an object and
recording it finds the object by its tag next time instead of creating a second one. Extra
objects with one key (left by a bug or a split brain) are removed down to one.

A system plugs in as an ``Adapter`` (list own, create, change end, remove); Alertmanager is
``sync.alertmanager``. Runs are serialised per sync by a lease held in the database
(``services.sync_state``); ``apply`` calls ``keep_alive`` between operations to renew it and
stops when it is lost. ``apply`` sends at most ``parallelism`` operations at once (a system
with slow writes, such as Icinga 2's ``schedule-downtime``, converges that many times faster);
each phase (removals, changed ends, creations) ends before the next begins.

Several objects with one key are duplicates: one is kept and the rest removed, and each key
so repaired is reported. Icinga 2 HA zones are known to produce near-duplicate downtimes (both
nodes scheduling one, or a failover before the zone has synced); Alertmanager clusters can do
the same after a split. Which one is kept is deterministic (the one with the wanted end, then
the smallest id), so two processes looking at the same objects choose the same.

Errors::

    SyncError               a run failed; ``retryable`` says whether trying again can help
     └── Rejected           the system refused one object (HTTP 4xx): reported as not
                            expressible, not retried, other objects go on
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.model import Occurrence, Window

__all__ = ["Adapter", "DesiredObject", "LeaseLost", "NotExpressible", "Outcome",
           "OwnedObject", "Plan", "Rejected", "Repair", "SyncError", "SyncTarget", "Tag",
           "apply_plan", "desired_objects", "last_millisecond_before", "next_wake",
           "object_comment", "occurrences_in_lead", "plan"]

MAX_OCCURRENCES_PER_WINDOW = 100
_MS = timedelta(milliseconds=1)
Part = TypeVar("Part")
Item = TypeVar("Item")
Result = TypeVar("Result")


class SyncError(Exception):
    """A run could not finish; ``retryable`` is False for errors only a person can fix."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Rejected(SyncError):
    """The system refused one object as invalid (it would refuse it again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class LeaseLost(Exception):
    """Another process took the sync over (this run took longer than its lease)."""


@dataclass(frozen=True, slots=True)
class Tag:
    """What quietly writes into each object to know it again: ``quietly-sync ws=1 s=2
    w=42 o=2026-12-06T12:00:00Z m=0123456789abcdef``."""

    workspace_id: int
    sync_id: int
    window_id: int
    occurrence_start: datetime
    digest: str

    PATTERN = re.compile(r"quietly-sync ws=(\d+) s=(\d+) w=(\d+) o=(\S+) m=([0-9a-f]{16})")

    def render(self) -> str:
        return (f"quietly-sync ws={self.workspace_id} s={self.sync_id} w={self.window_id} "
                f"o={format_instant(self.occurrence_start)} m={self.digest}")

    @property
    def key(self) -> str:
        return f"w{self.window_id}:o{format_instant(self.occurrence_start)}:m{self.digest}"

    @classmethod
    def find(cls, text: str) -> Tag | None:
        """The tag inside ``text`` (a comment), or None when there is none."""
        found = cls.PATTERN.search(text)
        if found is None:
            return None
        try:
            start = datetime.fromisoformat(found.group(4).replace("Z", "+00:00"))
        except ValueError:
            return None
        if start.tzinfo is None:
            return None
        return cls(int(found.group(1)), int(found.group(2)), int(found.group(3)), start,
                   found.group(5))


@dataclass(frozen=True, slots=True)
class DesiredObject:
    """An object that should exist; ``payload`` is what the adapter needs to write it."""

    tag: Tag
    starts_at: datetime
    ends_at: datetime
    payload: object

    @property
    def key(self) -> str:
        return self.tag.key


@dataclass(frozen=True, slots=True)
class OwnedObject:
    """An object of ours the system holds now (``raw`` is the system's own record)."""

    id: str
    tag: Tag
    starts_at: datetime
    ends_at: datetime
    raw: object = None

    @property
    def key(self) -> str:
        return self.tag.key


@dataclass(frozen=True, slots=True)
class NotExpressible:
    """A window, or a part of one, that the system cannot hold, and why."""

    window_id: int
    window_name: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"window_id": self.window_id, "window_name": self.window_name,
                "reason": self.reason}


class Adapter(Protocol):
    """One system's four operations. Each raises ``SyncError`` (``Rejected`` for a refused
    object)."""

    def list_own(self) -> list[OwnedObject]: ...

    def create(self, want: DesiredObject) -> str: ...

    def change_end(self, have: OwnedObject, want: DesiredObject) -> str: ...

    def remove(self, have: OwnedObject) -> None: ...


@dataclass(frozen=True, slots=True)
class Plan:
    create: tuple[DesiredObject, ...] = ()
    change: tuple[tuple[OwnedObject, DesiredObject], ...] = ()
    remove: tuple[OwnedObject, ...] = ()
    keep: tuple[OwnedObject, ...] = ()
    # of ``remove``: the extra objects of keys that are wanted (duplicates)
    duplicates: tuple[OwnedObject, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.create or self.change or self.remove)


def plan(desired: Iterable[DesiredObject], actual: Iterable[OwnedObject]) -> Plan:
    """What to do so that the owned objects equal the desired ones, matched by tag key.

    Of several owned objects with one key, one is kept (one with the wanted end if any) and the
    others removed; an owned object whose key nobody wants is removed.
    """
    wanted = {d.key: d for d in desired}
    by_key: dict[str, list[OwnedObject]] = {}
    for obj in actual:
        by_key.setdefault(obj.key, []).append(obj)
    create: list[DesiredObject] = []
    change: list[tuple[OwnedObject, DesiredObject]] = []
    remove: list[OwnedObject] = []
    keep: list[OwnedObject] = []
    duplicates: list[OwnedObject] = []
    for key, want in wanted.items():
        have = sorted(by_key.pop(key, []), key=lambda o: (o.ends_at != want.ends_at, o.id))
        if not have:
            create.append(want)
            continue
        remove += have[1:]
        duplicates += have[1:]
        if have[0].ends_at == want.ends_at:
            keep.append(have[0])
        else:
            change.append((have[0], want))
    for leftovers in by_key.values():
        remove += leftovers
    return Plan(tuple(create), tuple(change), tuple(remove), tuple(keep), tuple(duplicates))


@dataclass(frozen=True, slots=True)
class Repair:
    """Drift quietly undid: an object it had made vanished, or its end was changed."""

    key: str
    what: str

    def to_json(self, at: datetime) -> dict[str, object]:
        return {"at": format_instant(at), "key": self.key, "what": self.what}


@dataclass
class Outcome:
    created: int = 0
    changed: int = 0
    removed: int = 0
    repairs: list[Repair] = field(default_factory=list)
    rejected: list[tuple[DesiredObject, str]] = field(default_factory=list)
    # key → (object id, end) of every owned object after the run
    present: dict[str, tuple[str, datetime]] = field(default_factory=dict)


def apply_plan(todo: Plan, adapter: Adapter, *, known: Mapping[str, datetime],
               keep_alive: Callable[[], None] = lambda: None,
               parallelism: int = 1) -> Outcome:
    """Carry ``todo`` out, at most ``parallelism`` operations at once. ``known`` is key → end
    of the objects the last run left; creating one of those again, or putting back an end it
    had, is a repair, and so is removing duplicates. ``keep_alive`` runs before each operation
    is sent (it renews the lease and raises ``LeaseLost`` to stop).

    A refused object (``Rejected``) is recorded and the others go on; any other ``SyncError``
    stops sending, lets the operations already sent finish, and is raised.
    """
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    out = Outcome(present={o.key: (o.id, o.ends_at) for o in todo.keep})
    for _have, removed in _each(todo.remove, adapter.remove, parallelism, keep_alive):
        if isinstance(removed, Rejected):
            raise removed  # a refused removal fails the run: the object stays, is retried
        out.removed += 1
    copies: dict[str, int] = {}
    for extra in todo.duplicates:
        copies[extra.key] = copies.get(extra.key, 1) + 1
    out.repairs += [Repair(key, f"duplicate: {count} objects carried one tag (as an HA pair "
                                f"can make); {count - 1} removed")
                    for key, count in sorted(copies.items())]
    for (_have, want), new_id in _each(todo.change, lambda hw: adapter.change_end(*hw),
                                      parallelism, keep_alive):
        if isinstance(new_id, Rejected):
            out.rejected.append((want, str(new_id)))
            continue
        out.changed += 1
        out.present[want.key] = (new_id, want.ends_at)
        if known.get(want.key) == want.ends_at:
            out.repairs.append(Repair(want.key, "end changed outside quietly; restored"))
    for want, new_id in _each(todo.create, adapter.create, parallelism, keep_alive):
        if isinstance(new_id, Rejected):
            out.rejected.append((want, str(new_id)))
            continue
        out.created += 1
        out.present[want.key] = (new_id, want.ends_at)
        if want.key in known:
            out.repairs.append(Repair(want.key, "missing (expired by hand or lost by a "
                                                "restart); recreated"))
    return out


def _each(items: Sequence[Item], work: Callable[[Item], Result], parallelism: int,
          keep_alive: Callable[[], None]) -> Iterator[tuple[Item, Result | Rejected]]:
    """``(item, work(item))`` for every item, or ``(item, Rejected)``, in the order they
    finish, with at most ``parallelism`` running at once. After any other error no more
    work is sent; the work already sent finishes (and is yielded), then the error is raised.
    """
    if parallelism == 1 or len(items) <= 1:
        for item in items:
            keep_alive()
            try:
                yield item, work(item)
            except Rejected as exc:
                yield item, exc
        return
    queue = iter(items)
    pending: dict[Future[Result], Item] = {}
    error: Exception | None = None
    with ThreadPoolExecutor(max_workers=min(parallelism, len(items)),
                            thread_name_prefix="quietly-sync") as pool:
        while True:
            while error is None and len(pending) < parallelism:
                following = next(queue, None)
                if following is None:
                    break
                try:
                    keep_alive()
                except Exception as exc:  # LeaseLost: stop sending, let the rest finish
                    error = exc
                    break
                pending[pool.submit(work, following)] = following
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                try:
                    yield item, future.result()
                except Rejected as exc:
                    yield item, exc
                except Exception as exc:  # the first error wins; the rest are alike
                    error = error or exc
    if error is not None:
        raise error


def occurrences_in_lead(window: Window, now: datetime, lead: timedelta) -> list[Occurrence]:
    """The occurrences running at ``now`` or starting before ``now + lead`` (at most
    ``MAX_OCCURRENCES_PER_WINDOW``, the earliest)."""
    horizon = now + max(lead, timedelta(microseconds=1))
    found = lifecycle.window_occurrences(window, now, horizon,
                                         limit=MAX_OCCURRENCES_PER_WINDOW + 1)
    return [o for o in found if o.end > now][:MAX_OCCURRENCES_PER_WINDOW]


def next_wake(windows: Sequence[Window], now: datetime, lead: timedelta) -> datetime | None:
    """The first instant after ``now`` at which an occurrence comes within ``lead``: the
    desired set grows then, so a run should happen then (objects of ended occurrences end
    by themselves)."""
    soonest: datetime | None = None
    after = now + max(lead, timedelta(microseconds=1))
    for window in windows:
        nxt = lifecycle.next_occurrence(window, after)
        if nxt is not None and (soonest is None or nxt.start - lead < soonest):
            soonest = nxt.start - lead
    return soonest


def last_millisecond_before(end: datetime) -> datetime:
    """The last whole millisecond strictly before ``end``: an object whose end is inclusive
    (a silence, a downtime) then never covers the instant an occurrence ``[start, end)`` stops
    covering."""
    whole_ms = end.replace(microsecond=end.microsecond // 1000 * 1000)
    ceiling = whole_ms if whole_ms == end else whole_ms + _MS
    return ceiling - _MS


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """Which sync the objects are for, how far ahead they are made, and where the UI is."""

    workspace_id: int
    sync_id: int
    lead: timedelta
    public_url: str | None = None


def object_comment(window: Window, target: SyncTarget, tag: Tag) -> str:
    """The comment every object carries: the window's name, its address, and the tag."""
    name = window.name if len(window.name) <= 200 else window.name[:199] + "…"
    where = (f" — {target.public_url.rstrip('/')}/windows/{window.id}"
             if target.public_url else f" (quietly window {window.id})")
    return f"{name}{where}\n{tag.render()}"


def desired_objects(windows: Iterable[Window], target: SyncTarget, now: datetime, *,
                    translate: Callable[[Window], tuple[Sequence[Part], Sequence[str]]],
                    digest: Callable[[Part], str],
                    payload: Callable[[Part, str], object],
                    ) -> tuple[list[DesiredObject], list[NotExpressible]]:
    """Every object that should exist at ``now``, for any system, and what its windows ask
    that the system cannot express.

    ``translate`` gives a window's parts (one object per part and occurrence) and reasons;
    ``digest`` names a part in the tag; ``payload`` is what the adapter sends besides the
    bounds (given the part and the comment). Only occurrences running now or starting within
    the lead make objects; reasons are reported for every window that still has an
    occurrence to come, so the status shows a problem before the window starts.
    """
    desired: dict[str, DesiredObject] = {}
    problems: list[NotExpressible] = []
    for window in windows:
        occurrences = occurrences_in_lead(window, now, target.lead)
        if not occurrences and lifecycle.next_occurrence(window, now) is None:
            continue  # over, or cancelled: nothing to say about it any more
        parts, reasons = translate(window)
        problems += [NotExpressible(window.id, window.name, r) for r in reasons]
        for occurrence in occurrences:
            for part in parts:
                tag = Tag(target.workspace_id, target.sync_id, window.id, occurrence.start,
                          digest(part))
                desired[tag.key] = DesiredObject(
                    tag, occurrence.start, last_millisecond_before(occurrence.end),
                    payload(part, object_comment(window, target, tag)))
    return list(desired.values()), problems
