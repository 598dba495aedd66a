"""One reconciliation of one sync: claim its lease, read the windows, plan, apply, record.

The windows and groups are read from the database *after* the lease is claimed, so a run
always works from the current state: a change that a change-triggered run missed is caught
by the next run (the claim left the sync due again), and any run at all repairs whatever
drifted. Nothing here trusts memory from an earlier run except ``sync_objects`` — and that
only to tell a repair from a change, never to decide what exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2 as httpx

from quietly.core.model import Window
from quietly.logs import get_logger
from quietly.services import sync_state
from quietly.services.groups import load_all_groups
from quietly.services.syncs import DEFAULT_PARALLELISM, SyncConfig, default_target_labels
from quietly.services.windows import load_all_windows
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.sync.alertmanager.adapter import AlertmanagerAdapter, Connection
from quietly.sync.alertmanager.translate import SyncScope, desired_silences
from quietly.sync.icinga2.adapter import Connection as IcingaConnection
from quietly.sync.icinga2.adapter import IcingaAdapter
from quietly.sync.icinga2.translate import DEFAULT_TARGET_OBJECTS, IcingaScope, desired_downtimes
from quietly.sync.reconciler import (
    DesiredObject,
    LeaseLost,
    NotExpressible,
    Outcome,
    SyncError,
    apply_plan,
    next_wake,
    plan,
)

__all__ = ["RunSettings", "run_settings", "run_sync"]

log = get_logger("quietly.sync")


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What every run of a process shares."""

    worker_id: str
    lease: timedelta = timedelta(seconds=30)
    allow_private: bool = False
    public_url: str | None = None
    receiver_rule: str = "service:{service}"
    http_timeout: float = 10.0
    transport: httpx.BaseTransport | None = None  # tests and benchmarks may swap it


def run_settings(settings: Settings, worker_id: str = "") -> RunSettings:
    """The run settings a server's ``Settings`` imply (the worker sets its id and timings)."""
    return RunSettings(worker_id=worker_id, allow_private=settings.webhook_allow_private,
                       public_url=settings.public_url,
                       receiver_rule=settings.alertmanager_target_labels)


def _connection(sync: SyncConfig, settings: RunSettings) -> Connection:
    password = sync.secrets.get("password") or ""
    basic = (sync.basic_username, str(password)) if sync.basic_username else None
    return Connection(sync.url, sync.base_path, basic=basic,
                      bearer=sync.secrets.get("bearer_token") or None,
                      headers=dict(sync.secrets.get("headers") or {}),
                      allow_private=settings.allow_private, timeout=settings.http_timeout)


def _icinga_connection(sync: SyncConfig, settings: RunSettings) -> IcingaConnection:
    options = sync.options
    return IcingaConnection(
        sync.url, sync.basic_username or "", str(sync.secrets.get("password") or ""),
        ca_file=options.get("ca_file"), verify_tls=bool(options.get("verify_tls", True)),
        allow_private=settings.allow_private, timeout=settings.http_timeout,
        endpoints=tuple(options.get("endpoints") or ()))


def _alertmanager(sync: SyncConfig, settings: RunSettings, windows: list[Window],
                  members: Mapping[str, frozenset[str]], now: datetime
                  ) -> tuple[list[DesiredObject], list[NotExpressible], AlertmanagerAdapter]:
    labels = (sync.target_labels if sync.target_labels is not None
              else default_target_labels(settings.receiver_rule))
    scope = SyncScope(sync.workspace_id, sync.id, labels, sync.allow_all_targets, sync.lead,
                      settings.public_url)
    desired, problems = desired_silences(windows, members, scope, now)
    adapter = AlertmanagerAdapter(_connection(sync, settings), sync.workspace_id, sync.id,
                                  transport=settings.transport)
    return desired, problems, adapter


def _icinga(sync: SyncConfig, settings: RunSettings, windows: list[Window],
            members: Mapping[str, frozenset[str]], now: datetime
            ) -> tuple[list[DesiredObject], list[NotExpressible], IcingaAdapter]:
    options = sync.options
    scope = IcingaScope(sync.workspace_id, sync.id,
                        options.get("target_objects") or DEFAULT_TARGET_OBJECTS,
                        bool(options.get("all_services", True)), sync.lead, settings.public_url)
    desired, problems = desired_downtimes(windows, members, scope, now)
    adapter = IcingaAdapter(_icinga_connection(sync, settings), sync.workspace_id, sync.id,
                            now=now)
    return desired, problems, adapter


