"""Dependencies shared by every route: the app state, the clock, and the caller's principal.

Keys are looked up once and cached briefly in memory, so the decision hot path does not touch
the database for authentication; a revoked key stops working here at once and in other
processes within ``AUTH_CACHE_SECONDS``.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from quietly.api.keyguard import AuthThrottle, KeyUsage
from quietly.core.codec import format_instant
from quietly.core.records import Principal, Role
from quietly.services import workspaces
from quietly.services.decisions import DecisionService
from quietly.settings import Settings
from quietly.storage.db import Database

__all__ = [
    "Admin",
    "AppState",
    "Editor",
    "Maintainer",
    "Now",
    "State",
    "Viewer",
    "authenticate_key",
    "bearer_key",
    "client_of",
    "expired_message",
    "get_state",
]

AUTH_CACHE_SECONDS = 10.0
EXPIRED_CHALLENGE = ('Bearer realm="quietly", error="invalid_token", '
                     'error_description="the API key has expired"')


@dataclass
class AppState:
    settings: Settings
    db: Database
    decisions: DecisionService
    extras: dict[str, object] = field(default_factory=dict)
    _auth_cache: dict[str, tuple[Principal | None, float]] = field(default_factory=dict)
    throttle: AuthThrottle = field(init=False)
    key_usage: KeyUsage = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = AuthThrottle(self.settings.auth_failures_per_minute)
        self.key_usage = KeyUsage(self.db)

    def principal_for(self, raw_key: str, client: str | None = None) -> Principal | None:
        """The key's principal (None: unknown or revoked), cached briefly. A key not in the
        cache is looked up only if ``client`` is not throttled for failing (else 429)."""
        cached = self._auth_cache.get(raw_key)  # by the key itself: no hash per request
        now = _time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        wait = self.throttle.retry_after(client, now)
        if wait is not None:
            raise _throttled(wait)
        with self.db.read() as session:
            principal = workspaces.authenticate(session, raw_key)
        if len(self._auth_cache) > 10_000:
            self._auth_cache.clear()
        self._auth_cache[raw_key] = (principal, now + AUTH_CACHE_SECONDS)
        if principal is not None:  # once per cache period at most: off the hot path
            self.key_usage.used(principal.key_id)
        return principal

    def auth_failed(self, client: str | None) -> None:
        """Count a failed authentication of ``client``; 429 once it is over its limit."""
        wait = self.throttle.failed(client, _time.monotonic())
        if wait is not None:
            raise _throttled(wait)

    def forget_keys(self) -> None:
        self._auth_cache.clear()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.quietly
    return state


def utcnow() -> datetime:
    return datetime.now(UTC)


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="quietly"'})


def _throttled(seconds: int) -> HTTPException:
    return HTTPException(429, "too many failed authentications from this address; retry "
                         f"in {seconds} s", headers={"Retry-After": str(seconds)})


def client_of(request: Request) -> str | None:
    """The address failed authentications are counted against."""
    return request.client.host if request.client is not None else None


def expired_message(principal: Principal) -> str | None:
    """Why ``principal``'s key no longer works (it has expired), or None while it does.

    Checked on every request, the cached ones too: only keys with an expiry pay for the clock.
    """
    if principal.expires_at is None or principal.expires_at > datetime.now(UTC):
        return None
    return (f"the API key {principal.key_name!r} expired at "
            f"{format_instant(principal.expires_at)}; ask an admin for a new one")


def authenticate_request(request: Request, state: AppState, needed: Role) -> Principal:
    return authenticate_key(bearer_key(request), state, needed, client_of(request))


def authenticate_key(raw: str | None, state: AppState, needed: Role,
                     client: str | None = None, *, count: bool = True) -> Principal:
    """The principal of a raw bearer key with at least the ``needed`` role, or 401/403;
    429 for a ``client`` whose authentications keep failing (``AuthThrottle``). ``count``
    False: a failure is not counted (a fast path whose failures the app answers again)."""
    if raw is None:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    principal = state.principal_for(raw, client)
    if principal is None:
        if count:
            state.auth_failed(client)
        raise _unauthorized("the API key is unknown or revoked")
    expired = expired_message(principal)
    if expired is not None:
        if count:
            state.auth_failed(client)
        # RFC 6750's error code tells a client that this key will not work again.
        raise HTTPException(401, expired, headers={"WWW-Authenticate": EXPIRED_CHALLENGE})
    if not principal.role.allows(needed):
        raise HTTPException(403, f"this needs the {needed.value} role; the key is a "
                            f"{principal.role.value} key")
    return principal


def _require(needed: Role):  # type: ignore[no-untyped-def]
    def dependency(request: Request) -> Principal:
        return authenticate_request(request, get_state(request), needed)

    return dependency


State = Annotated[AppState, Depends(get_state)]
Now = Annotated[datetime, Depends(utcnow)]
Viewer = Annotated[Principal, Depends(_require(Role.VIEWER))]
Maintainer = Annotated[Principal, Depends(_require(Role.MAINTENANCE))]
"""Start and stop immediate maintenance: the ``maintenance`` role and above."""
Editor = Annotated[Principal, Depends(_require(Role.EDITOR))]
Admin = Annotated[Principal, Depends(_require(Role.ADMIN))]
