"""Uptrends' maintenance-period API, from the examples of its document (dates moved ahead).

Every request goes over HTTP to the real server with HTTP Basic credentials whose password is
an API key of the tenant (a workspace in Europe/Berlin).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from tests.conftest import Tenant

from quietly.core.records import Role

BASE = "/compat/uptrends/v4"

DAILY = {"ScheduleMode": "Daily", "StartTime": "22:00", "EndTime": "22:30",
         "MaintenanceType": "DisableNotifications"}
WEEKLY = {"ScheduleMode": "Weekly", "WeekDay": "Thursday", "StartTime": "22:00",
          "EndTime": "22:30", "MaintenanceType": "DisableNotifications"}
MONTHLY = {"ScheduleMode": "Monthly", "MonthDay": 24, "StartTime": "22:00", "EndTime": "22:30",
           "MaintenanceType": "DisableNotifications"}
# The document's one-time example, as written but in 2038 (its end equals its start).
ONE_TIME = {"ScheduleMode": "OneTime", "StartDateTime": "2038-09-24T22:00",
            "EndDateTime": "2038-09-24T22:00", "MaintenanceType": "DisableMonitoring"}


_OPEN: list[httpx.Client] = []


def basic(tenant: Tenant, role: Role = Role.EDITOR, user: str = "api-account") -> httpx.Client:
    """A client with Uptrends-style credentials; closed when the test ends."""
    client = httpx.Client(base_url=tenant.base_url, timeout=30,
                          auth=httpx.BasicAuth(user, tenant.keys[role]))
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def up(tenant: Tenant) -> httpx.Client:
    return basic(tenant)


def monitor() -> str:
    return str(uuid.uuid4())


def create(client: httpx.Client, guid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{BASE}/Monitor/{guid}/MaintenancePeriod", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def decide(tenant: Tenant, guid: str, at: str) -> dict[str, Any]:
    response = tenant.viewer.get("/api/v1/decide",
                                 params={"target": f"monitor:{guid}", "at": at})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def assert_messages(response: httpx.Response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["Messages"]
    text = " ".join(m["Message"] for m in body["Messages"])
    for needle in needles:
        assert needle in text


class TestDocumentExamples:
    @pytest.mark.parametrize("example", [DAILY, WEEKLY, MONTHLY, ONE_TIME],
                             ids=["daily", "weekly", "monthly", "one-time"])
    def test_post_answers_the_documented_shape(self, up: httpx.Client,
                                               example: dict[str, Any]) -> None:
        created = create(up, monitor(), example)
        assert isinstance(created.pop("Id"), int)
        assert created == example

    def test_get_lists_every_period_of_the_monitor(self, up: httpx.Client) -> None:
        guid = monitor()
        monthly, weekly = create(up, guid, MONTHLY), create(up, guid, WEEKLY)
        create(up, monitor(), DAILY)  # another monitor's
        listed = up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod")
        assert listed.status_code == 200
        assert listed.json() == [monthly, weekly]
        assert monthly == {"Id": monthly["Id"], **MONTHLY}

    def test_put_the_documented_monthly_body(self, up: httpx.Client) -> None:
        guid = monitor()
        # A daily period that is not running now (a running one's schedule is fixed: the
        # document's 22:00-22:30 made this fail in that half hour of a Berlin evening).
        later = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(hours=2)).hour
        period = create(up, guid, {**DAILY, "StartTime": f"{later:02d}:00",
                                   "EndTime": f"{later:02d}:30"})
        body = {"Id": period["Id"], **MONTHLY}
        response = up.put(f"{BASE}/Monitor/{guid}/MaintenancePeriod/{period['Id']}", json=body)
        assert response.status_code == 204, response.text
        assert up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == [body]

    def test_monitor_group_example_reaches_every_member(self, tenant: Tenant,
                                                        up: httpx.Client) -> None:
        group, first, second = monitor(), monitor(), monitor()
        created = tenant.editor.post("/api/v1/groups", json={
            "name": group, "targets": [f"monitor:{first}", f"monitor:{second}", "service:x"]})
        assert created.status_code == 201, created.text
        response = up.post(f"{BASE}/MonitorGroup/{group}/MaintenancePeriod", json=WEEKLY)
        assert response.status_code == 204, response.text
        ids = set()
        for guid in (first, second):
            (period,) = up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json()
            ids.add(period.pop("Id"))
            assert period == WEEKLY
        assert len(ids) == 2  # each monitor has its own copy

    def test_a_period_refused_for_a_group_answers_as_for_one_monitor_and_adds_none(
            self, tenant: Tenant, up: httpx.Client) -> None:
        """The copies are created together (one bulk create): a refusal is the one a single
        monitor's create gives, and no member keeps a copy."""
        group, first, second = monitor(), monitor(), monitor()
        created = tenant.editor.post("/api/v1/groups", json={
            "name": group, "targets": [f"monitor:{first}", f"monitor:{second}"]})
        assert created.status_code == 201, created.text
        ended = {**ONE_TIME, "StartDateTime": "2020-01-01T10:00",
                 "EndDateTime": "2020-01-01T11:00"}
        to_group = up.post(f"{BASE}/MonitorGroup/{group}/MaintenancePeriod", json=ended)
        to_one = up.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod", json=ended)
        assert_messages(to_group, 400, "passed")
        assert (to_group.json(), [up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json()
                                  for guid in (first, second)]) == (to_one.json(), [[], []])


