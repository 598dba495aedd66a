"""The rule that maps an alert's labels to quietly targets.

A rule is a comma-separated list of templates ``kind:text{label}text``; each template yields
one target when every label it names is present and non-empty, and nothing otherwise. The
default ``service:{service}`` turns ``service="checkout"`` into ``service:checkout``;
``service:{service},host:{instance},job:{job}`` yields up to three targets. Targets are
de-duplicated and keep the rule's order. Labels are matched by windows' condition groups in
any case, so a target rule only adds the target-based windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TargetRule", "parse_target_rule"]

_TEMPLATE = re.compile(r"^[a-z][a-z0-9_]*:(?:[^{},\s]|\{[A-Za-z_][A-Za-z0-9_]*\})+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class _Template:
    parts: tuple[str, ...]  # literal, label, literal, label, …, literal

    def render(self, labels: dict[str, str]) -> str | None:
        out = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                out.append(part)
                continue
            value = labels.get(part)
            if not value:
                return None
            out.append(value)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class TargetRule:
    templates: tuple[_Template, ...]

    def targets(self, labels: dict[str, str]) -> tuple[str, ...]:
        found = (t.render(labels) for t in self.templates)
        return tuple(dict.fromkeys(t for t in found if t))


def parse_target_rule(rule: str) -> TargetRule:
    """Compile a rule; raises ``ValueError`` naming the bad template.

    An empty rule is allowed and maps no labels to targets (windows then match by labels
    only).
    """
    templates = []
    for raw in (part.strip() for part in rule.split(",")):
        if not raw:
            continue
        if not _TEMPLATE.match(raw) or not _PLACEHOLDER.search(raw):
            raise ValueError(
                f"{raw!r} is not a target template such as 'service:{{service}}' "
                "(kind:text with {label} placeholders)")
        templates.append(_Template(tuple(_PLACEHOLDER.split(raw))))
    return TargetRule(tuple(templates))
