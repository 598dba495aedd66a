"""Run Debian's real Icinga 2 (``icinga2``, 2.13) for tests, without systemd: one node, or
a two-node HA zone.

``Icinga`` lays out a throw-away configuration and state folder (``etc lib/certs log cache
spool run``: a missing one aborts start-up), makes a self-signed certificate named after the
node with ``subjectAltName`` 127.0.0.1 (so a client can verify it with ``ca_file``), and
starts the daemon with its API on a free 127.0.0.1 port, an API user with every permission,
and the hosts and services asked for (``dummy`` checks, active checks off). It is ready in
about 0.2 s; ``restart`` keeps its state (downtimes survive a restart), ``stop`` is by PID.

``IcingaPair`` is a real HA zone: one CA made with openssl signs both nodes' certificates
(CN = node name, ``subjectAltName`` 127.0.0.1), one ``Zone`` holds both ``Endpoint``s, each
node connects to the other, and the hosts are defined only on the first node (the config
master, in ``zones.d/<zone>/``) and reach the second by Icinga's own config sync. Downtimes
made through either node's API are replicated to the other (and replayed to a node that was
down when it comes back). Ready in a few seconds.
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

__all__ = ["BINARY", "CA", "Icinga", "IcingaPair"]

BINARY = shutil.which("icinga2")
NODE = "quietly-test"
USER, PASSWORD = "quietly", "s3cret-for-tests"


def _objects(hosts: Mapping[str, Sequence[str]]) -> list[str]:
    lines = []
    for host, services in hosts.items():
        lines.append(f'object Host "{host}" {{ check_command = "dummy"; '
                     "enable_active_checks = false }")
        lines += [f'object Service "{service}" {{ host_name = "{host}"; '
                  'check_command = "dummy"; enable_active_checks = false }'
                  for service in services]
    return lines


def _config(node: str, zone: Zone | None) -> str:
    """The node's own configuration; a zone's members accept config and commands from
    each other."""
    if zone is None:
        head = [f'const ZoneName = "{node}"', "object Endpoint NodeName { }",
                "object Zone ZoneName { endpoints = [ NodeName ] }"]
    else:
        head = [f'const ZoneName = "{zone.name}"']
        head += [f'object Endpoint "{name}" {{ host = "127.0.0.1"; port = {port} }}'
                 for name, port in zone.endpoints]
        members = ", ".join(f'"{name}"' for name, _ in zone.endpoints)
        head.append(f'object Zone "{zone.name}" {{ endpoints = [ {members} ] }}')
    accept = "true" if zone is not None else "false"
    lines = [
        "include <itl>",
        f'const NodeName = "{node}"',
        *head,
        'object IcingaApplication "app" { enable_notifications = false; '
        "enable_event_handlers = false; enable_flapping = false; enable_perfdata = false }",
        'object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = ApiPort; '
        f"accept_config = {accept}; accept_commands = {accept} }}",
        f'object ApiUser "{USER}" {{ password = "{PASSWORD}"; permissions = [ "*" ] }}',
    ]
    return "\n".join(lines) + "\n"


class Zone:
    """An HA zone: its name and its endpoints (node name, API port)."""

    def __init__(self, name: str, endpoints: Sequence[tuple[str, int]]) -> None:
        self.name, self.endpoints = name, list(endpoints)


class CA:
    """A certificate authority made with openssl that signs node certificates."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="quietly-icinga-ca-"))
        self.cert, self.key = self.dir / "ca.crt", self.dir / "ca.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(self.key), "-out", str(self.cert), "-subj", "/CN=quietly-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            check=True, capture_output=True)

    def sign(self, node: str, certs: Path) -> None:
        """``certs/<node>.key`` and ``.crt`` signed by this CA, and ``certs/ca.crt``."""
        csr, ext = certs / f"{node}.csr", certs / f"{node}.ext"
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(certs / f"{node}.key"), "-out", str(csr), "-subj", f"/CN={node}"],
                       check=True, capture_output=True)
        ext.write_text(f"subjectAltName=IP:127.0.0.1,DNS:{node}\n")
        subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.cert),
                        "-CAkey", str(self.key), "-CAcreateserial", "-days", "2", "-out",
                        str(certs / f"{node}.crt"), "-extfile", str(ext)],
                       check=True, capture_output=True)
        shutil.copy(self.cert, certs / "ca.crt")

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Icinga:
    """The real daemon with ``hosts`` (host name → service names); a context manager."""

    def __init__(self, hosts: Mapping[str, Sequence[str]], *, node: str = NODE,
                 zone: Zone | None = None, ca: CA | None = None,
                 port: int | None = None) -> None:
        if BINARY is None:
            raise RuntimeError("icinga2 is not installed")
        self.node = node
        self.port = port or free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="quietly-icinga-"))
        for sub in ("etc/zones.d", "lib/certs", "log", "cache", "spool", "run"):
            (self.dir / sub).mkdir(parents=True)
        lines = _objects(hosts)
        (self.dir / "etc" / "icinga2.conf").write_text(
            _config(node, zone) + ("" if zone else "\n".join(lines) + "\n"))
        if zone is not None and lines:  # the config master's zone objects, synced
            (self.dir / "etc" / "zones.d" / zone.name).mkdir()
            (self.dir / "etc" / "zones.d" / zone.name / "hosts.conf").write_text(
                "\n".join(lines) + "\n")
        if ca is None:
            self.ca_file = self._certificate()
        else:
            ca.sign(node, self.dir / "lib" / "certs")
            self.ca_file = self.dir / "lib" / "certs" / "ca.crt"
        self.cert_file = self.dir / "lib" / "certs" / f"{node}.crt"
        self.key_file = self.dir / "lib" / "certs" / f"{node}.key"
        self.username, self.password = USER, PASSWORD
        self._proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url,
                                   verify=ssl.create_default_context(cafile=self.ca_file),
                                   auth=(USER, PASSWORD), timeout=10,
                                   headers={"Accept": "application/json"})

    def _certificate(self) -> Path:
        certs, node = self.dir / "lib" / "certs", self.node
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(certs / f"{node}.key"), "-out", str(certs / f"{node}.crt"),
             "-subj", f"/CN={node}", "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{node}"],
            check=True, capture_output=True)
        shutil.copy(certs / f"{node}.crt", certs / "ca.crt")
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
        defines = {"ConfigDir": d / "etc", "ZonesDir": d / "etc" / "zones.d",
                   "DataDir": d / "lib", "LogDir": d / "log",
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
        if self._proc is None:
            return
        if self._proc.poll() is None:
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


class IcingaPair:
    """Two Icinga 2 nodes forming one HA zone (see the module docstring); a context
    manager. ``first`` is the config master; both share ``ca_file``."""

    ZONE = "quietly-ha"

    def __init__(self, hosts: Mapping[str, Sequence[str]]) -> None:
        self.hosts = dict(hosts)
        self.ca = CA()
        ports = [free_port(), free_port()]
        zone = Zone(self.ZONE, [("quietly-node-1", ports[0]), ("quietly-node-2", ports[1])])
        self.first = Icinga(hosts, node="quietly-node-1", zone=zone, ca=self.ca,
                            port=ports[0])
        self.second = Icinga({}, node="quietly-node-2", zone=zone, ca=self.ca,
                             port=ports[1])
        self.ca_file = self.ca.cert
        self.username, self.password = USER, PASSWORD

    def __enter__(self) -> IcingaPair:
        self.first.start()
        self.second.start()
        self.wait_connected()
        return self

    def __exit__(self, *exc: object) -> None:
        for node in (self.first, self.second):
            node.__exit__()
        self.ca.close()

    def wait_connected(self, timeout: float = 60) -> None:
        """Until each node is connected to the other and the second holds every host
        (config sync: it reloads once it has received the master's zone config)."""
        deadline = time.monotonic() + timeout
        while not self._connected():
            if time.monotonic() > deadline:
                raise RuntimeError("the HA zone did not form: " + self.second.log())
            time.sleep(0.2)

    def _connected(self) -> bool:
        try:
            for node in (self.first, self.second):
                status = node.client.get("/v1/status/ApiListener").json()
                if status["results"][0]["status"]["api"]["num_conn_endpoints"] < 1:
                    return False
            found = self.second.client.get("/v1/objects/hosts", params={"attrs": "name"})
            return found.status_code == 200 and len(found.json()["results"]) == len(self.hosts)
        except (httpx.HTTPError, KeyError, IndexError, ValueError):
            return False
