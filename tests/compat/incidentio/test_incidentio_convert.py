"""Round trips through the incident.io converters, without a server (hypothesis).

What is sent must come back: ``from_record(to_fields(payload))`` answers the condition groups,
escalation targets and channels exactly as sent, with only incident.io's labels added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.compat.incidentio.convert import from_record, to_fields
from quietly.compat.incidentio.schemas import MaintenanceWindowPayload
from quietly.core.records import WindowRecord

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
text = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_categories=("Z", "C")),
               min_size=1, max_size=12)
literal = st.builds(lambda v: {"literal": v}, text)
many = st.lists(literal, min_size=1, max_size=3)
binding = st.one_of(st.builds(lambda v: {"value": v}, literal),
                    st.builds(lambda a: {"array_value": a}, many))
valued_ops = st.sampled_from(["one_of", "not_one_of", "any_of", "none_of", "is", "is_not",
                              "contains", "does_not_contain", "starts_with"])
condition = st.one_of(
    st.builds(lambda s, o, b: {"subject": s, "operation": o, "param_bindings": [b]},
              text, valued_ops, binding),
    st.builds(lambda s, o: {"subject": s, "operation": o, "param_bindings": []},
              text, st.sampled_from(["is_set", "is_blank"])),
)
groups = st.lists(st.builds(lambda c: {"conditions": c},
                            st.lists(condition, min_size=1, max_size=3)), min_size=1,
                  max_size=3)
targets = st.lists(st.fixed_dictionaries({}, optional={"users": binding,
                                                       "escalation_paths": binding})
                   .filter(bool), max_size=2)


def _strip_labels(value: Any) -> Any:
    """The answer without what incident.io adds: labels, and the operation's label object."""
    if isinstance(value, dict):
        if set(value) == {"label", "value"}:  # a labelled operation
            return value["value"]
        if set(value) == {"label", "reference"}:  # a labelled subject
            return value["reference"]
        return {k: _strip_labels(v) for k, v in value.items() if k != "label"}
    if isinstance(value, list):
        return [_strip_labels(v) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(groups=groups, escalation=targets)
def test_conditions_and_targets_come_back_as_sent(groups: list[dict[str, Any]],
                                                  escalation: list[dict[str, Any]]) -> None:
    payload = MaintenanceWindowPayload.model_validate({
        "name": "w", "start_at": "2030-01-01T00:00:00Z", "end_at": "2030-01-01T01:00:00Z",
        "lead": {"id": "U1"}, "show_in_sidebar": True, "alert_condition_groups": groups,
        "escalation_targets": escalation,
        "notify_channels": [{"channel_id": "C1", "channel_type": "private"}]})
    fields = to_fields(payload, "Europe/Berlin")
    record = WindowRecord(id=7, workspace_id=1, fields=fields, created_by="key:k",
                          created_at=NOW, updated_at=NOW)
    answer = from_record(record, NOW)
    assert _strip_labels(answer["alert_condition_groups"]) == groups
    assert _strip_labels(answer["escalation_targets"]) == escalation
    assert answer["notify_channels"] == [{"channel_id": "C1", "channel_type": "private",
                                          "is_private": True}]
    assert fields.all_targets is False
