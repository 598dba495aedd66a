"""Dependencies point inward only (STYLE.md): core imports nothing else of ours, services and
storage never reach back into HTTP, CLI, UI or worker code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "quietly"

# package → quietly packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("storage", "services", "api", "compat", "web", "worker", "notify",
             "integrations", "cli", "settings", "client", "sync"),
    "storage": ("services", "api", "compat", "web", "worker", "notify", "integrations", "cli",
                "sync"),
    "services": ("api", "compat", "web", "cli", "sync"),
    "notify": ("api", "compat", "web", "cli", "sync"),
    # worker → sync → services, core, storage (and notify's destination guard).
    "sync": ("api", "compat", "web", "cli", "worker", "integrations", "client"),
}
# The pure core may use only the standard library and these.
CORE_THIRD_PARTY = {"dateutil", "cronsim", "tzdata", "re2"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_point_inward(package: str) -> None:
    bad = sorted(
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules(package)
        for name in _imports(path)
        if name.startswith("quietly.")
        and name.split(".")[1] in FORBIDDEN[package]
    )
    assert bad == []


def test_core_uses_only_stdlib_and_its_libraries() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    bad = sorted(
        f"{path.relative_to(SRC)} imports {name}"
        for path in _modules("core")
        for name in _imports(path)
        if name.split(".")[0] not in stdlib | CORE_THIRD_PARTY | {"quietly", "__future__"}
    )
    assert bad == []


def _internal_graph() -> dict[str, set[str]]:
    """quietly module → quietly modules it imports (nested imports included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(), filename=str(path))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[module] = {name for name in found if name.startswith("quietly.")}
    return {module: deps & graph.keys() - {module} for module, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the list of modules along it."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for dep in sorted(graph[node]):
            if dep == path[0] and frozenset(path) not in seen:
                seen.add(frozenset(path))
                found.append([*path, dep])
            elif dep not in path and dep > path[0]:
                walk(dep, [*path, dep])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_services_have_no_import_cycles() -> None:
    # A cycle hidden behind a function-level import is still a cycle (issue #14 point 9).
    graph = {module: {d for d in deps if d.startswith("quietly.services.")}
             for module, deps in _internal_graph().items()
             if module.startswith("quietly.services.")}
    assert _cycles(graph) == []
