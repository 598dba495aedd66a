"""Parse the CLI's compact flag syntaxes into the native wire shape.

Every error is a ``ValidationError`` whose field is the flag (``--match``), so the command
prints ``error: --match: …`` and exits 2 before any request is sent.
"""

from __future__ import annotations

import re
from typing import Any

from quietly.core.errors import ValidationError

__all__ = ["parse_days", "parse_labels", "parse_match"]

_LABEL = r"[A-Za-z_][A-Za-z0-9_.\-/]*"
_MATCHER = re.compile(rf"^\s*(?P<label>{_LABEL})\s*(?P<op>=~|!~|!=|=)(?P<value>.*)$", re.S)
# Split a condition group on the commas that begin a new matcher, so a comma inside a
# regex value ("=~x{1,3}") stays in the value.
_SPLIT = re.compile(rf",(?=\s*{_LABEL}\s*(?:=~|!~|!=|=))")
_DAYS = {"mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri", "sat": "sat",
         "sun": "sun", "mo": "mon", "tu": "tue", "we": "wed", "th": "thu", "fr": "fri",
         "sa": "sat", "su": "sun", "monday": "mon", "tuesday": "tue", "wednesday": "wed",
         "thursday": "thu", "friday": "fri", "saturday": "sat", "sunday": "sun"}


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_match(text: str) -> list[dict[str, Any]]:
    """``env=prod,service=~db-.*`` → one condition group (every matcher must match).

    Operators: ``=``, ``!=``, ``=~`` and ``!~`` (full-match regexes, as in Alertmanager).
    Values may be quoted (``env="prod"``); an empty value (``team=``) is allowed and matches a
    missing label. A comma only starts a new matcher when a ``label<op>`` follows it.
    """
    parts = [p for p in _SPLIT.split(text) if p.strip()]
    if not parts:
        raise ValidationError("give matchers such as 'env=prod,service=~db-.*'", field="--match")
    group = []
    for part in parts:
        found = _MATCHER.match(part)
        if found is None:
            raise ValidationError(f"{part.strip()!r} is not a matcher: write label=value, "
                                  "label!=value, label=~regex or label!~regex", field="--match")
        group.append({"label": found["label"], "op": found["op"],
                      "value": _unquote(found["value"])})
    return group


def parse_labels(pairs: list[str]) -> dict[str, str]:
    """``["env=prod", "team=db"]`` → ``{"env": "prod", "team": "db"}`` (a later one wins)."""
    labels: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"{pair!r} is not name=value", field="--label")
        labels[name.strip()] = value
    return labels


def parse_days(text: str) -> list[str]:
    """``mon,thu`` (also ``MO,TH`` or ``monday``) → ``["mon", "thu"]``, duplicates removed."""
    days: list[str] = []
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name not in _DAYS:
            raise ValidationError(f"{raw.strip()!r} is not a day: use mon, tue, wed, thu, fri, "
                                  "sat or sun", field="--days")
        if _DAYS[name] not in days:
            days.append(_DAYS[name])
    if not days:
        raise ValidationError("name at least one day, e.g. mon,thu", field="--days")
    return days
