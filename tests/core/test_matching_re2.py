"""Regex matchers run on RE2: linear time, Alertmanager's dialect, refused constructs named.

Issue #14 point 1: ``a =~ "(a|aa)+$"`` against forty ``a`` then ``b`` took 10 s with Python's
backtracking ``re``; RE2 answers in time linear in the value.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from quietly.core.errors import ValidationError
from quietly.core.matching import (
    RESULT_CACHE_SIZE,
    compile_matcher,
    regex_engine,
    regex_fullmatch,
)
from quietly.core.model import Matcher, MatcherOp


def test_the_engine_is_re2() -> None:
    assert regex_engine() == "re2"


def test_a_pathological_pattern_is_linear_in_a_child_process() -> None:
    # Exponential under backtracking: forty "a" took 10 s, so 60 would take days. The bound
    # is generous on purpose (a loaded CI machine); what matters is that it ends at all.
    code = textwrap.dedent("""
        from quietly.core.matching import compile_matcher
        from quietly.core.model import Matcher, MatcherOp
        test = compile_matcher(Matcher("a", MatcherOp.RE, "(a|aa)+$"))
        print(test({"a": "a" * 60 + "b"}), test({"a": "a" * 60}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "True"]


REFUSED = [
    ("look-ahead", "(?=db)db-.*", "invalid perl operator: (?="),
    ("look-behind", "(?<!x)db", "invalid perl operator: (?<"),
    ("back-reference", r"(a)\1", r"invalid escape sequence: \1"),
    ("python end anchor", r"db\Z", r"invalid escape sequence: \Z"),
    ("repetition over 1000", "a{1001}", "invalid repetition size: {1001}"),
    ("unbalanced", "db-(", "missing ): db-("),
    ("escaping the anchoring group", "a)|(b", "unexpected ): a)|(b"),
]


@pytest.mark.parametrize(("case", "pattern", "construct"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_re2_refuses_is_a_validation_error_naming_the_construct(
        case: str, pattern: str, construct: str) -> None:
    with pytest.raises(ValidationError) as raised:
        compile_matcher(Matcher("svc", MatcherOp.RE, pattern), field="match[0][1]")
    assert (raised.value.field, construct in str(raised.value)) == ("match[0][1].value", True)


def test_a_refused_pattern_writes_nothing_to_stderr() -> None:
    # RE2 logs parse errors through absl unless told not to.
    code = ("from quietly.core.matching import regex_fullmatch\n"
            "try:\n    regex_fullmatch('(?=a)b')\nexcept ValueError:\n    print('refused')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert (done.stdout.strip(), done.stderr) == ("refused", "")


SEMANTICS = [
    # (pattern, value, matches): fully anchored, Go/RE2 dialect.
    ("db-.*", "db-1", True),
    ("db-.*", "xdb-1", False),
    ("db-.*", "db-1\n", False),  # "." does not match a newline, and no trailing-$ leniency
    ("(?i)prod", "PROD", True),
    (r"\pL+", "größe", True),
    ("[[:digit:]]+", "123", True),
    (".", "\ud800", True),  # a lone surrogate reads as one character (U+FFFD), no error
]


@pytest.mark.parametrize(("pattern", "value", "matches"), SEMANTICS)
def test_semantics(pattern: str, value: str, matches: bool) -> None:
    assert regex_fullmatch(pattern)(value) is matches


def test_the_result_cache_stays_bounded_and_correct() -> None:
    test = regex_fullmatch("v-[0-9]+-cache-test")
    values = [f"v-{i}-cache-test" for i in range(RESULT_CACHE_SIZE * 2)]
    assert ([test(v) for v in values], [test(v + "x") for v in values]) == (
        [True] * len(values), [False] * len(values))
