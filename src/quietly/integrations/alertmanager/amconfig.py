"""Read an ``alertmanager.yml``: its named time intervals and the routes that use them.

Only what the import needs is read: ``time_intervals`` and the deprecated
``mute_time_intervals`` (same shape: ``name`` and a list of intervals), and the ``route`` tree
with each route's ``matchers`` / ``match`` / ``match_re``, ``mute_time_intervals``,
``active_time_intervals``, ``continue`` and child ``routes``. Everything else (receivers,
inhibit rules, …) is ignored. Every error says ``file:line: field: message``.

YAML is read with PyYAML's safe loader, except that a plain scalar with a colon stays text:
YAML 1.1 reads ``17:00`` and ``1:5`` as base-60 integers (1020, 65), Alertmanager's Go reader
hands them over as the strings they look like.

A route's alerts are taken to be those matching its matchers and all its ancestors' (DESIGN
and the issue's rule). Alertmanager's routing is narrower in two ways that matchers cannot say:
a route only sees alerts that no earlier sibling took (unless that sibling has ``continue:
true``), and its ``mute_time_intervals`` do not apply to alerts one of its child routes takes
(they are not inherited). Each such route is listed in ``RouteUse.notes``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from quietly.integrations.alertmanager.matchers import MatcherError, from_legacy, parse_matchers
from quietly.integrations.alertmanager.timeintervals import (
    IntervalError,
    TimeInterval,
    parse_intervals,
)

__all__ = ["AlertmanagerConfig", "ConfigError", "IntervalEntry", "RouteUse", "load_config"]


class ConfigError(ValueError):
    """The file is not a usable Alertmanager configuration: ``file:line: field: message``."""

    def __init__(self, source: str, line: int | None, path: str, message: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        self.line = line
        self.path = path


class _Map(dict[Any, Any]):
    line = 0
    key_lines: dict[Any, int]


class _List(list[Any]):
    line = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps line numbers and reads ``17:00`` as text (see module doc)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> _List:
    out = _List(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_number(loader: _Loader, node: yaml.ScalarNode) -> object:
    if ":" in str(node.value):
        return str(node.value)
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_number)


@dataclass(frozen=True, slots=True)
class IntervalEntry:
    """One named entry of ``time_intervals`` (or ``mute_time_intervals``)."""

    name: str
    line: int
    intervals: tuple[TimeInterval, ...]


@dataclass(frozen=True, slots=True)
class RouteUse:
    """A route that names an interval: where it is, and its alerts' matchers."""

    path: str  # route.routes[0].routes[1]
    line: int
    matchers: tuple[dict[str, Any], ...]  # its own and its ancestors'; empty: every alert
    notes: tuple[str, ...] = ()


@dataclass
class AlertmanagerConfig:
    source: str
    entries: list[IntervalEntry] = field(default_factory=list)
    mutes: dict[str, list[RouteUse]] = field(default_factory=dict)
    # Routes with active_time_intervals, each with the names it lists (active in any of them).
    actives: list[tuple[RouteUse, tuple[str, ...]]] = field(default_factory=list)


def _line(node: object, key: object = None) -> int | None:
    if isinstance(node, _Map):
        return node.key_lines.get(key, node.line) if key is not None else node.line
    return node.line if isinstance(node, _List) else None


def _entries(config: AlertmanagerConfig, doc: _Map) -> None:
    for section in ("time_intervals", "mute_time_intervals"):
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise ConfigError(config.source, _line(doc, section), section, "must be a list")
        for i, item in enumerate(items):
            path = f"{section}[{i}]"
            if not isinstance(item, _Map) or not isinstance(item.get("name"), str):
                raise ConfigError(config.source, _line(items) if not isinstance(item, _Map)
                                  else item.line, path, "needs a name")
            try:
                intervals = parse_intervals(item.get("time_intervals") or _List())
            except IntervalError as exc:
                raise ConfigError(config.source, _interval_line(item, exc.path),
                                  f"{path}.time_intervals{exc.path}", exc.message) from None
            if any(e.name == item["name"] for e in config.entries):
                raise ConfigError(config.source, item.line, f"{path}.name",
                                  f"time interval {item['name']!r} is defined twice")
            config.entries.append(IntervalEntry(item["name"], item.line, intervals))


