"""``quietly import alertmanager-silences`` against Debian's real Alertmanager, and
``quietly import alertmanager-config`` against the test server, both through the CLI.

Windows made by the import are checked by what they do: ``GET /api/v1/decide`` for alerts
that match and alerts that do not. Instants are fixed years ahead or derived from now, so the
tests pass whatever the hour and date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from quietly.core.records import Role
from tests.cli.helpers import cli, ok
from tests.conftest import Tenant
from tests.integrations.amharness import BINARY, Alertmanager

needs_alertmanager = pytest.mark.skipif(
    BINARY is None, reason="prometheus-alertmanager is not installed (Debian package)")


def _wire(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _run(tenant: Tenant, *args: str) -> Result:
    return cli("import", *args, "--quietly-url", tenant.base_url,
               "--key", tenant.keys[Role.EDITOR])


def _decide(tenant: Tenant, labels: dict[str, str], at: datetime) -> str:
    params = {f"label.{k}": v for k, v in labels.items()}
    response = tenant.viewer.get("/api/v1/decide",
                                 params={"target": "service:none", "at": _wire(at), **params})
    assert response.status_code == 200, response.text
    verdict: str = response.json()["verdict"]
    return verdict


def _windows(tenant: Tenant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = tenant.viewer.get(
        "/api/v1/windows", params={"limit": 500}).json()["windows"]
    return found


# Silences ------------------------------------------------------------------------------------


@pytest.fixture
def alertmanager() -> Iterator[Alertmanager]:
    with Alertmanager() as am:
        yield am


def _silence(am: Alertmanager, matchers: list[dict[str, Any]], start: datetime,
             end: datetime, comment: str) -> str:
    response = am.client.post("/api/v2/silences", json={
        "matchers": matchers, "startsAt": _wire(start), "endsAt": _wire(end),
        "createdBy": "alice", "comment": comment})
    response.raise_for_status()
    silence_id: str = response.json()["silenceID"]
    return silence_id


def _m(name: str, value: str, *, regex: bool = False, equal: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


def _states(am: Alertmanager) -> dict[str, str]:
    return {s["id"]: s["status"]["state"] for s in am.client.get("/api/v2/silences").json()}


@needs_alertmanager
def test_silences_become_windows_with_the_same_matchers(tenant: Tenant,
                                                        alertmanager: Alertmanager) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    active = _silence(alertmanager, [_m("service", "checkout"), _m("env", "dev", equal=False),
                                     _m("severity", "warn|crit", regex=True),
                                     _m("instance", "canary-.*", regex=True, equal=False)],
                      now - timedelta(minutes=5), now + timedelta(hours=2),
                      "DB failover\nticket OPS-1")
    pending = _silence(alertmanager, [_m("team", "search")], now + timedelta(hours=3),
                       now + timedelta(hours=4), "search reindex")
    expired = _silence(alertmanager, [_m("team", "old")], now - timedelta(minutes=1),
                       now + timedelta(hours=1), "done already")
    alertmanager.client.delete(f"/api/v2/silence/{expired}").raise_for_status()

    output = ok(_run(tenant, "alertmanager-silences", "--url", alertmanager.url)).stdout

    windows = {w["name"]: w for w in _windows(tenant)}
    quiet = {"service": "checkout", "env": "prod", "severity": "crit", "instance": "web-1"}
    soon = now + timedelta(minutes=1)
    assert (sorted(windows), windows["DB failover"]["match"],
            f"skipped silence {expired}: it is expired" in output,
            [_decide(tenant, labels, soon) for labels in (
                quiet, {**quiet, "env": "dev"}, {**quiet, "severity": "info"},
                {**quiet, "instance": "canary-1"}, {**quiet, "service": "cart"})],
            _decide(tenant, {"team": "search"}, now + timedelta(hours=3, minutes=30))) == (
        ["DB failover", "search reindex"],
        [[{"label": "service", "op": "=", "value": "checkout", "values": None},
          {"label": "env", "op": "!=", "value": "dev", "values": None},
          {"label": "severity", "op": "=~", "value": "warn|crit", "values": None},
          {"label": "instance", "op": "!~", "value": "canary-.*", "values": None}]],
        True, ["mute", "deliver", "deliver", "deliver", "deliver"], "mute")
    description = windows["DB failover"]["description"]
    assert ("created by alice" in description, "ticket OPS-1" in description,
            description.endswith(f"quietly-import: alertmanager-silence:{active}")) == \
        (True, True, True)
    assert pending in windows["search reindex"]["description"]


@needs_alertmanager
def test_a_second_import_creates_nothing_and_take_over_expires_the_originals(
        tenant: Tenant, alertmanager: Alertmanager) -> None:
    now = datetime.now(UTC)
    first = _silence(alertmanager, [_m("job", "node")], now, now + timedelta(hours=1), "one")
    ok(_run(tenant, "alertmanager-silences", "--url", alertmanager.url))
    second = _silence(alertmanager, [_m("job", "db")], now, now + timedelta(hours=1), "two")

    output = ok(_run(tenant, "alertmanager-silences", "--url", alertmanager.url,
                     "--take-over")).stdout

    names = sorted(w["name"] for w in _windows(tenant))
    assert (names, "already imported as window" in output, _states(alertmanager)) == (
        ["one", "two"], True, {first: "expired", second: "expired"})
    assert _decide(tenant, {"job": "db"}, now + timedelta(minutes=30)) == "mute"


def test_an_unreachable_alertmanager_is_an_error_that_names_it(tenant: Tenant) -> None:
    result = _run(tenant, "alertmanager-silences", "--url", "http://127.0.0.1:9")
    assert (result.exit_code, "cannot reach Alertmanager at http://127.0.0.1:9" in result.stderr,
            _windows(tenant)) == (2, True, [])


# Configuration -------------------------------------------------------------------------------

CONFIG = """\
route:
  receiver: default
  routes:
    - matchers: ['team="db"', 'severity=~"warn|crit"']
      mute_time_intervals: [offhours]
    - receiver: api
      match_re: {service: "api-.*"}
      active_time_intervals: [business]
    - receiver: two
      match: {team: search}
      active_time_intervals: [business, offhours]
