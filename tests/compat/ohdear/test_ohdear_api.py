"""Oh Dear's maintenance API over HTTP, from its document's examples (dates moved ahead).

The tenant's ("team's") zone is Europe/Berlin; requests carry ``Authorization: Bearer``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from tests.conftest import Tenant

from quietly.core.timeutil import to_local

API = "/compat/ohdear/api"
ZONE = "Europe/Berlin"
_IDS = itertools.count(int(datetime.now(UTC).timestamp()) % 1_000_000 * 100)
WEEKLY = {"name": "Weekly deployment window", "recurrence_type": "weekly",
          "days_of_week": [2, 4], "start_time": "02:00", "end_time": "03:00"}


def monitor() -> int:
    return next(_IDS)


def local_now() -> datetime:
    return to_local(datetime.now(UTC), ZONE)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def decide(tenant: Tenant, monitor_id: int, at: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(tenant.viewer.get(
        "/api/v1/decide", params={"target": f"monitor:{monitor_id}", "at": at}))
    return found


def periods(tenant: Tenant, monitor_id: int, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(tenant.viewer.get(f"{API}/monitors/{monitor_id}/"
                                                 "maintenance-periods", params=params))
    return found


def invalid(response: httpx.Response, *fields: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(response, 422)
    assert set(body) == {"message", "errors"}
    assert set(body["errors"]) == set(fields)
    return body


class TestPeriods:
    def test_create_the_documented_period(self, tenant: Tenant) -> None:
        m = monitor()
        body = {"monitor_id": m, "name": "Deployment", "starts_at": "2038-02-12 14:30",
                "ends_at": "2038-02-12 15:00"}
        created = ok(tenant.editor.post(f"{API}/maintenance-periods", json=body), 201)
        assert created == {"id": created["id"], "monitor_id": m, "name": "Deployment",
                           "starts_at": "2038-02-12 14:30:00", "ends_at": "2038-02-12 15:00:00"}
        # 14:30 in Berlin in February is 13:30Z: the team's zone, both ways.
        assert decide(tenant, m, "2038-02-12T13:45:00Z")["windows"] == [created["id"]]
        assert decide(tenant, m, "2038-02-12T13:45:00Z")["verdict"] == "mute"
        assert decide(tenant, m, "2038-02-12T14:00:00Z")["verdict"] == "deliver"

    def test_validation_errors_answer_as_laravel(self, tenant: Tenant) -> None:
        body = invalid(tenant.editor.post(f"{API}/maintenance-periods", json={}),
                       "monitor_id", "starts_at", "ends_at")
        assert body["message"] == "The monitor id field is required. (and 2 more errors)"
        assert body["errors"]["starts_at"] == ["The starts at field is required."]
        bad = {"monitor_id": 1, "starts_at": "2038-02-12T14:30", "ends_at": "2038-02-12 15:00"}
        body = invalid(tenant.editor.post(f"{API}/maintenance-periods", json=bad), "starts_at")
        assert body["message"] == "The starts at field must match the format Y-m-d H:i."
        far = {**bad, "starts_at": "0001-01-01 00:00", "ends_at": "9999-12-31 23:00"}
        invalid(tenant.editor.post(f"{API}/maintenance-periods", json=far), "starts_at",
                "ends_at")
        before = {**bad, "starts_at": "2038-02-12 16:00"}
        body = invalid(tenant.editor.post(f"{API}/maintenance-periods", json=before), "ends_at")
        assert body["errors"]["ends_at"] == ["The ends at field must be a date after starts at."]

    def test_start_maintenance_defaults_to_an_hour(self, tenant: Tenant) -> None:
        m = monitor()
        period = ok(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance"), 201)
        assert set(period) == {"id", "monitor_id", "name", "starts_at", "ends_at"}
        assert period["name"] is None
        # An hour of elapsed time, read from the native window: Oh Dear's local wall-clock
        # strings show no difference at all inside the autumn fold (02:30 → 02:30).
        native = ok(tenant.viewer.get(f"/api/v1/windows/{period['id']}"))["schedule"]
        start = datetime.fromisoformat(native["start"])
        end = datetime.fromisoformat(native["end"])
        assert end - start == timedelta(hours=1)
        assert abs(start - datetime.now(UTC)) < timedelta(minutes=1)
        assert (period["starts_at"], period["ends_at"]) == tuple(
            to_local(t, ZONE).strftime("%Y-%m-%d %H:%M:%S") for t in (start, end))
        assert decide(tenant, m, datetime.now(UTC).isoformat())["verdict"] == "mute"

    def test_start_maintenance_minimum_is_5_seconds(self, tenant: Tenant) -> None:
        m = monitor()
        body = invalid(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance",
                                          json={"stop_maintenance_after_seconds": 4}),
                       "stop_maintenance_after_seconds")
        assert body["message"] == "The stop maintenance after seconds field must be at least 5."
        period = ok(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance", json={
            "stop_maintenance_after_seconds": 5, "name": "quick"}), 201)
        assert period["name"] == "quick"

    def test_stop_maintenance_now_or_after_a_delay(self, tenant: Tenant) -> None:
        m, later = monitor(), monitor()
        ok(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance"), 201)
        ok(tenant.editor.post(f"{API}/monitors/{later}/start-maintenance"), 201)
        assert ok(tenant.editor.post(f"{API}/monitors/{m}/stop-maintenance"), 204) is None
        ok(tenant.editor.post(f"{API}/monitors/{later}/stop-maintenance",
                              json={"delay_seconds": 600}), 204)
        now = datetime.now(UTC)
        assert decide(tenant, m, now.isoformat())["verdict"] == "deliver"
        assert decide(tenant, later, now.isoformat())["verdict"] == "mute"
        after = (now + timedelta(seconds=660)).isoformat()
        assert decide(tenant, later, after)["verdict"] == "deliver"
        invalid(tenant.editor.post(f"{API}/monitors/{m}/stop-maintenance",
                                   json={"delay_seconds": 0}), "delay_seconds")

    def test_update_only_before_the_start(self, tenant: Tenant) -> None:
        m = monitor()
        future = ok(tenant.editor.post(f"{API}/maintenance-periods", json={
            "monitor_id": m, "starts_at": "2038-05-01 10:00", "ends_at": "2038-05-01 11:00"}), 201)
        changed = ok(tenant.editor.put(f"{API}/maintenance-periods/{future['id']}", json={
            "starts_at": "2038-05-02 10:00", "ends_at": "2038-05-02 12:00", "name": "moved"}))
        assert changed == {**future, "name": "moved", "starts_at": "2038-05-02 10:00:00",
                           "ends_at": "2038-05-02 12:00:00"}
        running = ok(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance"), 201)
        invalid(tenant.editor.put(f"{API}/maintenance-periods/{running['id']}", json={
            "starts_at": "2038-05-03 10:00", "ends_at": "2038-05-03 12:00"}), "starts_at")

    def test_delete(self, tenant: Tenant) -> None:
        m = monitor()
        period = ok(tenant.editor.post(f"{API}/monitors/{m}/start-maintenance"), 201)
        ok(tenant.editor.delete(f"{API}/maintenance-periods/{period['id']}"), 204)
        assert decide(tenant, m, datetime.now(UTC).isoformat())["verdict"] == "deliver"
        gone = ok(tenant.editor.delete(f"{API}/maintenance-periods/{period['id']}"), 404)
        assert set(gone) == {"message"}

    def test_list_is_paginated_and_filtered(self, tenant: Tenant) -> None:
        m = monitor()
        for day in ("2038-01-05", "2038-03-05", "2038-06-05", "2039-01-05"):
            ok(tenant.editor.post(f"{API}/maintenance-periods", json={
                "monitor_id": m, "starts_at": f"{day} 10:00", "ends_at": f"{day} 11:00"}), 201)
        page = periods(tenant, m, **{"filter[started_at]": "20380101000000",
                                     "filter[ended_at]": "20381231235959"})
        assert [p["starts_at"] for p in page["data"]] == [
            "2038-01-05 10:00:00", "2038-03-05 10:00:00", "2038-06-05 10:00:00"]
        assert page["meta"]["total"] == 3
        assert page["meta"]["current_page"] == page["meta"]["last_page"] == 1
        assert set(page["links"]) == {"first", "last", "prev", "next"}
        second = periods(tenant, m, page=2, per_page=3)
        assert [p["starts_at"] for p in second["data"]] == ["2039-01-05 10:00:00"]
        assert second["meta"]["last_page"] == 2
        assert second["links"]["next"] is None
        invalid(tenant.viewer.get(f"{API}/monitors/{m}/maintenance-periods",
                                  params={"filter[started_at]": "2038-01-01"}),
                "filter.started_at")
        invalid(tenant.viewer.get(f"{API}/monitors/{m}/maintenance-periods",
                                  params={"filter[ended_at]": "00010101000000"}),
                "filter.ended_at")

    def test_auth(self, tenant: Tenant, other_tenant: Tenant) -> None:
        response = httpx.get(f"{tenant.base_url}{API}/monitors/1/maintenance-periods")
        assert ok(response, 401) == {"message": "Unauthenticated."}
        assert set(ok(tenant.viewer.post(f"{API}/monitors/1/start-maintenance"), 403)) == {
            "message"}
        period = ok(tenant.editor.post(f"{API}/monitors/{monitor()}/start-maintenance"), 201)
        ok(other_tenant.editor.delete(f"{API}/maintenance-periods/{period['id']}"), 404)


def _create_recurring(tenant: Tenant, m: int, **extra: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(tenant.editor.post(
        f"{API}/recurring-maintenance-periods", json={"monitor_id": m, **WEEKLY, **extra}), 201)
    return created


def _generated(tenant: Tenant, m: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = periods(tenant, m, per_page=100)["data"]
    return found


def _native_occurrences(tenant: Tenant, schedule: dict[str, Any], days: int) -> list[str]:
    """Local start times of a native window's occurrences from today on for ``days``."""
    today = local_now().date()
    window = ok(tenant.editor.post("/api/v1/windows", json={
        "name": "twin", "targets": [f"monitor:{monitor()}"],
        "schedule": {"kind": "recurring", "timezone": ZONE, "starts_on": today.isoformat(),
                     **schedule}}), 201)
    found = ok(tenant.viewer.get(f"/api/v1/windows/{window['id']}/occurrences", params={
        "from": f"{today.isoformat()}T00:00:00", "to": f"{today + timedelta(days)}T00:00:00"}))
    now = datetime.now(UTC)
    return [to_local(datetime.fromisoformat(o["start"]), ZONE).strftime("%Y-%m-%d %H:%M:%S")
            for o in found["occurrences"] if datetime.fromisoformat(o["end"]) > now]


