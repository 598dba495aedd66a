"""Groups → workspace and role (core.identity): the rules operators write, and what they give."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.identity import Grant, RoleRule, grant_for, parse_groups, parse_role_map
from quietly.core.records import Role

RULES = parse_role_map("sre-admins=default:admin, sre=default:editor, "
                       "ops team=ops:editor, *=default:viewer")

GRANTS = {
    "admin group": (["sre-admins"], Grant("default", Role.ADMIN)),
    "editor group": (["sre"], Grant("default", Role.EDITOR)),
    "best role of the workspace wins": (["sre", "sre-admins"], Grant("default", Role.ADMIN)),
    "anyone signed in": (["marketing"], Grant("default", Role.VIEWER)),
    "no groups at all": ([], Grant("default", Role.VIEWER)),
    "first rule's workspace": (["ops team", "sre"], Grant("default", Role.EDITOR)),
}


@pytest.mark.parametrize("case", GRANTS, ids=list(GRANTS))
def test_grant_for(case: str) -> None:
    groups, expected = GRANTS[case]
    assert grant_for(RULES, groups) == expected


def test_without_a_catch_all_unmatched_people_get_nothing() -> None:
    assert grant_for(parse_role_map("sre=default:editor"), ["marketing"]) is None


BAD_MAPS = {
    "no workspace": ("sre=admin", "'sre=admin' is not a rule"),
    "unknown role": ("sre=default:owner", "the role must be viewer, editor or admin"),
    "upper-case workspace": ("sre=Default:admin", "is not a rule"),
    "no group": ("=default:admin", "is not a rule"),
}


@pytest.mark.parametrize("case", BAD_MAPS, ids=list(BAD_MAPS))
def test_bad_maps_name_the_rule(case: str) -> None:
    text, message = BAD_MAPS[case]
    with pytest.raises(ValueError, match=message):
        parse_role_map(text)


def test_parse_role_map() -> None:
    assert parse_role_map(" a b = ws-1 : viewer ,, x=y:admin") == (
        RoleRule("a b", "ws-1", Role.VIEWER), RoleRule("x", "y", Role.ADMIN))


GROUPS = {
    "json list": (["a", " b ", ""], ("a", "b")),
    "comma text (a proxy header)": ("a, b,,c", ("a", "b", "c")),
    "missing claim": (None, ()),
    "an object is not a list of groups": ({"a": 1}, ()),
}


@pytest.mark.parametrize("case", GROUPS, ids=list(GROUPS))
def test_parse_groups(case: str) -> None:
    value, expected = GROUPS[case]
    assert parse_groups(value) == expected


rules = st.lists(st.builds(RoleRule, st.sampled_from(["a", "b", "c", "*"]),
                           st.sampled_from(["w1", "w2"]), st.sampled_from(list(Role))),
                 max_size=6)


@given(rules, st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4))
def test_grant_is_the_best_role_among_matching_rules_of_its_workspace(
        rules: list[RoleRule], groups: list[str]) -> None:
    grant = grant_for(rules, groups)
    matching = [r for r in rules if r.group == "*" or r.group in groups]
    expected = None if not matching else Grant(
        matching[0].workspace,
        max((r.role for r in matching if r.workspace == matching[0].workspace),
            key=lambda r: r.rank))
    assert grant == expected
