"""Run Debian's real Icinga 2 (``icinga2``, 2.13) for tests, without systemd.

``Icinga`` lays out a throw-away configuration and state folder (``etc lib/certs log cache
spool run``: a missing one aborts start-up), makes a self-signed certificate named after the
node with ``subjectAltName`` 127.0.0.1 (so a client can verify it with ``ca_file``), and
starts the daemon with its API on a free 127.0.0.1 port, an API user with every permission,
and the hosts and services asked for (``dummy`` checks, active checks off). It is ready in
about 0.2 s; ``restart`` keeps its state (downtimes survive a restart), ``stop`` is by PID.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.integrations.amharness import free_port

__all__ = ["BINARY", "Icinga"]

BINARY = shutil.which("icinga2")
NODE = "quietly-test"
USER, PASSWORD = "quietly", "s3cret-for-tests"


def _config(hosts: Mapping[str, Sequence[str]]) -> str:
    lines = [
        "include <itl>",
        f'const NodeName = "{NODE}"',
        f'const ZoneName = "{NODE}"',
        "object Endpoint NodeName { }",
        "object Zone ZoneName { endpoints = [ NodeName ] }",
        'object IcingaApplication "app" { enable_notifications = false; '
        "enable_event_handlers = false; enable_flapping = false; enable_perfdata = false }",
        'object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = ApiPort; '
        "accept_config = false; accept_commands = false }",
        f'object ApiUser "{USER}" {{ password = "{PASSWORD}"; permissions = [ "*" ] }}',
    ]
    for host, services in hosts.items():
        lines.append(f'object Host "{host}" {{ check_command = "dummy"; '
                     "enable_active_checks = false }")
        lines += [f'object Service "{service}" {{ host_name = "{host}"; '
                  'check_command = "dummy"; enable_active_checks = false }'
                  for service in services]
    return "\n".join(lines) + "\n"


class Icinga:
    """The real daemon with ``hosts`` (host name → service names); a context manager."""

    def __init__(self, hosts: Mapping[str, Sequence[str]]) -> None:
        if BINARY is None:
            raise RuntimeError("icinga2 is not installed")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="quietly-icinga-"))
        for sub in ("etc", "lib/certs", "log", "cache", "spool", "run"):
            (self.dir / sub).mkdir(parents=True)
        (self.dir / "etc" / "icinga2.conf").write_text(_config(hosts))
        self.ca_file = self._certificate()
        self.username, self.password = USER, PASSWORD
        self._proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url,
                                   verify=ssl.create_default_context(cafile=self.ca_file),
                                   auth=(USER, PASSWORD), timeout=10,
                                   headers={"Accept": "application/json"})

    def _certificate(self) -> Path:
        certs = self.dir / "lib" / "certs"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(certs / f"{NODE}.key"), "-out", str(certs / f"{NODE}.crt"),
             "-subj", f"/CN={NODE}", "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{NODE}"],
            check=True, capture_output=True)
        shutil.copy(certs / f"{NODE}.crt", certs / "ca.crt")
        return certs / "ca.crt"

    def __enter__(self) -> Icinga:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.client.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self) -> None:
        assert BINARY is not None
        d = self.dir
        defines = {"ConfigDir": d / "etc", "DataDir": d / "lib", "LogDir": d / "log",
                   "CacheDir": d / "cache", "SpoolDir": d / "spool", "InitRunDir": d / "run",
                   "RunAsUser": "root", "RunAsGroup": "root", "ApiPort": self.port}
        self._log = (d / "daemon.log").open("ab")
        self._proc = subprocess.Popen(
            [BINARY, "daemon", "-c", str(d / "etc" / "icinga2.conf"),
             *(f"-D{key}={value}" for key, value in defines.items())],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"icinga2 exited: {self.log()}")
            try:
                if self.client.get("/v1/status/IcingaApplication").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"icinga2 did not start: {self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        self._log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return (self.dir / "daemon.log").read_text(errors="replace")[-3000:]

    # -- what the tests look at ---------------------------------------------------------

    def downtimes(self) -> list[dict[str, Any]]:
        """Every downtime (its attributes plus ``name``)."""
        response = self.client.get("/v1/objects/downtimes")
        response.raise_for_status()
        return [{**item["attrs"], "name": item["name"]} for item in response.json()["results"]]

    def depth(self, host: str, service: str | None = None) -> int:
        """``downtime_depth`` of a host or a service: > 0 while it is in downtime."""
        path = (f"/v1/objects/services/{host}!{service}" if service
                else f"/v1/objects/hosts/{host}")
        response = self.client.get(path, params={"attrs": "downtime_depth"})
        response.raise_for_status()
        return int(response.json()["results"][0]["attrs"]["downtime_depth"])

    def schedule(self, host: str, start: float, end: float, *, author: str = "someone",
                 comment: str = "their own maintenance") -> str:
        """A downtime made by someone else (for the "never touched" tests)."""
        response = self.client.post("/v1/actions/schedule-downtime", json={
            "type": "Host", "filter": f'host.name=="{host}"', "start_time": start,
            "end_time": end, "fixed": True, "author": author, "comment": comment})
        response.raise_for_status()
        name: str = response.json()["results"][0]["name"]
        return name
