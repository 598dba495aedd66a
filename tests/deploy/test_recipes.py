"""The deployment recipes in ``deploy/``, exercised with the real programs (issue 15).

- ``quietly.service``: ``systemd-analyze verify`` accepts it with no warning (an unknown key
  only warns), and ``systemd-analyze security`` rates its sandbox "OK" or better.
- ``nginx.conf``: Debian's nginx runs the file as shipped (only ports, certificate and
  upstream port changed) with a self-signed certificate in front of a real ``quietly serve``:
  HTTP is redirected to HTTPS; the decision API answers through it; signing in to the UI
  sets Secure cookies and the session works; the forwarded scheme and host reach the app
  (the calendar feed address is ``https://`` with the proxy's port); and the same headers
  sent to quietly directly from another address are not believed.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.api.helpers import active_body
from tests.conftest import Tenant
from tests.worker.processes import Proc, free_port, launch_serve, wait_ready

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "quietly.service"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
QUIETLY_COMMAND = str(Path(sys.executable).with_name("quietly"))


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_the_systemd_unit_verifies_cleanly_and_is_sandboxed(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    unit = tmp_path / "quietly.service"
    # Only the install path differs from the shipped file (verify checks that it exists).
    unit.write_text(UNIT.read_text().replace("/opt/quietly/bin/quietly", QUIETLY_COMMAND))
    verified = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True,
                              text=True, check=False)
    security = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", str(unit)],
                              capture_output=True, text=True, check=False)
    exposure = re.search(r"Overall exposure level for quietly\.service: ([\d.]+) (\w+)",
                         security.stdout)
    assert exposure is not None, security.stdout + security.stderr
    assert (verified.returncode, verified.stderr.strip(), exposure.group(2),
            float(exposure.group(1)) <= 2.0) == (0, "", "OK", True)


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=quietly.test",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True)
    return cert, key


def _render(folder: Path, http_port: int, https_port: int, upstream: int) -> Path:
    """The shipped file with ports, certificate and upstream changed, inside a main config
    that keeps every file nginx writes in ``folder``."""
    cert, key = _certificate(folder)
    site = NGINX_CONF.read_text()
    for old, new in [("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};"),
                     ("/etc/ssl/certs/quietly.example.com.pem", str(cert)),
                     ("/etc/ssl/private/quietly.example.com.key", str(key))]:
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    (folder / "quietly.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        "daemon off;\nworker_processes 1;\n"
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log {folder}/access.log;\n"
        f"  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n"
        f"  scgi_temp_path {folder}/scgi;\n"
        f"  include {folder}/quietly.conf;\n}}\n")
    return main


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not listen")


class Stack:
    def __init__(self, https: str, http: str, direct: str, cert: Path) -> None:
        self.https, self.http, self.direct = https, http, direct
        self.tls = ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def stack(database_url: str, tmp_path: Path, tenant: Tenant) -> Iterator[Stack]:
    if NGINX is None:
        pytest.skip("nginx (Debian package) is not installed")
    # Before the server starts: on SQLite a second process sees only what it loads.
    made = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:behind"]))
    assert made.status_code == 201, made.text
    serve, direct = launch_serve(database_url, tmp_path, tmp_path / "serve.log")
    procs: list[Proc] = [serve]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(serve, direct)
        http_port, https_port = free_port(), free_port()
        conf = _render(tmp_path, http_port, https_port, int(direct.rsplit(":", 1)[1]))
        checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(https_port, nginx, tmp_path / "error.log")
        yield Stack(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}",
                    direct, tmp_path / "cert.pem")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for proc in procs:
            proc.stop()


def _feed_url(html: str) -> str:
    found = re.search(r'id="feed-url" readonly value="([^"]+)"', html)
    assert found is not None, html[:3000]
    return found.group(1)


def _cookie_header(response: httpx.Response) -> str:
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


def _sign_in(client: httpx.Client, key: str) -> httpx.Response:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None, form.text[:1000]
    return client.post("/sign-in", data={"api_key": key, "csrf_token": token.group(1),
                                         "next": "/"})


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_nginx_terminates_tls_in_front_of_quietly(tenant: Tenant, stack: Stack) -> None:
    redirect = httpx.get(stack.http + "/readyz?x=1")
    with httpx.Client(base_url=stack.https, verify=stack.tls, timeout=10) as client:
        decision = client.get("/api/v1/decide", params={"target": "service:behind"},
                              headers={"Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"})
        signed_in = _sign_in(client, tenant.keys[Role.ADMIN])
        cookies = signed_in.headers.get_list("set-cookie")
        home = client.get("/")
    assert (redirect.status_code, redirect.headers["location"]) == (
        301, "https://127.0.0.1/readyz?x=1")
    assert (decision.status_code, decision.json()["verdict"]) == (200, "mute")
    assert (signed_in.status_code, bool(cookies),
            all("; secure" in c.lower() and "httponly" in c.lower() for c in cookies)) == (
        303, True, True)
    assert (home.status_code, _feed_url(home.text).startswith(stack.https + "/")) == (200, True)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_forwarded_headers_are_believed_only_from_the_proxy(tenant: Tenant,
                                                            stack: Stack) -> None:
    """The proxy connects from 127.0.0.1, which quietly trusts; a client reaching quietly
    directly from 127.0.0.2 cannot claim https or another client address."""
    port = stack.direct.rsplit(":", 1)[1]
    lying = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    # The cookies are Secure (the default), so a plain-HTTP client does not send them back
    # by itself: carry them by hand.
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", transport=elsewhere,
                      headers=lying, timeout=10) as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed_in = client.post(
            "/sign-in", headers={"Cookie": _cookie_header(form)},
            data={"api_key": tenant.keys[Role.ADMIN], "csrf_token": token.group(1),
                  "next": "/"})
        home = client.get("/", headers={"Cookie": _cookie_header(signed_in)})
    assert (signed_in.status_code, _feed_url(home.text).startswith(f"http://127.0.0.1:{port}/")
            ) == (303, True)