def _interval_line(item: _Map, path: str) -> int | None:
    """The line of ``[i].field[j]`` inside an entry's ``time_intervals``, as near as known."""
    node: object = item.get("time_intervals")
    line = _line(item, "time_intervals")
    for part in path.replace("]", "").replace(".", "[").split("["):
        if not part:
            continue
        if isinstance(node, _List) and part.isdigit() and int(part) < len(node):
            line, node = node.item_lines[int(part)], node[int(part)]
        elif isinstance(node, _Map) and part in node:
            line, node = node.key_lines[part], node[part]
    return line


def _route_matchers(config: AlertmanagerConfig, route: _Map, path: str) \
        -> list[dict[str, Any]]:
    found = from_legacy(route.get("match"), route.get("match_re"))
    entries = route.get("matchers") or []
    if not isinstance(entries, list):
        raise ConfigError(config.source, _line(route, "matchers"), f"{path}.matchers",
                          "must be a list")
    for i, text in enumerate(entries):
        try:
            found += parse_matchers(str(text))
        except MatcherError as exc:
            line = entries.item_lines[i] if isinstance(entries, _List) else route.line
            raise ConfigError(config.source, line, f"{path}.matchers[{i}]", str(exc)) from None
    return found


def _walk(config: AlertmanagerConfig, route: _Map, path: str,
          inherited: list[dict[str, Any]]) -> Iterator[tuple[_Map, str, list[dict[str, Any]]]]:
    matchers = inherited + _route_matchers(config, route, path)
    yield route, path, matchers
    children = route.get("routes") or []
    for i, child in enumerate(children):
        if not isinstance(child, _Map):
            raise ConfigError(config.source, _line(children), f"{path}.routes[{i}]",
                              "must be a mapping")
        yield from _walk(config, child, f"{path}.routes[{i}]", matchers)


def _notes(route: _Map, path: str, siblings: list[Any], index: int, name: str) \
        -> tuple[str, ...]:
    notes = []
    earlier = [s for s in siblings[:index] if isinstance(s, Mapping) and not s.get("continue")]
    if earlier:
        notes.append(f"{path}: alerts an earlier sibling route takes never reach it in "
                     "Alertmanager, but they match this window's condition group too")
    children = [c for c in route.get("routes") or []
                if isinstance(c, Mapping) and name not in (c.get("mute_time_intervals") or [])]
    if children:
        notes.append(f"{path}: alerts its child routes take are not muted by Alertmanager "
                     "(mute_time_intervals are not inherited), but they match this window's "
                     "condition group too")
    return tuple(notes)


def _uses(config: AlertmanagerConfig, root: _Map) -> None:
    known = {e.name for e in config.entries}
    parents: dict[str, tuple[list[Any], int]] = {}
    for route, path, matchers in _walk(config, root, "route", []):
        for i in range(len(route.get("routes") or [])):
            parents[f"{path}.routes[{i}]"] = (route.get("routes") or [], i)
        siblings, index = parents.get(path, ([], 0))
        for key in ("mute_time_intervals", "active_time_intervals"):
            names = _names(config, route, path, key, known)
            line = _line(route, key) or route.line
            if key == "active_time_intervals" and names:
                config.actives.append((RouteUse(path, line, tuple(matchers)), tuple(names)))
            for name in names if key == "mute_time_intervals" else ():
                notes = _notes(route, path, siblings, index, name)
                config.mutes.setdefault(name, []).append(
                    RouteUse(path, line, tuple(matchers), notes))


def _names(config: AlertmanagerConfig, route: _Map, path: str, key: str,
           known: set[str]) -> list[str]:
    names = route.get(key) or []
    if not isinstance(names, list):
        raise ConfigError(config.source, _line(route, key), f"{path}.{key}", "must be a list")
    for j, name in enumerate(names):
        if name not in known:
            line = names.item_lines[j] if isinstance(names, _List) else route.line
            raise ConfigError(config.source, line, f"{path}.{key}[{j}]",
                              f"undefined time interval {name!r}")
    return [str(n) for n in names]


def load_config(text: str, source: str) -> AlertmanagerConfig:
    """Parse ``text`` (the content of ``source``); raises ConfigError."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(source, mark.line + 1 if mark else None, "",
                          f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, _Map):
        raise ConfigError(source, None, "", "an Alertmanager configuration is a YAML mapping")
    config = AlertmanagerConfig(source)
    _entries(config, doc)
    root = doc.get("route")
    if isinstance(root, _Map):
        _uses(config, root)
    elif root is not None:
        raise ConfigError(source, _line(doc, "route"), "route", "must be a mapping")
    return config