class TestRules:
    def test_id_is_refused_on_post(self, up: httpx.Client) -> None:
        response = up.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod",
                           json={"Id": 123, **DAILY})
        assert_messages(response, 400, "Id", "should not be supplied")

    def test_id_zero_or_null_counts_as_absent(self, up: httpx.Client) -> None:
        for value in (0, None):
            created = create(up, monitor(), {"Id": value, **DAILY})
            assert created["Id"] > 0

    def test_put_with_a_different_id_is_an_error(self, up: httpx.Client) -> None:
        guid = monitor()
        period = create(up, guid, DAILY)
        path = f"{BASE}/Monitor/{guid}/MaintenancePeriod/{period['Id']}"
        assert_messages(up.put(path, json={"Id": period["Id"] + 1, **WEEKLY}), 400,
                        "does not match")
        assert_messages(up.put(path, json=WEEKLY), 400, "Id: is required on PUT")
        assert up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == [period]

    def test_put_and_delete_need_the_period_of_that_monitor(self, up: httpx.Client) -> None:
        period = create(up, monitor(), DAILY)
        other = f"{BASE}/Monitor/{monitor()}/MaintenancePeriod/{period['Id']}"
        assert_messages(up.put(other, json={"Id": period["Id"], **DAILY}), 404, "not found")
        assert_messages(up.delete(other), 404, "not found")

    def test_delete(self, up: httpx.Client) -> None:
        guid = monitor()
        period = create(up, guid, DAILY)
        path = f"{BASE}/Monitor/{guid}/MaintenancePeriod/{period['Id']}"
        assert up.delete(path).status_code == 204
        assert up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == []
        assert_messages(up.delete(path), 404)

    def test_cleanup_removes_only_one_time_periods_before_the_date(
            self, up: httpx.Client) -> None:
        guid = monitor()
        early = create(up, guid, {**ONE_TIME, "StartDateTime": "2038-01-10T10:00",
                                  "EndDateTime": "2038-01-10T12:00"})
        late = create(up, guid, {**ONE_TIME, "StartDateTime": "2038-03-10T10:00",
                                 "EndDateTime": "2038-03-10T12:00"})
        daily = create(up, guid, DAILY)
        response = up.post(f"{BASE}/Monitor/{guid}/MaintenancePeriod/Cleanup/2038-02-01")
        assert response.status_code == 204, response.text
        listed = up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json()
        assert listed == [late, daily]
        assert early not in listed

    def test_cleanup_date_is_midnight_in_the_account_zone(self, up: httpx.Client) -> None:
        guid = monitor()
        # 00:30 Berlin on 2038-02-01 is 23:30Z on 2038-01-31: not before 2038-02-01 locally.
        kept = create(up, guid, {**ONE_TIME, "StartDateTime": "2038-02-01T00:30",
                                 "EndDateTime": "2038-02-01T01:00"})
        up.post(f"{BASE}/Monitor/{guid}/MaintenancePeriod/Cleanup/2038-02-01")
        assert up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == [kept]

    def test_cleanup_refuses_a_bad_date(self, up: httpx.Client) -> None:
        for bad in ("yesterday", "0001-01-01", "2038-02-30"):
            response = up.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod/Cleanup/{bad}")
            assert_messages(response, 400, "beforeDate")

    def test_unknown_monitor_group_is_404(self, up: httpx.Client) -> None:
        response = up.post(f"{BASE}/MonitorGroup/{monitor()}/MaintenancePeriod", json=WEEKLY)
        assert_messages(response, 404)

    @pytest.mark.parametrize(("body", "needle"), [
        ({**WEEKLY, "WeekDay": None}, "WeekDay"),
        ({**MONTHLY, "MonthDay": None}, "MonthDay"),
        ({**MONTHLY, "MonthDay": 32}, "MonthDay"),
        ({**MONTHLY, "MonthDay": 0}, "MonthDay"),
        ({**DAILY, "EndTime": "22:00"}, "EndTime"),
        ({**DAILY, "StartTime": "25:00"}, "StartTime"),
        ({**DAILY, "StartTime": None}, "StartTime"),
        ({**ONE_TIME, "EndDateTime": "2038-09-24T21:00"}, "EndDateTime"),
        ({**ONE_TIME, "StartDateTime": "soon"}, "StartDateTime"),
        ({**ONE_TIME, "StartDateTime": "2020-01-01T10:00", "EndDateTime": "2020-01-01T11:00"},
         "passed"),
        ({**ONE_TIME, "StartDateTime": "0001-01-01T00:00"}, "StartDateTime"),
        ({**ONE_TIME, "StartDateTime": "9999-12-31T23:00", "EndDateTime": "9999-12-31T23:59"},
         "between 1970 and 2999"),
        ({**DAILY, "ScheduleMode": "Yearly"}, "ScheduleMode"),
        ({**DAILY, "MaintenanceType": "Nothing"}, "MaintenanceType"),
        ({"ScheduleMode": "Daily"}, "MaintenanceType"),
    ])
    def test_bad_periods_are_400_with_messages(self, up: httpx.Client, body: dict[str, Any],
                                               needle: str) -> None:
        response = up.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod", json=body)
        assert_messages(response, 400, needle)

    def test_enum_values_ignore_case(self, up: httpx.Client) -> None:
        created = create(up, monitor(), {**WEEKLY, "ScheduleMode": "weekly",
                                         "WeekDay": "THURSDAY",
                                         "MaintenanceType": "disablenotifications"})
        assert {k: v for k, v in created.items() if k != "Id"} == WEEKLY

    def test_guid_case_does_not_matter(self, up: httpx.Client) -> None:
        guid = monitor()
        period = create(up, guid.upper(), DAILY)
        assert up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == [period]


