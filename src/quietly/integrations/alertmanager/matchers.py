"""Alertmanager's matchers → quietly's native matchers (``{"label", "op", "value"}``).

``parse_matchers`` reads one entry of a route's ``matchers:`` list as Alertmanager 0.25 does
(``pkg/labels/parse.go``): optional braces, several matchers separated by commas outside double
quotes, ``name op value`` with ``=``, ``!=``, ``=~``, ``!~``, a value optionally in double quotes
with ``\\"``, ``\\n`` and ``\\\\`` escapes (any other backslash is literal). The four operators
mean the same in quietly (regexes are fully anchored in both), so they map one to one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MatcherError", "from_legacy", "from_silence", "parse_matchers"]

# Go's \s is ASCII whitespace; '=~' before '=' so that '~' is not taken as the value.
_MATCHER = re.compile(r"^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)"
                      r"[\t\n\f\r ]*(.*?)[\t\n\f\r ]*$", re.S)
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


class MatcherError(ValueError):
    """A matcher Alertmanager would refuse; the message is Alertmanager's."""


def _tokens(text: str) -> list[str]:
    text = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for char in text:
        if char == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return tokens


def _unquote(raw: str) -> str:
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out, escaped = [], False
    for i, char in enumerate(body):
        if escaped:
            escaped = False
            out.append(_ESCAPES.get(char, "\\" + char))
            continue
        if char == "\\":
            if i < len(body) - 1:
                escaped = True
                continue
            out.append("\\")
        elif char == '"':
            if not quoted or i < len(body) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


def parse_matchers(text: str) -> list[dict[str, Any]]:
    """One ``matchers:`` entry (``severity=~"warn|crit"``, ``{a="b", c!=d}``) as native
    matchers; raises MatcherError."""
    out = []
    for token in _tokens(text):
        found = _MATCHER.match(token)
        if not found:
            raise MatcherError(f"bad matcher format: {token}")
        label, op, raw = found.groups()
        out.append({"label": label, "op": op, "value": _unquote(raw)})
    return out


def from_legacy(match: Mapping[str, Any] | None, match_re: Mapping[str, Any] | None) \
        -> list[dict[str, Any]]:
    """A route's deprecated ``match`` (equality) and ``match_re`` (anchored regex) maps."""
    out = [{"label": str(k), "op": "=", "value": str(v)} for k, v in (match or {}).items()]
    out += [{"label": str(k), "op": "=~", "value": str(v)} for k, v in (match_re or {}).items()]
    return out


def from_silence(matcher: Mapping[str, Any]) -> dict[str, Any]:
    """One matcher of the v2 API's silence (``name``, ``value``, ``isRegex``, ``isEqual``)."""
    regex, equal = bool(matcher.get("isRegex")), matcher.get("isEqual", True) is not False
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~",
          (True, False): "!~"}[(regex, equal)]
    return {"label": str(matcher["name"]), "op": op, "value": str(matcher.get("value", ""))}