class _KeepAlive:
    """Renews the lease at most every third of its length; raises ``LeaseLost``."""

    def __init__(self, database: Database, sync_id: int, settings: RunSettings,
                 clock: Callable[[], datetime]) -> None:
        self._db, self._id, self._settings, self._clock = database, sync_id, settings, clock
        self._last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self._last < self._settings.lease.total_seconds() / 3:
            return
        with self._db.transaction() as db:
            held = sync_state.renew(db, self._id, self._settings.worker_id, self._clock(),
                                    self._settings.lease)
        if not held:
            raise LeaseLost(f"sync {self._id}")
        self._last = time.monotonic()


def run_sync(database: Database, sync_id: int, settings: RunSettings,
             clock: Callable[[], datetime]) -> bool:
    """Run the sync if it is due and nobody else runs it; True if this call ran it."""
    with database.transaction() as db:
        sync = sync_state.claim(db, sync_id, settings.worker_id, clock(), settings.lease)
    if sync is None:
        return False
    started = time.monotonic()
    try:
        _reconcile(database, sync, settings, clock, started)
    except LeaseLost:
        log.warning("sync lease lost mid-run; another worker carries on", sync=sync_id)
    except SyncError as exc:
        log.warning("sync failed; retrying with backoff", sync=sync_id, error=str(exc))
        with database.transaction() as db:
            sync_state.record_failure(db, sync_id, settings.worker_id, clock(), str(exc))
    except Exception as exc:  # a bug must not leave the lease held until it times out
        log.exception("sync crashed", sync=sync_id)
        with database.transaction() as db:
            sync_state.record_failure(db, sync_id, settings.worker_id, clock(),
                                      f"internal error: {exc.__class__.__name__}: {exc}")
    return True


def _reconcile(database: Database, sync: SyncConfig, settings: RunSettings,
               clock: Callable[[], datetime], started: float) -> None:
    with database.read() as db:
        records = load_all_windows(db, sync.workspace_id)
        members = load_all_groups(db, sync.workspace_id).get(sync.workspace_id, {})
        known = sync_state.known_objects(db, sync.id)
    windows = [r.to_window() for r in records]
    now = clock()
    system = _icinga if sync.type == "icinga2" else _alertmanager
    desired, problems, chosen = system(sync, settings, windows, members, now)
    parallelism = int(sync.options.get("parallelism", DEFAULT_PARALLELISM))
    with chosen as adapter:
        todo = plan(desired, adapter.list_own())
        outcome = apply_plan(todo, adapter, known=known, parallelism=parallelism,
                             keep_alive=_KeepAlive(database, sync.id, settings, clock))
        requests = adapter.requests
        via = {"endpoint": adapter.endpoint, "unreachable": list(adapter.unreachable)} if (
            isinstance(adapter, IcingaAdapter)) else {}
    if via.get("unreachable"):
        log.warning("sync endpoints unreachable; another endpoint of the zone answered",
                    sync=sync.id, unreachable=via["unreachable"], endpoint=via["endpoint"])
    names = {w.id: w.name for w in windows}
    problems += [NotExpressible(d.tag.window_id, names.get(d.tag.window_id, ""), reason)
                 for d, reason in outcome.rejected]
    wake = next_wake(windows, now, sync.lead)
    next_run = now + sync.interval
    if wake is not None and wake < next_run:
        next_run = max(wake, now)
    _record(database, sync, settings, clock, outcome, problems, known, next_run, requests,
            started, via)


def _record(database: Database, sync: SyncConfig, settings: RunSettings,
            clock: Callable[[], datetime], outcome: Outcome, problems: list[NotExpressible],
            known: dict[str, datetime], next_run: datetime, requests: int,
            started: float, via: dict[str, Any]) -> None:
    now = clock()
    result = sync_state.RunResult(
        created=outcome.created, changed=outcome.changed, removed=outcome.removed,
        requests=requests, duration_ms=int((time.monotonic() - started) * 1000),
        repairs=[r.to_json(now) for r in outcome.repairs],
        not_expressible=[p.to_json() for p in problems], present=outcome.present, via=via)
    with database.transaction() as db:
        if not sync_state.record_success(db, sync.id, settings.worker_id, now, result, known,
                                         next_run):
            raise LeaseLost(f"sync {sync.id}")
    if outcome.created or outcome.changed or outcome.removed:
        log.info("sync reconciled", sync=sync.id, created=outcome.created,
                 changed=outcome.changed, removed=outcome.removed,
                 repairs=len(outcome.repairs))
