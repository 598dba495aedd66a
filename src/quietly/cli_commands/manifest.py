"""Maintenance-as-code files: windows and target groups in YAML (or JSON, which is read the
same way), with the line of every value kept so that errors point into the files.

A file is a mapping with ``windows`` (each the body of ``POST /api/v1/windows`` plus a
``key``), ``groups`` (each the body of ``POST /api/v1/groups``) and an optional ``$schema``.
``load`` reads files and directories (every ``*.yaml``, ``*.yml`` and ``*.json`` below them,
in name order) into one desired set; ``Manifest.locate`` turns a path in that set, as the
server reports it (``windows[7].schedule.timezone``), into ``file:line: windows[2].…`` of
the file the object came from.

Values are read as YAML 1.2 would: ``22:00`` stays a string (YAML 1.1 reads it as 1320, a
base-60 number) and so do dates (``2031-01-01``), because the API takes both as strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SUFFIXES", "Manifest", "dump", "load"]

SUFFIXES = (".yaml", ".yml", ".json")
_TOP_KEYS = ("$schema", "windows", "groups")
_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
_INT = re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)


# libyaml's parser when PyYAML was built with it (the wheels are), else the pure-Python one.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """A safe loader without YAML 1.1's base-60 numbers and timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one object of the set came from: its file, its index there, and its node."""

    path: str
    section: str  # "windows" or "groups"
    index: int
    node: yaml.Node


@dataclass
class Manifest:
    windows: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    origins: dict[str, list[Origin]] = field(
        default_factory=lambda: {"windows": [], "groups": []})
    errors: list[str] = field(default_factory=list)  # "file:line: message"
    files: list[str] = field(default_factory=list)

    def locate(self, path: str | None, detail: str) -> str:
        """``windows[7].schedule.timezone`` of the set → ``file:line: windows[2]…: detail``."""
        parts = _parts(path or "")
        if len(parts) < 2 or parts[0] not in self.origins or not isinstance(parts[1], int) \
                or parts[1] >= len(self.origins[str(parts[0])]):
            where = ", ".join(self.files) or "the files"
            return f"{where}: {path}: {detail}" if path else f"{where}: {detail}"
        origin = self.origins[str(parts[0])][int(parts[1])]
        line = _line(origin.node, parts[2:])
        local = f"{origin.section}[{origin.index}]" + path_suffix(parts[2:])
        return f"{origin.path}:{line}: {local}: {detail}"

    def where(self, section: str, index: int) -> str:
        """``file:line`` of one object of the set."""
        origin = self.origins[section][index]
        return f"{origin.path}:{origin.node.start_mark.line + 1}"


def path_suffix(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _parts(path: str) -> list[str | int]:
    return [int(m[1]) if m[1] else m[2] for m in _PART.finditer(path)]


def _line(node: yaml.Node, parts: list[str | int]) -> int:
    """The line of the deepest node along ``parts`` (the parent when a key is missing)."""
    for part in parts:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _expand(paths: list[Path], errors: list[str]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix in SUFFIXES
                            and not any(part.startswith(".") for part in p.parts))
        elif path.is_file():
            found.append(path)
        else:
            errors.append(f"{path}: no such file or directory")
    return found


def _parse(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for lines) and the values of one file.

    JSON is read by ``json`` (exact JSON semantics) and composed as YAML for the lines only,
    with tabs made spaces: JSON allows them between tokens, YAML does not, and a valid JSON
    string never holds a raw tab.
    """
    if path.suffix == ".json":
        data = json.loads(text)
        return yaml.compose(text.replace("\t", " "), Loader=_Loader), data
    loader = _Loader(text)
    try:  # one pass: the node tree, then the values built from it
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def _read(path: Path, manifest: Manifest) -> None:
    name = str(path)
    try:
        root, data = _parse(path, path.read_text(encoding="utf-8"))
    except OSError as exc:
        manifest.errors.append(f"{name}: cannot read: {exc.strerror}")
        return
    except UnicodeDecodeError:
        manifest.errors.append(f"{name}: not UTF-8 text")
        return
    except json.JSONDecodeError as exc:
        manifest.errors.append(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}")
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        manifest.errors.append(f"{name}{line}: not valid YAML: {problem}")
        return
    manifest.files.append(name)
    if root is None:
        return  # an empty file declares nothing
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        manifest.errors.append(f"{name}:{root.start_mark.line + 1}: expected a mapping with "
                               "'windows' and/or 'groups'")
        return
    for key in data:
        if key not in _TOP_KEYS:
            manifest.errors.append(f"{name}:{_line(root, [key])}: {key}: unknown key; a file "
                                   "holds 'windows', 'groups' and '$schema'")
    for section in ("windows", "groups"):
        _section(name, root, data, section, manifest)


def _section(name: str, root: yaml.MappingNode, data: dict[str, Any], section: str,
             manifest: Manifest) -> None:
    items = data.get(section)
    if items is None:
        return
    node = next(v for k, v in root.value if k.value == section)
    if not isinstance(items, list) or not isinstance(node, yaml.SequenceNode):
        manifest.errors.append(f"{name}:{node.start_mark.line + 1}: {section}: expected a list")
        return
    target = manifest.windows if section == "windows" else manifest.groups
    for index, (item, item_node) in enumerate(zip(items, node.value, strict=True)):
        if not isinstance(item, dict):
            manifest.errors.append(f"{name}:{item_node.start_mark.line + 1}: "
                                   f"{section}[{index}]: expected a mapping")
            continue
        target.append(item)
        manifest.origins[section].append(Origin(name, section, index, item_node))


def load(paths: list[Path]) -> Manifest:
    """Read every file under ``paths`` into one desired set; ``errors`` lists every problem."""
    manifest = Manifest()
    for path in _expand(paths, manifest.errors):
        _read(path, manifest)
    return manifest


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes strings with line breaks YAML would fold (NEL, LS, PS)
    or control characters, so they read back exactly."""


_SPECIAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _SPECIAL.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any]) -> str:
    """A file as YAML that ``load`` reads back to the same values."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
