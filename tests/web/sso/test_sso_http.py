"""Single sign-on over HTTP: the code flow against oidc-provider-mock with each group mapping,
and every way a sign-in must be refused, each answered by a page that says why.

Refusals that a well-behaved provider never produces (a token for another audience or from
another issuer, a foreign signature, a replayed nonce, an expired token) come from a second,
hand-driven provider: a real HTTP server on 127.0.0.1 (pytest-httpserver) publishing discovery
and a JWKS and signing its ID tokens with its own RSA key through joserfc.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pytest_httpserver import HTTPServer
from werkzeug import Request as WsgiRequest
from werkzeug import Response as WsgiResponse

from quietly.services import users
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.web.sso.conftest import CLIENT_ID, Sso, roles_for
from tests.web.sso_support import quietly_server, set_user


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _start(agent: httpx.Client, base: str, next_path: str = "/windows") -> str:
    """Ask quietly to sign in; returns the provider's authorization URL it redirects to."""
    response = agent.get(base + "/sign-in/oidc", params={"next": next_path})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _authorize(url: str, sub: str, action: str | None = None) -> str:
    """Sign ``sub`` in at oidc-provider-mock's form; returns the callback URL it sends back."""
    data = {"sub": sub} | ({"action": action} if action else {})
    response = httpx.post(url, data=data)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def _refusal(response: httpx.Response) -> str:
    found = re.search(r'<p role="alert">(.*?)</p>', response.text, re.S)
    return (found.group(1) if found else response.text).replace("&#39;", "'")


@pytest.fixture
def agent(sso: Sso) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def test_authorization_request_uses_pkce_nonce_and_state(agent: httpx.Client, sso: Sso
                                                         ) -> None:
    query = _query(_start(agent, sso.url))
    assert (query["response_type"], query["client_id"], query["code_challenge_method"],
            query["scope"], len(query["code_challenge"]) >= 43, len(query["state"]) >= 32,
            len(query["nonce"]) >= 32, query["redirect_uri"]) == (
        "code", CLIENT_ID, "S256", "openid email profile", True, True, True,
        sso.url + "/sign-in/oidc/callback")


ROLE_CASES = {
    "sre-admins → admin": (["sre-admins"], "admin"),
    "sre → editor": (["sre"], "editor"),
    "watchers → viewer": (["watchers"], "viewer"),
    "the best role wins": (["watchers", "sre-admins", "sre"], "admin"),
}


@pytest.mark.parametrize("case", ROLE_CASES, ids=list(ROLE_CASES))
def test_groups_map_to_role(case: str, agent: httpx.Client, sso: Sso, db: Database) -> None:
    groups, role = ROLE_CASES[case]
    sub = "u-" + uuid.uuid4().hex[:8]
    set_user(sso.issuer, sub, email=f"{sub}@example.com", name="Una", groups=groups)
    callback = _authorize(_start(agent, sso.url), sub)
    landed = agent.get(callback)
    home = agent.get(sso.url + "/windows")
    with db.read() as session:
        person = users.get_user(session, sso.issuer, sub)
    assert person is not None
    assert (landed.status_code, landed.headers["location"], home.status_code,
            f'role-{role}">{role}' in home.text, person.email, person.name) == (
        303, "/windows", 200, True, f"{sub}@example.com", "Una")


def test_state_that_does_not_match_is_refused(agent: httpx.Client, sso: Sso) -> None:
    sub = "s-" + uuid.uuid4().hex[:8]
    set_user(sso.issuer, sub, email="s@example.com", groups=["sre"])
    callback = _authorize(_start(agent, sso.url), sub)
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    response = agent.get(forged)
    assert (response.status_code, "state does not match" in _refusal(response),
            agent.get(sso.url + "/").status_code) == (400, True, 303)


def test_callback_in_another_browser_is_refused(agent: httpx.Client, sso: Sso) -> None:
    sub = "c-" + uuid.uuid4().hex[:8]
    set_user(sso.issuer, sub, email="c@example.com", groups=["sre"])
    callback = _authorize(_start(agent, sso.url), sub)
    with httpx.Client() as other:  # no pending sign-in cookie
        response = other.get(callback)
    assert (response.status_code, "not started from this browser" in _refusal(response)) == (
        400, True)


