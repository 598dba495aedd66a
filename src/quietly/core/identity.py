"""How a person's groups become a workspace and a role (single sign-on and proxy identity).

The operator writes one rule per group, ``group=workspace:role``, comma-separated::

    sre-admins=default:admin, sre=default:editor, *=default:viewer

``*`` matches everyone the provider signed in. A person lands in the workspace of the first
rule that matches one of their groups, with the highest role any matching rule gives them in
that workspace. Nobody matched: no grant, and the sign-in is refused (never a silent default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from quietly.core.records import Role

__all__ = ["Grant", "RoleRule", "grant_for", "parse_groups", "parse_role_map"]

_RULE = re.compile(r"^(?P<group>[^=\s][^=]*?)\s*=\s*(?P<ws>[a-z0-9][a-z0-9-]{0,62})"
                   r"\s*:\s*(?P<role>[a-z]+)$")


@dataclass(frozen=True, slots=True)
class RoleRule:
    group: str
    workspace: str
    role: Role


@dataclass(frozen=True, slots=True)
class Grant:
    """Where a signed-in person acts, and with which role."""

    workspace: str
    role: Role


def parse_role_map(text: str) -> tuple[RoleRule, ...]:
    """Parse ``group=workspace:role, …``; raises ValueError naming the bad rule."""
    rules = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        found = _RULE.match(raw)
        if found is None:
            raise ValueError(f"{raw!r} is not a rule such as 'sre-admins=default:admin'")
        try:
            role = Role(found["role"])
        except ValueError:
            raise ValueError(f"{raw!r}: the role must be viewer, editor or admin") from None
        rules.append(RoleRule(found["group"].strip(), found["ws"], role))
    return tuple(rules)


def parse_groups(value: object) -> tuple[str, ...]:
    """A groups claim or header as a tuple: a JSON list of strings, or text split on commas."""
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return ()
    return tuple(s for s in (str(item).strip() for item in items
                             if isinstance(item, str | int)) if s)


def grant_for(rules: Iterable[RoleRule], groups: Iterable[str]) -> Grant | None:
    """The grant of the first matching rule's workspace, with the best role there."""
    held = set(groups)
    matching = [r for r in rules if r.group == "*" or r.group in held]
    if not matching:
        return None
    workspace = matching[0].workspace
    best = max((r.role for r in matching if r.workspace == workspace), key=lambda r: r.rank)
    return Grant(workspace, best)