class TestAuth:
    def test_missing_credentials_are_401_with_a_basic_challenge(self, tenant: Tenant) -> None:
        response = httpx.get(f"{tenant.base_url}{BASE}/Monitor/{monitor()}/MaintenancePeriod")
        assert_messages(response, 401)
        assert response.headers["www-authenticate"].startswith("Basic")

    def test_bearer_is_not_uptrends_auth(self, tenant: Tenant) -> None:
        response = tenant.editor.get(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod")
        assert_messages(response, 401)

    def test_wrong_password_is_401(self, tenant: Tenant) -> None:
        with httpx.Client(base_url=tenant.base_url, auth=httpx.BasicAuth("u", "nope")) as client:
            assert_messages(client.get(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod"), 401)

    def test_user_name_is_not_checked(self, tenant: Tenant) -> None:
        client = basic(tenant, Role.VIEWER, user="")
        assert client.get(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod").status_code == 200

    def test_viewer_reads_but_does_not_write(self, tenant: Tenant) -> None:
        viewer = basic(tenant, Role.VIEWER)
        response = viewer.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod", json=DAILY)
        assert_messages(response, 403)

    def test_other_workspace_sees_nothing(self, tenant: Tenant, other_tenant: Tenant) -> None:
        guid = monitor()
        period = create(basic(tenant), guid, DAILY)
        other = basic(other_tenant)
        assert other.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json() == []
        path = f"{BASE}/Monitor/{guid}/MaintenancePeriod/{period['Id']}"
        assert_messages(other.delete(path), 404)


class TestDecisions:
    def test_disable_notifications_mutes_and_disable_monitoring_drops(
            self, tenant: Tenant, up: httpx.Client) -> None:
        muted, dropped = monitor(), monitor()
        period = create(up, muted, {**ONE_TIME, "MaintenanceType": "DisableNotifications",
                                    "StartDateTime": "2038-07-01T10:00",
                                    "EndDateTime": "2038-07-01T11:00"})
        create(up, dropped, {**ONE_TIME, "StartDateTime": "2038-07-01T10:00",
                             "EndDateTime": "2038-07-01T11:00"})
        # 10:00 in Berlin in July is 08:00Z: the naive times are the account's zone.
        assert decide(tenant, muted, "2038-07-01T08:30:00Z") == {
            "verdict": "mute", "windows": [period["Id"]], "at": "2038-07-01T08:30:00Z",
            "stale": False}
        assert decide(tenant, dropped, "2038-07-01T08:30:00Z")["verdict"] == "drop"
        assert decide(tenant, muted, "2038-07-01T09:00:00Z")["verdict"] == "deliver"

    def test_one_time_example_with_equal_times_lasts_one_minute(
            self, tenant: Tenant, up: httpx.Client) -> None:
        guid = monitor()
        create(up, guid, ONE_TIME)
        assert decide(tenant, guid, "2038-09-24T20:00:30Z")["verdict"] == "drop"
        assert decide(tenant, guid, "2038-09-24T20:01:00Z")["verdict"] == "deliver"

    def test_recurring_modes_govern_decisions(self, tenant: Tenant, up: httpx.Client) -> None:
        weekly, monthly = monitor(), monitor()
        create(up, weekly, WEEKLY)
        create(up, monthly, {**MONTHLY, "MonthDay": 31})
        # 2038-03-04 is a Thursday; 22:10 CET is 21:10Z.
        assert decide(tenant, weekly, "2038-03-04T21:10:00Z")["verdict"] == "mute"
        assert decide(tenant, weekly, "2038-03-05T21:10:00Z")["verdict"] == "deliver"
        # MonthDay 31 runs on the last day of shorter months.
        assert decide(tenant, monthly, "2038-02-28T21:10:00Z")["verdict"] == "mute"
        assert decide(tenant, monthly, "2038-04-30T20:10:00Z")["verdict"] == "mute"
        assert decide(tenant, monthly, "2038-03-31T20:10:00Z")["verdict"] == "mute"
        assert decide(tenant, monthly, "2038-03-30T20:10:00Z")["verdict"] == "deliver"

    def test_overnight_daily_period(self, tenant: Tenant, up: httpx.Client) -> None:
        guid = monitor()
        create(up, guid, {**DAILY, "StartTime": "23:00", "EndTime": "01:00"})
        assert decide(tenant, guid, "2038-01-05T23:30:00Z")["verdict"] == "mute"  # 00:30 CET
        assert decide(tenant, guid, "2038-01-06T00:30:00Z")["verdict"] == "deliver"


def test_periods_survive_a_change_of_the_account_zone(tenant: Tenant, up: httpx.Client) -> None:
    guid = monitor()
    daily = create(up, guid, DAILY)
    once = create(up, guid, {**ONE_TIME, "StartDateTime": "2038-07-01T10:00",
                             "EndDateTime": "2038-07-01T11:00"})
    changed = tenant.admin.patch("/api/v1/workspace", json={"timezone": "UTC"})
    assert changed.status_code == 200, changed.text
    listed = up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json()
    # The daily period keeps its Berlin wall-clock times; the one-time one is shown in UTC.
    assert listed == [daily, {**once, "StartDateTime": "2038-07-01T08:00",
                              "EndDateTime": "2038-07-01T09:00"}]


class TestVendorFieldNames:
    """Errors name Uptrends' fields, never quietly's internal paths (issue 16, point 11)."""

    @pytest.mark.parametrize(("body", "needle"), [
        ({**ONE_TIME, "StartDateTime": "2020-01-01T10:00", "EndDateTime": "2020-01-01T11:00"},
         "EndDateTime: "),
    ])
    def test_a_period_in_the_past_names_end_date_time(self, up: httpx.Client,
                                                      body: dict[str, Any],
                                                      needle: str) -> None:
        response = up.post(f"{BASE}/Monitor/{monitor()}/MaintenancePeriod", json=body)
        text = " ".join(m["Message"] for m in response.json()["Messages"])
        assert (response.status_code, text.startswith(needle), "schedule." in text) == (
            400, True, False), text

    def test_a_put_without_id_says_so_plainly(self, up: httpx.Client) -> None:
        guid = monitor()
        created = create(up, guid, DAILY)
        response = up.put(f"{BASE}/Monitor/{guid}/MaintenancePeriod/{created['Id']}",
                          json=DAILY)
        assert response.json()["Messages"] == [{"Message": (
            f"Id: is required on PUT and must equal the maintenancePeriodId in the path "
            f"({created['Id']})")}]


class TestNativeWindows:
    def test_a_native_rrule_window_is_listed_in_its_plain_form(self, tenant: Tenant,
                                                               up: httpx.Client) -> None:
        """A native RRULE window on an Uptrends monitor was missing from its list (issue 16)."""
        guid = monitor()
        window = tenant.editor.post("/api/v1/windows", json={
            "name": "patching", "targets": [f"monitor:{guid}"], "schedule": {
                "kind": "recurring", "timezone": "Europe/Berlin", "rrule": "FREQ=WEEKLY;BYDAY=TH",
                "start_time": "22:00", "end_time": "22:30", "starts_on": "2038-01-01"}}).json()
        listed = up.get(f"{BASE}/Monitor/{guid}/MaintenancePeriod").json()
        assert listed == [{"Id": window["id"], **WEEKLY}]

    def test_monitor_ids_that_are_not_guids_name_no_uptrends_monitor(
            self, tenant: Tenant, up: httpx.Client) -> None:
        """Oh Dear's monitor 1 is ``monitor:1``; Uptrends' ``Monitor/1`` used to list its
        periods (issue 16). Uptrends monitors are GUIDs: anything else is not found."""
        ok = tenant.editor.post("/compat/ohdear/api/monitors/1/start-maintenance")
        response = up.get(f"{BASE}/Monitor/1/MaintenancePeriod")
        assert (ok.status_code, response.status_code, list(response.json())) == (
            201, 404, ["Messages"])
