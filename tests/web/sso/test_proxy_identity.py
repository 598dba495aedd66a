"""Trusted-proxy identity (oauth2-proxy, Pomerium): X-Forwarded-Email/-User/-Groups sign a
person in only when the request comes from a configured proxy address; X-Forwarded-Proto,
-Host and -For likewise. Requests from 127.0.0.1 play the proxy; 127.0.0.2 is anyone else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from pydantic import ValidationError

from quietly.api.proxies import TrustedProxies, parse_networks
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.web.sso.conftest import roles_for
from tests.web.sso_support import quietly_server


@pytest.fixture(scope="module")
def proxied(settings: Settings, db: Database, sso_workspace: tuple[str, str]
            ) -> Iterator[str]:
    with quietly_server(settings, db, trusted_proxies="127.0.0.1", proxy_identity=True,
                        proxy_sign_out_url="/oauth2/sign_out",
                        sso_roles=roles_for(sso_workspace[0])) as url:
        yield url


def _client(url: str, source: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, timeout=30)


def _person(email: str, groups: str = "sre") -> dict[str, str]:
    return {"X-Forwarded-Email": email, "X-Forwarded-User": email.split("@")[0],
            "X-Forwarded-Groups": groups}


def test_a_person_from_the_proxy_acts_as_themselves(proxied: str,
                                                    sso_workspace: tuple[str, str]) -> None:
    email = f"bob-{uuid.uuid4().hex[:6]}@example.com"
    with _client(proxied) as proxy:
        home = proxy.get("/", headers=_person(email))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert csrf is not None
        started = proxy.post("/maintenance", headers=_person(email), data={
            "targets": "service:proxy-test", "minutes": "30", "csrf_token": csrf.group(1)})
    window_id = int(started.headers["location"].split("?")[0].rsplit("/", 1)[1])
    with httpx.Client(base_url=proxied, headers={
            "Authorization": f"Bearer {sso_workspace[1]}"}) as api:
        window = api.get(f"/api/v1/windows/{window_id}").json()
    assert (home.status_code, email in home.text, 'role-editor">editor' in home.text,
            started.status_code, window["created_by"]) == (200, True, True, 303, email)


def test_the_same_headers_from_anyone_else_are_ignored(proxied: str) -> None:
    with _client(proxied, source="127.0.0.2") as stranger:
        response = stranger.get("/", headers=_person("eve@example.com", "sre-admins"))
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in?next=/")


def test_identity_headers_are_ignored_unless_turned_on(settings: Settings, db: Database,
                                                       sso_workspace: tuple[str, str]) -> None:
    with quietly_server(settings, db, trusted_proxies="127.0.0.1",
                        sso_roles=roles_for(sso_workspace[0])) as url, _client(url) as proxy:
        response = proxy.get("/", headers=_person("bob@example.com"))
    assert response.status_code == 303


def test_a_person_with_no_mapped_group_gets_a_clear_refusal(proxied: str) -> None:
    with _client(proxied) as proxy:
        response = proxy.get("/", headers=_person("carol@example.com", "marketing,sales"))
    assert (response.status_code, "carol@example.com signed in at the provider, but none of "
            "their groups (marketing, sales) is given a role here" in response.text) == (
        403, True)


def test_sign_out_goes_to_the_proxy(proxied: str) -> None:
    email = "dave@example.com"
    with _client(proxied) as proxy:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                         proxy.get("/", headers=_person(email)).text)
        assert csrf is not None
        out = proxy.post("/sign-out", headers=_person(email),
                         data={"csrf_token": csrf.group(1)})
        sign_in = proxy.get("/sign-in?next=/windows", headers=_person(email))
    assert (out.status_code, 'content="0;url=/oauth2/sign_out"' in out.text,
            sign_in.status_code, sign_in.headers["location"]) == (200, True, 303, "/windows")


def test_forwarded_proto_and_host_only_from_the_proxy(proxied: str,
                                                      sso_workspace: tuple[str, str]) -> None:
    headers = {"Authorization": f"Bearer {sso_workspace[1]}", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "quietly.example.com"}
    with _client(proxied) as proxy, _client(proxied, "127.0.0.2") as stranger:
        via_proxy = proxy.get("/api/v1/calendar", headers=headers).json()["workspace_url"]
        direct = stranger.get("/api/v1/calendar", headers=headers).json()["workspace_url"]
    assert (via_proxy.startswith("https://quietly.example.com/"),
            direct.startswith(proxied + "/")) == (True, True)


CHAINS = {
    "the client the proxy saw": ("203.0.113.7", "203.0.113.7"),
    "right-most untrusted hop wins over a forged left part": (
        "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    "trusted hops are skipped": ("203.0.113.7, 10.1.2.3, 127.0.0.1", "203.0.113.7"),
    "all trusted: the first": ("10.0.0.1, 127.0.0.1", "10.0.0.1"),
    "empty": ("", None),
}


@pytest.mark.parametrize("case", CHAINS, ids=list(CHAINS))
def test_forwarded_for_chain(case: str) -> None:
    chain, expected = CHAINS[case]
    middleware = TrustedProxies(lambda *a: None, parse_networks("127.0.0.1, 10.0.0.0/8"))  # type: ignore[arg-type]
    assert middleware.trust.client(chain) == expected


BAD_SETTINGS = {
    "trusted_proxies": ("10.0.0.0/33", "is not an address or CIDR"),
    "sso_roles": ("sre=default", "is not a rule"),
}


@pytest.mark.parametrize("name", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_bad_settings_stop_start_up(name: str) -> None:
    value, message = BAD_SETTINGS[name]
    with pytest.raises(ValidationError, match=message):
        Settings(**{name: value})
