"""Single sign-on routes: leave for the OpenID provider, come back signed in, sign out.

``GET /sign-in/oidc`` sends the browser to the provider with state, nonce and a PKCE challenge;
what must come back with it (state, nonce, verifier, where to go next) waits in a short-lived
HttpOnly cookie scoped to ``/sign-in/oidc``. ``GET /sign-in/oidc/callback`` checks all of it
(``web.oidc``), maps the person's groups to a workspace and role (``core.identity``) and opens
a session. Anything refused is a page that says why; nothing is half signed in.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from quietly.api.deps import get_state
from quietly.core.errors import NotFound
from quietly.core.identity import grant_for
from quietly.services import users
from quietly.services.web_sessions import WebSession
from quietly.web import auth
from quietly.web.oidc import OidcClient, PendingSignIn, SignInRefused
from quietly.web.render import page

__all__ = ["after_sign_out", "router", "sign_in_options"]

router = APIRouter(include_in_schema=False)
PENDING_COOKIE = "quietly_oidc"
PENDING_PATH = "/sign-in/oidc"
PENDING_SECONDS = 600


def _client(request: Request) -> OidcClient | None:
    state = get_state(request)
    if not state.settings.oidc_issuer:
        return None
    client = state.extras.get("oidc_client")
    if client is None:
        client = state.extras.setdefault("oidc_client", OidcClient(state.settings))
    assert isinstance(client, OidcClient)
    return client


def sign_in_options(request: Request) -> dict[str, Any]:
    """What the sign-in page offers: the provider's button, the key form, or both."""
    settings = get_state(request).settings
    return {"oidc_name": settings.oidc_provider_name if settings.oidc_issuer else None,
            "key_sign_in": settings.ui_key_sign_in}


def _refused(request: Request, exc: SignInRefused, status: int) -> Response:
    response = page(request, "sign_in_refused.html", None, status=status, message=exc.message)
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
    return response


def _encode(pending: PendingSignIn) -> str:
    raw = json.dumps([pending.state, pending.nonce, pending.verifier, pending.next])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode(value: str | None) -> PendingSignIn | None:
    if not value:
        return None
    try:
        state, nonce, verifier, next_path = json.loads(base64.urlsafe_b64decode(value))
        return PendingSignIn(str(state), str(nonce), str(verifier), str(next_path))
    except (ValueError, TypeError):
        return None


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/sign-in/oidc")
def oidc_start(request: Request, next: Annotated[str | None, Query(max_length=500)] = None
               ) -> Response:
    client = _client(request)
    if client is None:
        raise auth.UiError(404, "Single sign-on is not set up on this server.")
    try:
        url, pending = client.begin(_callback_url(request), _safe_next(next))
    except SignInRefused as exc:
        return _refused(request, exc, 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(PENDING_COOKIE, _encode(pending), max_age=PENDING_SECONDS,
                        path=PENDING_PATH, httponly=True, samesite="lax",
                        secure=get_state(request).settings.cookie_secure)
    return response


@router.get("/sign-in/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request) -> Response:
    client = _client(request)
    if client is None:
        raise auth.UiError(404, "Single sign-on is not set up on this server.")
    pending = _decode(request.cookies.get(PENDING_COOKIE))
    params = {k: v[:4000] for k, v in request.query_params.items()}
    try:
        identity, id_token = client.finish(params, pending, _callback_url(request))
    except SignInRefused as exc:
        return _refused(request, exc, 400)
    assert pending is not None
    state = get_state(request)
    grant = grant_for(auth.role_rules(state.settings.sso_roles), identity.groups)
    if grant is None:
        return _refused(request, SignInRefused(auth.unmapped_message(identity)), 403)
    try:
        with state.db.transaction() as db:
            token, _ = users.start_user_session(db, identity, grant, datetime.now(UTC),
                                                id_token=id_token)
    except NotFound as exc:
        return _refused(request, SignInRefused(exc.message + "."), 403)
    response = RedirectResponse(pending.next, status_code=303)
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
    auth.set_session_cookie(response, request, token)
    return response


def after_sign_out(request: Request, session: WebSession, token: str) -> Response:
    """End the browser's session and say where it goes next: the provider's end-session
    page when it advertises one, a proxy's sign-out URL, else the sign-in page.

    Leaving for another site is a page that moves on by itself (a redirect answering the
    sign-out form would be blocked by the pages' ``form-action 'self'`` policy).
    """
    state = get_state(request)
    with state.db.transaction() as db:
        person, id_token = users.end_user_session(db, token)
    by_proxy = not person and session.principal.key_id is None
    if by_proxy:
        url = state.settings.proxy_sign_out_url
        message = ("You were signed in by your organisation's sign-in proxy; close the browser "
                   "or sign out there to end that session too.")
        provider = "the sign-in proxy"
    else:
        client = _client(request) if person else None
        url = client.logout_url(id_token, str(request.url_for("sign_in_page"))) \
            if client else None
        message, provider = "", state.settings.oidc_provider_name
    if url is None and not by_proxy:
        return RedirectResponse("/sign-in", status_code=303)
    return page(request, "signed_out.html", None, continue_url=url, provider=provider,
                message=message)
