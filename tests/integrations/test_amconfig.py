"""Reading ``alertmanager.yml``: matchers as Alertmanager parses them, routes, and the plan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from quietly.integrations.alertmanager.amconfig import load_config
from quietly.integrations.alertmanager.config_import import import_key, plan_config
from quietly.integrations.alertmanager.matchers import MatcherError, parse_matchers

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _m(label: str, op: str, value: str) -> dict[str, Any]:
    return {"label": label, "op": op, "value": value}


MATCHERS = [
    ('severity=~"warn|crit"', [_m("severity", "=~", "warn|crit")]),
    ("foo=bar,dings!=bums", [_m("foo", "=", "bar"), _m("dings", "!=", "bums")]),
    ('{foo = "bar", dings != "bums", }', [_m("foo", "=", "bar"), _m("dings", "!=", "bums")]),
    ('quote="She said: \\"Hi, all\\""', [_m("quote", "=", 'She said: "Hi, all"')]),
    ('code!~"5.."', [_m("code", "!~", "5..")]),
    ("empty=", [_m("empty", "=", "")]),
    ('path="C:\\dir"', [_m("path", "=", "C:\\dir")]),  # a lone backslash stays literal
    ('nl="a\\nb"', [_m("nl", "=", "a\nb")]),
]


@pytest.mark.parametrize(("text", "expected"), MATCHERS, ids=[t for t, _ in MATCHERS])
def test_matchers_parse_as_alertmanager_parses_them(text: str,
                                                    expected: list[dict[str, Any]]) -> None:
    assert parse_matchers(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("foo", "bad matcher format: foo"),
    ('foo="bar', 'matcher value contains unescaped double quote: "bar'),
    ('foo="b"ar"', 'matcher value contains unescaped double quote: "b"ar"'),
])
def test_bad_matchers_are_refused_with_alertmanagers_message(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matchers(text)
    assert str(caught.value) == message


CONFIG = """\
route:
  receiver: r
  match: {env: prod}
  routes:
    - matchers: ['team="a"']
    - matchers: ['team="b"']
      mute_time_intervals: [nights]
      routes:
        - match: {sub: x}
    - mute_time_intervals: [nights]
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: 22:00, end_time: '24:00'}]
"""


def test_a_route_mutes_with_its_own_and_its_parents_matchers() -> None:
    plan = plan_config(load_config(CONFIG, "am.yml"), now=NOW)
    [window] = plan.windows
    assert (window.body["schedule"]["start_time"], window.body["all_targets"],
            window.body["match"]) == ("22:00", False, [
                [_m("env", "=", "prod"), _m("team", "=", "b")], [_m("env", "=", "prod")]])
    assert import_key(window.body["description"]) == window.key


def test_routing_that_matchers_cannot_say_is_noted() -> None:
    plan = plan_config(load_config(CONFIG, "am.yml"), now=NOW)
    assert [n.reason.split(":")[0] + ":" + n.reason.split(":")[1][:30] for n in plan.notes] == [
        "route.routes[1]: alerts an earlier sibling rou",
        "route.routes[1]: alerts its child routes take ",
        "route.routes[2]: alerts an earlier sibling rou"]


def test_a_catch_all_route_mutes_every_alert() -> None:
    text = CONFIG.replace("  match: {env: prod}\n", "")
    plan = plan_config(load_config(text, "am.yml"), now=NOW)
    assert [(w.body["all_targets"], w.body["match"]) for w in plan.windows] == [(True, [])]


def test_yaml_times_and_ranges_stay_text() -> None:
    # YAML 1.1 reads 22:00 and 1:5 as base-60 numbers; Alertmanager reads the text.
    text = ("time_intervals:\n  - name: n\n    time_intervals:\n"
            "      - times: [{start_time: 22:00, end_time: 23:30}]\n"
            "        days_of_month: [1:5]\n")
    [entry] = load_config(text, "am.yml").entries
    [interval] = entry.intervals
    assert (interval.times, [(r.begin, r.end) for r in interval.days_of_month or ()]) == (
        ((22 * 60, 23 * 60 + 30),), [(1, 5)])


def test_years_already_over_are_skipped_with_the_reason() -> None:
    text = CONFIG.replace("      - times: [{start_time: 22:00, end_time: '24:00'}]\n",
                          "      - years: ['2020:2022', '2030']\n")
    plan = plan_config(load_config(text, "am.yml"), now=NOW)
    assert ([w.body["schedule"]["starts_on"] for w in plan.windows],
            [f.reason.split(" (")[0] for f in plan.skipped]) == (
        ["2030-01-01"], ["never active again: its years ended 2022-12-31"])