receivers: [{name: default}, {name: api}, {name: two}]
time_intervals:
  - name: offhours
    time_intervals:
      - times:
          - start_time: 17:00
            end_time: '24:00'
        weekdays: ['monday:friday']
        location: Europe/Berlin
      - weekdays: [saturday, sunday]
        location: Europe/Berlin
  - name: business
    time_intervals:
      - times: [{start_time: '09:00', end_time: '17:00'}]
        weekdays: ['monday:friday']
  - name: unused
    time_intervals: [{months: ['1:3']}]
"""
# 2030-01-09 is a Wednesday; Berlin is UTC+1 in January.
WEDNESDAY_NOON = datetime(2030, 1, 9, 12, tzinfo=UTC)
WEDNESDAY_EVENING = datetime(2030, 1, 9, 16, 30, tzinfo=UTC)  # 17:30 in Berlin
WEDNESDAY_NIGHT = datetime(2030, 1, 9, 18, tzinfo=UTC)  # business hours are UTC
SATURDAY = datetime(2030, 1, 12, 10, tzinfo=UTC)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(CONFIG)
    return path


def test_time_intervals_become_windows_muting_the_routes_alerts(tenant: Tenant,
                                                                config_file: Path) -> None:
    output = ok(_run(tenant, "alertmanager-config", str(config_file))).stdout

    db = {"team": "db", "severity": "warn"}
    api = {"service": "api-gateway"}
    assert ([_decide(tenant, db, at) for at in (WEDNESDAY_NOON, WEDNESDAY_EVENING, SATURDAY)],
            [_decide(tenant, {**db, "severity": "info"}, at) for at in (WEDNESDAY_EVENING,)],
            [_decide(tenant, api, at) for at in (WEDNESDAY_NOON, WEDNESDAY_NIGHT, SATURDAY)],
            sorted(w["name"] for w in _windows(tenant))) == (
        ["deliver", "mute", "mute"], ["deliver"], ["deliver", "mute", "mute"],
        ["offhours (1/2)", "offhours (2/2)", "outside business (1/3)",
         "outside business (2/3)", "outside business (3/3)"])
    assert [line for line in output.splitlines() if not line.startswith("created window")] == [
        "not translated: route.routes[2] active_time_intervals ['business', 'offhours']: the "
        "route is muted outside 3 intervals, i.e. in the intersection of their complements, "
        "which a set of windows (a union) cannot express in general",
        "skipped unused: no route mutes with it or is active only in it: a window would have "
        "nothing to mute"]


def test_a_second_config_import_creates_nothing(tenant: Tenant, config_file: Path) -> None:
    ok(_run(tenant, "alertmanager-config", str(config_file)))
    output = ok(_run(tenant, "alertmanager-config", str(config_file))).stdout
    assert (len(_windows(tenant)), output.count("already imported as window"),
            "created window" in output) == (5, 5, False)


def test_the_window_schedules_say_what_alertmanager_said(tenant: Tenant,
                                                         config_file: Path) -> None:
    ok(_run(tenant, "alertmanager-config", str(config_file)))
    schedules = {w["name"]: {k: w["schedule"][k] for k in
                             ("rrule", "start_time", "end_time", "timezone")}
                 for w in _windows(tenant)}
    assert schedules["offhours (1/2)"] == {"rrule": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
                                           "start_time": "17:00", "end_time": "00:00",
                                           "timezone": "Europe/Berlin"}


BAD = [
    ("time_intervals:\n  - name: x\n    time_intervals:\n      - days_of_month: ['1', '0']\n",
     "alertmanager.yml:4: time_intervals[0].time_intervals[0].days_of_month[1]: "
     "0 is not a valid day of the month: out of range"),
    ("time_intervals:\n  - name: x\n    time_intervals:\n      - times:\n"
     "        - {start_time: '10:00', end_time: '09:00'}\n",
     "alertmanager.yml:5: time_intervals[0].time_intervals[0].times[0]: "
     "start time cannot be equal or greater than end time"),
    ("route:\n  routes:\n    - matchers:\n        - 'a=\"b\"'\n        - 'foo'\n",
     "alertmanager.yml:5: route.routes[0].matchers[1]: bad matcher format: foo"),
    ("route:\n  routes:\n    - mute_time_intervals: [nope]\n",
     "alertmanager.yml:3: route.routes[0].mute_time_intervals[0]: "
     "undefined time interval 'nope'"),
    ("route: [\n", "alertmanager.yml:2: not valid YAML: expected the node content, but found "
     "'<stream end>'"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(": ")[-1] for _, m in BAD])
def test_configuration_errors_name_file_line_and_field(tenant: Tenant, tmp_path: Path,
                                                       text: str, message: str) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    result = _run(tenant, "alertmanager-config", str(path))
    assert (result.exit_code, result.stderr.strip()) == (2, f"error: {tmp_path}/{message}")


def test_an_export_file_still_imports_with_quietly_import_file(tenant: Tenant,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{"windows": [{"name": "kept", "schedule": {"kind": "recurring", '
                    '"timezone": "UTC", "rrule": "FREQ=WEEKLY;BYDAY=SU", "start_time": '
                    '"02:00", "end_time": "03:00", "starts_on": "2031-01-05"}, '
                    '"targets": ["service:a"]}]}')
    result = cli("import", str(path), "--url", tenant.base_url,
                 "--key", tenant.keys[Role.EDITOR])
    assert (ok(result).stdout.startswith("created "), [w["name"] for w in _windows(tenant)]) \
        == (True, ["kept"])


@needs_alertmanager
def test_a_silence_quietly_cannot_take_is_reported_and_left_running(
        tenant: Tenant, alertmanager: Alertmanager) -> None:
    # Alertmanager takes a matcher value of any length; quietly's native API at most 1,000
    # characters. (Regexes no longer differ: both are RE2, see the test below.)
    now = datetime.now(UTC)
    kept = _silence(alertmanager, [_m("host", "h" * 1500)], now,
                    now + timedelta(hours=1), "a very long host name")
    result = _run(tenant, "alertmanager-silences", "--url", alertmanager.url, "--take-over")
    assert (result.exit_code, f"error: silence {kept}: " in result.stderr, _windows(tenant),
            _states(alertmanager)) == (1, True, [], {kept: "active"})


@needs_alertmanager
def test_a_silence_with_re2_syntax_is_taken_as_it_is(tenant: Tenant,
                                                     alertmanager: Alertmanager) -> None:
    r"""``\pL`` (any letter) is RE2: Alertmanager's dialect and quietly's alike."""
    now = datetime.now(UTC)
    _silence(alertmanager, [_m("host", "\\pL+", regex=True)], now, now + timedelta(hours=1),
             "letters only")
    result = _run(tenant, "alertmanager-silences", "--url", alertmanager.url)
    assert (result.exit_code, [w["match"] for w in _windows(tenant)]) == (
        0, [[[{"label": "host", "op": "=~", "value": "\\pL+", "values": None}]]])
