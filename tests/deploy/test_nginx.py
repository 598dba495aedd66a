"""``deploy/nginx.conf`` with Debian's nginx and a self-signed certificate in front of a real
quietly server: HTTPS through to the app, the decision API, UI sign-in with a Secure cookie,
and forwarded headers believed from nginx (127.0.0.1) but not from anyone else (127.0.0.2).

The recipe's own file is used, with its ports, certificate paths and the IPv6/port-80
parts changed for a test on 127.0.0.1 (``_site``)."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import _free_port, make_tenant
from tests.web.sso_support import quietly_server

RECIPE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                  else None)
OPENSSL = shutil.which("openssl")

pytestmark = pytest.mark.skipif(NGINX is None or OPENSSL is None,
                                reason="needs nginx and openssl (apt-get install nginx)")


def _trust(cert: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert)


def _site(upstream: int, port: int, cert: Path, key: Path) -> str:
    text = RECIPE.read_text()
    text = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", text, flags=re.S)  # no port 80
    text = re.sub(r"\s*listen \[::\]:443 ssl http2;", "", text)
    return (text.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
            .replace("/etc/ssl/certs/quietly.example.com.pem", str(cert))
            .replace("/etc/ssl/private/quietly.example.com.key", str(key)))


@pytest.fixture(scope="module")
def behind_nginx(settings: Settings, db: Database, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[str, str, str]]:
    """(https URL through nginx, direct URL of quietly, the certificate file)."""
    assert NGINX is not None
    assert OPENSSL is not None
    work = tmp_path_factory.mktemp("nginx")
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    port = _free_port()
    with quietly_server(settings, db, cookie_secure=True, trusted_proxies="127.0.0.1") as app:
        site = work / "site.conf"
        site.write_text(_site(int(app.rsplit(":", 1)[1]), port, cert, key))
        conf = work / "nginx.conf"
        conf.write_text(f"daemon off;\nuser root;\nworker_processes 1;\npid {work}/nginx.pid;\n"
                        f"error_log {work}/error.log;\nevents {{}}\nhttp {{\n"
                        f"  access_log {work}/access.log;\n"
                        f"  client_body_temp_path {work}/body;\n  proxy_temp_path {work}/proxy;\n"
                        f"  fastcgi_temp_path {work}/fcgi;\n  uwsgi_temp_path {work}/uwsgi;\n"
                        f"  scgi_temp_path {work}/scgi;\n  include {site};\n}}\n")
        log = (work / "nginx.out").open("wb")
        proc = subprocess.Popen([NGINX, "-p", str(work), "-c", str(conf)], stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"https://localhost:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(url + "/healthz", verify=_trust(str(cert)))
                    break
                except httpx.TransportError:
                    if proc.poll() is not None:
                        raise RuntimeError((work / "nginx.out").read_text()) from None
                    time.sleep(0.05)
            yield url, app, str(cert)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def test_the_api_and_decisions_through_nginx(behind_nginx: tuple[str, str, str],
                                             db: Database) -> None:
    url, _, cert = behind_nginx
    tenant = make_tenant(db, url)
    with httpx.Client(base_url=url, verify=_trust(cert), headers={
            "Authorization": f"Bearer {tenant.keys[Role.ADMIN]}"}) as client:
        health = client.get("/healthz")
        decision = client.get("/api/v1/decide", params={"target": "service:x"})
        feed = client.get("/api/v1/calendar")
    assert (health.status_code, decision.json()["verdict"], feed.status_code,
            feed.json()["workspace_url"].startswith(url + "/")) == (200, "deliver", 200, True)


def test_ui_sign_in_gets_a_secure_cookie(behind_nginx: tuple[str, str, str],
                                         db: Database) -> None:
    url, _, cert = behind_nginx
    tenant = make_tenant(db, url)
    with httpx.Client(base_url=url, verify=_trust(cert)) as browser:
        browser.get("/sign-in")
        signed = browser.post("/sign-in", data={
            "api_key": tenant.keys[Role.ADMIN],
            "csrf_token": browser.cookies.get("quietly_signin_csrf"), "next": "/windows"})
        home = browser.get("/windows")
    cookie = signed.headers.get("set-cookie", "")
    assert (signed.status_code, "quietly_session=" in cookie, "Secure" in cookie,
            home.status_code) == (303, True, True, 200)


def test_forwarded_headers_from_anyone_but_nginx_are_not_applied(
        behind_nginx: tuple[str, str, str], db: Database) -> None:
    _, app, _ = behind_nginx
    tenant = make_tenant(db, app)
    headers = {"Authorization": f"Bearer {tenant.keys[Role.ADMIN]}",
               "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as stranger:
        feed = stranger.get(app + "/api/v1/calendar", headers=headers).json()["workspace_url"]
    assert feed.startswith(app + "/")
