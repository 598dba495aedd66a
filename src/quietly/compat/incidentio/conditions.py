"""incident.io ``alert_condition_groups`` ↔ quietly condition groups over alert labels.

A condition's ``subject`` reference is the label name (``alert.attributes.service`` matches the
alert label of exactly that name); its values are the ``literal`` of every param binding
(``value`` and ``array_value``). References without a literal cannot be evaluated by quietly
and are refused. Operations:

    one_of, any_of        → one_of           is / is_not      → = / != (several values:
    not_one_of, none_of   → not_one_of                          one_of / not_one_of)
    is_set / is_blank     → is_set / is_blank
    contains / does_not_contain / starts_with → =~ / !~ / =~ on the escaped text

An empty ``alert_condition_groups`` list matches every alert (``all_targets``).
"""

from __future__ import annotations

import re
from typing import Any

from quietly.compat.incidentio.schemas import ConditionGroupIn, ConditionIn, ParamBindingIn
from quietly.core.errors import ValidationError
from quietly.core.model import ConditionGroup, Matcher, MatcherOp

__all__ = ["OPERATION_LABELS", "groups_to_match", "labelled", "labelled_binding", "literals",
           "match_to_groups", "subject_label"]

OPERATION_LABELS = {
    "one_of": "is one of", "any_of": "is any of", "not_one_of": "is not one of",
    "none_of": "is none of", "is": "is", "is_not": "is not", "is_set": "is set",
    "is_blank": "is blank", "contains": "contains", "does_not_contain": "does not contain",
    "starts_with": "starts with", "matches_regex": "matches regex",
    "does_not_match_regex": "does not match regex",
}
_SET_OPS = {"one_of": MatcherOp.ONE_OF, "any_of": MatcherOp.ONE_OF,
            "not_one_of": MatcherOp.NOT_ONE_OF, "none_of": MatcherOp.NOT_ONE_OF}
_TEXT_OPS = {"contains": (MatcherOp.RE, ".*{}.*"), "does_not_contain": (MatcherOp.NRE, ".*{}.*"),
             "starts_with": (MatcherOp.RE, "{}.*")}


def literals(binding: ParamBindingIn | None) -> list[str]:
    """Every literal of one param binding (``value`` first, then ``array_value``), deduped."""
    if binding is None:
        return []
    found = [binding.value.literal] if binding.value is not None else []
    found += [b.literal for b in binding.array_value or []]
    return list(dict.fromkeys(v for v in found if v is not None))


def _matcher(condition: ConditionIn, path: str) -> Matcher:
    label, operation = condition.subject.strip(), condition.operation.strip()
    if not label:
        raise ValidationError("subject must name an alert attribute", field=f"{path}.subject")
    if operation == "is_set":
        return Matcher(label, MatcherOp.IS_SET)
    if operation == "is_blank":
        return Matcher(label, MatcherOp.IS_BLANK)
    if operation not in OPERATION_LABELS or operation.endswith("regex"):
        supported = ", ".join(k for k in OPERATION_LABELS if not k.endswith("regex"))
        raise ValidationError(f"operation {operation!r} is not supported; use one of "
                              f"{supported}", field=f"{path}.operation")
    values = [v for b in condition.param_bindings for v in literals(b)]
    values = list(dict.fromkeys(values))
    if not values:
        raise ValidationError(f"the {operation!r} operation needs at least one literal value",
                              field=f"{path}.param_bindings")
    if operation in _SET_OPS:
        return Matcher(label, _SET_OPS[operation], values=tuple(values))
    if operation in ("is", "is_not"):
        if len(values) > 1:
            op = MatcherOp.ONE_OF if operation == "is" else MatcherOp.NOT_ONE_OF
            return Matcher(label, op, values=tuple(values))
        return Matcher(label, MatcherOp.EQ if operation == "is" else MatcherOp.NE, values[0])
    op, shape = _TEXT_OPS[operation]
    return Matcher(label, op, shape.format("(?:" + "|".join(map(re.escape, values)) + ")"))


def groups_to_match(groups: list[ConditionGroupIn]) -> tuple[ConditionGroup, ...]:
    out = []
    for i, group in enumerate(groups):
        path = f"alert_condition_groups[{i}]"
        if not group.conditions:
            raise ValidationError("a condition group needs at least one condition",
                                  field=f"{path}.conditions")
        out.append(ConditionGroup(tuple(_matcher(c, f"{path}.conditions[{j}]")
                                        for j, c in enumerate(group.conditions))))
    return tuple(out)


def subject_label(reference: str) -> str:
    """``incident.severity`` → ``Incident Severity`` (incident.io shows a readable name)."""
    words = [w for w in re.split(r"[._\s]+", reference) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or reference


def _binding(value: str) -> dict[str, Any]:
    return {"label": value, "literal": value}


def _condition(op: str, label: str, values: list[str]) -> dict[str, Any]:
    bindings: list[dict[str, Any]]
    if len(values) == 1 and op not in ("one_of", "not_one_of"):
        bindings = [{"value": _binding(values[0])}]
    elif values:
        bindings = [{"array_value": [_binding(v) for v in values]}]
    else:
        bindings = []
    return {"operation": {"label": OPERATION_LABELS[op], "value": op},
            "param_bindings": bindings,
            "subject": {"label": subject_label(label), "reference": label}}


_NATIVE_OPS = {MatcherOp.EQ: "is", MatcherOp.NE: "is_not", MatcherOp.ONE_OF: "one_of",
               MatcherOp.NOT_ONE_OF: "not_one_of", MatcherOp.IS_SET: "is_set",
               MatcherOp.IS_BLANK: "is_blank", MatcherOp.RE: "matches_regex",
               MatcherOp.NRE: "does_not_match_regex"}


def match_to_groups(match: tuple[ConditionGroup, ...]) -> list[dict[str, Any]]:
    """Native condition groups in incident.io's labelled response shape."""
    out = []
    for group in match:
        conditions = []
        for m in group.matchers:
            values = list(m.values) if m.values else ([m.value] if m.value else [])
            if m.op in (MatcherOp.IS_SET, MatcherOp.IS_BLANK):
                values = []
            conditions.append(_condition(_NATIVE_OPS[m.op], m.label, values))
        out.append({"conditions": conditions})
    return out


def labelled(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups as they were sent, with the labels incident.io adds in its answers."""
    out = []
    for group in groups:
        conditions = []
        for c in group.get("conditions", []):
            op = c["operation"]
            conditions.append({
                "operation": {"label": OPERATION_LABELS.get(op, op), "value": op},
                "param_bindings": [labelled_binding(b) for b in c.get("param_bindings", [])],
                "subject": {"label": subject_label(c["subject"]), "reference": c["subject"]},
            })
        out.append({"conditions": conditions})
    return out


def labelled_binding(binding: dict[str, Any]) -> dict[str, Any]:
    def one(b: dict[str, Any]) -> dict[str, Any]:
        return {"label": b.get("literal") or b.get("reference") or "", **b}

    out: dict[str, Any] = {}
    if binding.get("array_value") is not None:
        out["array_value"] = [one(b) for b in binding["array_value"]]
    if binding.get("value") is not None:
        out["value"] = one(binding["value"])
    return out