class TestRecurring:
    def test_create_the_documented_definition(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m)
        today = local_now().date()
        assert created == {
            **WEEKLY, "id": created["id"], "monitor_id": m, "day_of_month": None,
            "human_readable_schedule": "Every Tuesday and Thursday from 02:00 to 03:00",
            "last_generated_until": (today + timedelta(days=6)).isoformat(),
            "created_at": created["created_at"], "updated_at": created["updated_at"]}
        assert created["created_at"].endswith("+00:00")
        assert ok(tenant.viewer.get(f"{API}/recurring-maintenance-periods/{created['id']}")) \
            == created
        listed = ok(tenant.viewer.get(f"{API}/monitors/{m}/recurring-maintenance-periods"))
        assert listed == {"data": [created]}

    def test_generated_periods_match_native_occurrences(self, tenant: Tenant) -> None:
        m = monitor()
        _create_recurring(tenant, m)
        starts = [p["starts_at"] for p in _generated(tenant, m)]
        expected = _native_occurrences(tenant, {"every": "weekly", "days_of_week": ["tue", "thu"],
                                                "start_time": "02:00", "end_time": "03:00"}, 7)
        assert starts == expected
        assert all(p["name"] == WEEKLY["name"] for p in _generated(tenant, m))

    def test_definition_governs_beyond_the_generated_days(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="daily", start_time="02:00",
                                    end_time="03:00")
        first = _generated(tenant, m)
        later = local_now().date() + timedelta(days=20)
        at = f"{later.isoformat()}T02:30:00"
        assert decide(tenant, m, at) == {**decide(tenant, m, at), "verdict": "mute",
                                         "windows": [created["id"]]}
        gen = first[-1]
        at_gen = gen["starts_at"].replace(" ", "T")[:16] + ":30"
        assert decide(tenant, m, at_gen)["windows"] == [gen["id"]]  # never counted twice

    def test_overnight_definition(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="daily", start_time="23:00",
                                    end_time="01:00")
        assert created["human_readable_schedule"].startswith("Every day from 23:00 to 01:00")
        for period in _generated(tenant, m):
            start = datetime.fromisoformat(period["starts_at"])
            end = datetime.fromisoformat(period["ends_at"])
            assert (start.hour, end.hour, (end.date() - start.date()).days) == (23, 1, 1)

    @pytest.mark.parametrize(("change", "fields"), [
        ({"days_of_week": None}, {"days_of_week"}),
        ({"recurrence_type": "monthly"}, {"day_of_month"}),
        ({"end_time": "02:00"}, {"end_time"}),
        ({"days_of_week": [7]}, {"days_of_week.0"}),
        ({"start_time": "2am"}, {"start_time"}),
        ({"recurrence_type": "yearly"}, {"recurrence_type"}),
        ({"day_of_month": 32, "recurrence_type": "monthly"}, {"day_of_month"}),
    ])
    def test_bad_definitions(self, tenant: Tenant, change: dict[str, Any],
                             fields: set[str]) -> None:
        invalid(tenant.editor.post(f"{API}/recurring-maintenance-periods",
                                   json={"monitor_id": 1, **WEEKLY, **change}), *fields)

    def test_monthly_and_generate_now_false(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="monthly", day_of_month=31,
                                    days_of_week=None, generate_now=False)
        assert created["last_generated_until"] is None
        assert created["day_of_month"] == 31
        assert created["days_of_week"] is None
        assert _generated(tenant, m) == []
        # Day 31 runs on the last day of shorter months; the definition governs at once.
        assert decide(tenant, m, "2038-02-28T02:30:00")["windows"] == [created["id"]]

    @pytest.mark.parametrize("delay", [None, 600])
    def test_stop_maintenance_ends_the_occurrence_a_definition_runs(
            self, tenant: Tenant, delay: int | None) -> None:
        """``generate_now: false`` with now inside the range used to stay ``mute`` after
        stop-maintenance (issue 16, point 10). The running occurrence alone ends (at once, or
        after ``delay_seconds``) and is listed as a period; the next day's still comes."""
        m = monitor()
        now = local_now()
        start = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=0,
                                                            microsecond=0))
        end = min(start + timedelta(hours=1), now.replace(hour=23, minute=59))
        created = _create_recurring(tenant, m, recurrence_type="daily", days_of_week=None,
                                    start_time=start.strftime("%H:%M"),
                                    end_time=end.strftime("%H:%M"), generate_now=False)
        at = datetime.now(UTC)
        before = decide(tenant, m, at.isoformat())["verdict"]
        ok(tenant.editor.post(f"{API}/monitors/{m}/stop-maintenance",
                              json={"delay_seconds": delay} if delay else None), 204)
        after = datetime.now(UTC) + timedelta(seconds=(delay or 0) + 1)
        tomorrow = (start + timedelta(days=1, minutes=1)).astimezone(UTC).isoformat()
        listed = _generated(tenant, m)
        assert (before, decide(tenant, m, after.isoformat())["verdict"],
                decide(tenant, m, tomorrow)["windows"],
                [p["starts_at"] for p in listed]) == (
            "mute", "deliver", [created["id"]], [start.strftime("%Y-%m-%d %H:%M:00")])
        midway = at + timedelta(seconds=(delay or 0) / 2)
        if delay and midway < end:  # (the occurrence's own end comes first before midnight)
            assert decide(tenant, m, midway.isoformat())["verdict"] == "mute"

    def test_update_regenerates_future_periods(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="daily", start_time="04:00",
                                    end_time="05:00")
        old = {p["id"] for p in _generated(tenant, m)}
        updated = ok(tenant.editor.put(f"{API}/recurring-maintenance-periods/{created['id']}",
                                       json={"start_time": "06:00", "end_time": "07:00"}))
        assert updated["human_readable_schedule"] == "Every day from 06:00 to 07:00"
        now_ids = {p["id"]: p for p in _generated(tenant, m)}
        running_or_past = old & set(now_ids)
        assert len(running_or_past) <= 1  # only today's, if it had started
        new = [p for i, p in now_ids.items() if i not in old]
        assert new
        assert all(p["starts_at"].endswith("06:00:00") for p in new)

    def test_update_without_regeneration_keeps_periods(self, tenant: Tenant) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="daily", start_time="04:00",
                                    end_time="05:00")
        before = _generated(tenant, m)
        updated = ok(tenant.editor.put(f"{API}/recurring-maintenance-periods/{created['id']}",
                                       json={"start_time": "06:00", "end_time": "07:00",
                                             "name": "later",
                                             "regenerate_future_periods": False}))
        assert updated["name"] == "later"
        assert _generated(tenant, m) == before
        later = (local_now().date() + timedelta(days=20)).isoformat()
        assert decide(tenant, m, f"{later}T06:30:00")["verdict"] == "mute"
        assert decide(tenant, m, f"{later}T04:30:00")["verdict"] == "deliver"

    @pytest.mark.parametrize("delete_future", [True, False])
    def test_delete_with_and_without_future_periods(self, tenant: Tenant,
                                                    delete_future: bool) -> None:
        m = monitor()
        created = _create_recurring(tenant, m, recurrence_type="daily", start_time="04:00",
                                    end_time="05:00")
        before = _generated(tenant, m)
        path = f"{API}/recurring-maintenance-periods/{created['id']}"
        ok(tenant.editor.delete(path, params={"delete_future_periods": delete_future}), 204)
        ok(tenant.viewer.get(path), 404)
        after = _generated(tenant, m)
        now = local_now().strftime("%Y-%m-%d %H:%M:%S")
        started = [p for p in before if p["starts_at"] <= now]
        assert after == (started if delete_future else before)
        later = (local_now().date() + timedelta(days=20)).isoformat()
        assert decide(tenant, m, f"{later}T04:30:00")["verdict"] == "deliver"


class TestVendorFieldNames:
    """Errors are keyed by Oh Dear's fields, never quietly's internal paths (issue 16)."""

    def test_a_period_in_the_past_is_keyed_ends_at(self, tenant: Tenant) -> None:
        body = invalid(tenant.editor.post(f"{API}/maintenance-periods", json={
            "monitor_id": monitor(), "starts_at": "2020-02-12 14:30",
            "ends_at": "2020-02-12 15:30"}), "ends_at")
        assert body["errors"] == {"ends_at": ["The ends at field must be a date after now."]}