def test_denied_at_the_provider_is_refused(agent: httpx.Client, sso: Sso) -> None:
    callback = _authorize(_start(agent, sso.url), "anyone", action="deny")
    response = agent.get(callback)
    assert (response.status_code, "did not sign you in (access_denied: " in _refusal(response)
            ) == (400, True)


def test_unmapped_groups_are_refused_and_no_session_opens(agent: httpx.Client, sso: Sso
                                                          ) -> None:
    sub = "m-" + uuid.uuid4().hex[:8]
    set_user(sso.issuer, sub, email="mallory@example.com", groups=["marketing", "sales"])
    response = agent.get(_authorize(_start(agent, sso.url), sub))
    assert (response.status_code, _refusal(response),
            agent.get(sso.url + "/").status_code) == (
        403, "mallory@example.com signed in at the provider, but none of their groups "
        "(marketing, sales) is given a role here. Ask an administrator to add one to "
        "QUIETLY_SSO_ROLES.", 303)


def test_sign_out_ends_the_session_and_names_it_to_the_provider(agent: httpx.Client,
                                                                sso: Sso) -> None:
    sub = "o-" + uuid.uuid4().hex[:8]
    set_user(sso.issuer, sub, email="o@example.com", groups=["watchers"])
    agent.get(_authorize(_start(agent, sso.url), sub))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', agent.get(sso.url + "/").text)
    assert csrf is not None
    out = agent.post(sso.url + "/sign-out", data={"csrf_token": csrf.group(1)})
    onward = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', out.text)
    assert onward is not None
    target = onward.group(1).replace("&amp;", "&")
    query = _query(target)
    assert (out.status_code, target.startswith(sso.issuer + "/oauth2/end_session?"),
            query["post_logout_redirect_uri"], query["client_id"], "id_token_hint" in query,
            agent.get(sso.url + "/").status_code) == (
        200, True, sso.url + "/sign-in", CLIENT_ID, True, 303)


# --- a provider that misbehaves on demand ----------------------------------------------


