"""Target patterns of scoped keys (core.scopes): what matches, what is refused, and that the
matcher agrees with a reference glob on any input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quietly.core.errors import ValidationError
from quietly.core.scopes import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_STARS,
    SCOPE_PATTERN,
    first_outside,
    matches,
    validate_scope,
)

# (pattern, target, inside?)
MATCHING = [
    ("service:pay-*", "service:pay-x", True),
    ("service:pay-*", "service:pay-", True),  # '*' may be empty
    ("service:pay-*", "service:pay", False),
    ("service:pay-*", "service:payments", False),
    ("service:pay-*", "service:pay-api:v2", True),  # ids may contain ':'
    ("service:pay-*", "group:pay-x", False),  # the kind is part of the pattern
    ("service:pay-*", "monitor:pay-x", False),
    ("service:checkout", "service:checkout", True),
    ("service:checkout", "service:checkout-eu", False),
    ("service:checkout", "service:Checkout", False),  # ids are compared exactly
    ("service:*", "service:anything", True),
    ("service:*", "services:anything", False),
    ("group:web-tier", "group:web-tier", True),
    ("group:web-tier", "service:web-tier", False),
    ("group:web-*", "group:web-tier", True),
    ("service:*-canary", "service:pay-canary", True),
    ("service:*-canary", "service:pay-canary-2", False),
    ("service:db-*-eu", "service:db-1-eu", True),
    ("service:db-*-eu", "service:db-eu", False),  # prefix and suffix may not overlap
    ("service:a*b*c", "service:abc", True),
    ("service:a*b*c", "service:axxbyyc", True),
    ("service:a*b*c", "service:acb", False),
    ("monitor:42", "monitor:420", False),
]


@pytest.mark.parametrize(("pattern", "target", "inside"), MATCHING)
def test_matching(pattern: str, target: str, inside: bool) -> None:
    assert matches((pattern,), target) is inside


# (patterns, field of the error, a word of its message)
REFUSED = [
    (["checkout"], "scope[0]", "kind:id"),
    (["Service:checkout"], "scope[0]", "kind:id"),
    (["*:checkout"], "scope[0]", "kind:id"),
    (["service:"], "scope[0]", "needs an id"),
    (["service:a b"], "scope[0]", "without spaces"),
    (["service:ok", "service:" + "*" * (MAX_STARS + 1)], "scope[1]", "at most"),
    (["service:" + "x" * MAX_PATTERN_LENGTH], "scope[0]", "characters"),
    ([f"service:s{i}" for i in range(MAX_PATTERNS + 1)], "scope", "at most"),
]


@pytest.mark.parametrize(("patterns", "field", "word"), REFUSED)
def test_bad_patterns_are_refused_naming_the_field(patterns: list[str], field: str,
                                                   word: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_scope(patterns)
    assert (caught.value.field, word in caught.value.message) == (field, True)


def test_patterns_are_stripped_and_deduplicated_in_order() -> None:
    assert validate_scope([" service:b ", "service:a", "service:b"]) == (
        "service:b", "service:a")


# (window parts, first part outside "service:pay-*" + "group:web-tier")
WINDOWS = [
    ({"targets": ["service:pay-api", "service:pay-db"]}, None),
    ({"targets": ["service:pay-api", "service:checkout"]}, ("targets[1]", "service:checkout")),
    ({"groups": ["web-tier"]}, None),
    ({"groups": ["db-tier"]}, ("groups[0]", "group:db-tier")),
    ({"targets": ["service:pay-api"], "has_conditions": True}, ("match", "label conditions")),
    ({"all_targets": True}, ("all_targets", "all targets")),
]


@pytest.mark.parametrize(("parts", "outside"), WINDOWS)
def test_a_window_is_inside_only_when_every_part_is(parts: dict[str, object],
                                                    outside: tuple[str, str] | None) -> None:
    assert first_outside(("service:pay-*", "group:web-tier"), **parts) == outside  # type: ignore[arg-type]


def test_an_empty_scope_is_no_restriction() -> None:
    assert first_outside((), all_targets=True, has_conditions=True) is None


_ALPHABET = "ab-*"


def _reference(pattern: str, target: str) -> bool:
    kind, _, glob = pattern.partition(":")
    regex = re.escape(kind) + ":" + ".*".join(re.escape(p) for p in glob.split("*"))
    return re.fullmatch(regex, target, re.DOTALL) is not None


@given(glob=st.text(alphabet=_ALPHABET, min_size=1, max_size=12).filter(
           lambda g: g.count("*") <= MAX_STARS),
       ident=st.text(alphabet="ab-:", min_size=0, max_size=16),
       kind=st.sampled_from(["service", "group"]))
def test_matching_agrees_with_a_reference_glob(glob: str, ident: str, kind: str) -> None:
    pattern = "service:" + glob
    target = f"{kind}:{ident}"
    assert matches((pattern,), target) == _reference(pattern, target)


@given(text=st.text(alphabet="sa:*- Z_1\t", min_size=0, max_size=20))
def test_the_openapi_pattern_agrees_with_the_checks(text: str) -> None:
    try:
        validate_scope([text])
        valid = text == text.strip()  # the API refuses what the pattern refuses, unstripped
    except ValidationError:
        valid = False
    assert (re.match(SCOPE_PATTERN, text) is not None) == valid


@pytest.mark.parametrize("char", ["\x1c", "\x1f", "\x85", "\xa0", "\u2003", "\ufeff", "\x7f"])
def test_control_and_space_characters_are_refused_by_the_check_and_the_document(
        char: str) -> None:
    # `\s` means different things to ECMA-262 (which reads the document) and Python; the
    # pattern spells the characters out so that both agree with the check.
    pattern = f"service:pay{char}x"
    with pytest.raises(ValidationError):
        validate_scope([pattern])
    assert re.fullmatch(SCOPE_PATTERN, pattern) is None