class HandDrivenProvider:
    """Discovery, JWKS and a token endpoint whose next ID token the test chooses."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.issuer = server.url_for("/").rstrip("/")
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.next_claims: dict[str, Any] = {}
        self.signing_key: RSAKey = self.key
        self.omit_id_token = False
        self.refuse_code = False
        server.expect_request("/.well-known/openid-configuration").respond_with_json({
            "issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"]})
        server.expect_request("/jwks").respond_with_json(
            KeySet([self.key]).as_dict(private=False))
        server.expect_request("/token", method="POST").respond_with_handler(self._token)

    def _token(self, request: WsgiRequest) -> WsgiResponse:
        form = request.form
        assert (form["grant_type"], form["client_id"], form["client_secret"],
                bool(form["code_verifier"])) == ("authorization_code", CLIENT_ID,
                                                 "test-secret", True)
        if self.refuse_code:
            return WsgiResponse(json.dumps({"error": "invalid_grant",
                                            "error_description": "code expired"}),
                                status=400, content_type="application/json")
        body: dict[str, Any] = {"access_token": "at-1", "token_type": "Bearer"}
        if not self.omit_id_token:
            body["id_token"] = jwt.encode({"alg": "RS256", "kid": "k1"}, self.next_claims,
                                          self.signing_key)
        return WsgiResponse(json.dumps(body), content_type="application/json")

    def claims(self, sent_nonce: str, changes: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": "hd-1", "iat": now,
                "exp": now + 300, "nonce": sent_nonce, "email": "hd@example.com",
                "groups": ["sre"]} | changes


@pytest.fixture(scope="module")
def hand_driven(settings: Settings, db: Database, sso_workspace: tuple[str, str]
                ) -> Iterator[tuple[HandDrivenProvider, str]]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    provider = HandDrivenProvider(server)
    try:
        with quietly_server(settings, db, oidc_issuer=provider.issuer,
                            oidc_client_id=CLIENT_ID, oidc_client_secret="test-secret",
                            sso_roles=roles_for(sso_workspace[0])) as url:
            yield provider, url
    finally:
        server.stop()


def _sign_in_with(hand: tuple[HandDrivenProvider, str], **changes: Any) -> httpx.Response:
    provider, url = hand
    with httpx.Client(timeout=30) as agent:
        query = _query(_start(agent, url))
        provider.next_claims = provider.claims(query["nonce"], changes)
        return agent.get(url + "/sign-in/oidc/callback",
                           params={"code": "c-1", "state": query["state"]})


REFUSED_TOKENS = {
    "another audience": ({"aud": "another-app"}, "was issued to another application"),
    "another issuer": ({"iss": "http://127.0.0.1:9/evil"}, "comes from another issuer"),
    "a replayed nonce": ({"nonce": "from-another-sign-in"}, "does not belong to this sign-in"),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
                "has expired"),
}


@pytest.mark.parametrize("case", REFUSED_TOKENS, ids=list(REFUSED_TOKENS))
def test_id_token_claims_are_checked(case: str, hand_driven: tuple[HandDrivenProvider, str]
                                     ) -> None:
    changes, reason = REFUSED_TOKENS[case]
    response = _sign_in_with(hand_driven, **changes)
    assert (response.status_code, reason in _refusal(response)) == (400, True)


def test_a_valid_token_from_the_hand_driven_provider_signs_in(
        hand_driven: tuple[HandDrivenProvider, str]) -> None:
    response = _sign_in_with(hand_driven)
    assert (response.status_code, response.headers.get("location")) == (303, "/windows")


def test_a_token_signed_with_another_key_is_refused(
        hand_driven: tuple[HandDrivenProvider, str]) -> None:
    provider, _ = hand_driven
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    try:
        response = _sign_in_with(hand_driven)
    finally:
        provider.signing_key = provider.key
    assert (response.status_code, "signature does not verify" in _refusal(response)) == (
        400, True)


def test_a_token_response_without_id_token_is_refused(
        hand_driven: tuple[HandDrivenProvider, str]) -> None:
    provider, _ = hand_driven
    provider.omit_id_token = True
    try:
        response = _sign_in_with(hand_driven)
    finally:
        provider.omit_id_token = False
    assert (response.status_code, "sent no ID token" in _refusal(response)) == (400, True)


def test_a_code_the_provider_refuses_is_refused(
        hand_driven: tuple[HandDrivenProvider, str]) -> None:
    provider, _ = hand_driven
    provider.refuse_code = True
    try:
        response = _sign_in_with(hand_driven)
    finally:
        provider.refuse_code = False
    assert (response.status_code, "refused the code (400: code expired)" in _refusal(response)
            ) == (400, True)


def test_a_provider_calling_itself_by_another_name_is_refused(
        settings: Settings, db: Database, hand_driven: tuple[HandDrivenProvider, str]) -> None:
    provider, _ = hand_driven
    alias = provider.issuer.replace("127.0.0.1", "localhost")
    with quietly_server(settings, db, oidc_issuer=alias, oidc_client_id=CLIENT_ID) as url, \
            httpx.Client() as agent:
        response = agent.get(url + "/sign-in/oidc")
    assert (response.status_code, f"calls itself '{provider.issuer}'" in _refusal(response)
            ) == (502, True)


def test_key_sign_in_can_be_turned_off(settings: Settings, db: Database, sso: Sso) -> None:
    with quietly_server(settings, db, oidc_issuer=sso.issuer, oidc_client_id=CLIENT_ID,
                        ui_key_sign_in=False) as url, httpx.Client(base_url=url) as agent:
        form = agent.get("/sign-in")
        token = agent.cookies.get("quietly_signin_csrf")
        posted = agent.post("/sign-in", data={"api_key": sso.admin_key, "csrf_token": token})
    assert (form.status_code, 'name="api_key"' in form.text, "Sign in with" in form.text,
            posted.status_code, "turned off" in posted.text,
            "quietly_session" in posted.cookies) == (200, False, True, 403, True, False)
