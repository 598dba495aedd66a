"""Target patterns of a scoped API key, and whether a window lies inside them.

A pattern is ``kind:glob``: the kind is written out (``service``, ``monitor``, ``group``) and
the id may use ``*`` for any run of characters, empty included — ``service:pay-*`` covers
``service:pay-`` and ``service:pay-api`` but not ``service:pay`` nor ``service:payments``.
There is no other wildcard and no escaping (target ids contain no ``*`` in practice, and a
literal ``*`` in a pattern could only ever widen it).

Matching is linear in the target's length: the pattern is split at its stars once, then the
first piece must be a prefix, the last a suffix, and the pieces in between are found left to
right (leftmost first is always right for ``*``-only globs, so nothing is ever retried).
Patterns are bounded (``MAX_PATTERNS`` per key, ``MAX_PATTERN_LENGTH`` characters,
``MAX_STARS`` stars each), so the work per target is bounded too.

A window is inside a scope when every target it names matches a pattern and every group it
names matches a ``group:`` pattern. A window with label conditions or ``all_targets`` is
outside every scope: what it covers depends on alerts nobody can list in advance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from quietly.core.errors import ValidationError

__all__ = [
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "MAX_STARS",
    "SCOPE_PATTERN",
    "Pattern",
    "compile_scope",
    "first_outside",
    "matches",
    "validate_scope",
]

MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 200
MAX_STARS = 4
_KIND = re.compile(r"[a-z][a-z0-9_]*")
# What an id may not contain: control characters and every space, spelled out so that the
# document's pattern means the same to every regex engine (`\s` differs between ECMA-262,
# which reads the document, and Python: \x1c-\x1f, \x85, \ufeff).
_NOT_ID = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BAD_ID_CHAR = re.compile(f"[{_NOT_ID}]")
_ID = f"[^{_NOT_ID}*]"
# The same rules as one regular expression, for the OpenAPI document (a kind, ':', an id of
# no spaces with at most MAX_STARS stars); the checks below give the precise messages.
SCOPE_PATTERN = (r"^[a-z][a-z0-9_]*:(\*" + _ID + r"*(\*" + _ID + r"*){0,"
                 + str(MAX_STARS - 1) + r"}|" + _ID + r"+(\*" + _ID + r"*){0,"
                 + str(MAX_STARS) + r"})$")


@dataclass(frozen=True, slots=True)
class Pattern:
    """One compiled pattern: its kind and the id's pieces between stars."""

    text: str
    kind: str
    pieces: tuple[str, ...]  # one piece: no star (an exact id)

    def matches(self, target: str) -> bool:
        kind, sep, ident = target.partition(":")
        if not sep or kind != self.kind:
            return False
        pieces = self.pieces
        if len(pieces) == 1:
            return ident == pieces[0]
        first, last = pieces[0], pieces[-1]
        if len(ident) < len(first) + len(last):
            return False
        if not ident.startswith(first) or not ident.endswith(last):
            return False
        pos, stop = len(first), len(ident) - len(last)
        for piece in pieces[1:-1]:
            found = ident.find(piece, pos, stop)
            if found < 0:
                return False
            pos = found + len(piece)
        return True


def _parse(text: str, field: str) -> Pattern:
    if len(text) > MAX_PATTERN_LENGTH:
        raise ValidationError(f"a pattern has at most {MAX_PATTERN_LENGTH} characters",
                              field=field)
    kind, sep, ident = text.partition(":")
    if not sep or not _KIND.fullmatch(kind):
        raise ValidationError(
            f"{text!r} is not a target pattern; write kind:id, e.g. 'service:checkout', "
            "'service:pay-*' or 'group:web-tier' (the kind is written out, '*' only in the id)",
            field=field)
    if not ident or _BAD_ID_CHAR.search(ident):
        raise ValidationError(f"{text!r} needs an id after '{kind}:' without spaces or "
                              "control characters "
                              "('*' alone covers every id of that kind)", field=field)
    if ident.count("*") > MAX_STARS:
        raise ValidationError(f"at most {MAX_STARS} '*' per pattern", field=field)
    return Pattern(text, kind, tuple(ident.split("*")))


def validate_scope(patterns: Sequence[str], field: str = "scope") -> tuple[str, ...]:
    """The patterns as stored (stripped, duplicates dropped, in order), or ValidationError
    naming ``field[i]``. An empty list means an unrestricted key."""
    if len(patterns) > MAX_PATTERNS:
        raise ValidationError(f"at most {MAX_PATTERNS} patterns per key; use '*' or a "
                              "group", field=field)
    seen: dict[str, None] = {}
    for i, raw in enumerate(patterns):
        text = raw.strip()
        _parse(text, f"{field}[{i}]")
        seen.setdefault(text, None)
    return tuple(seen)


@lru_cache(maxsize=1024)
def compile_scope(patterns: tuple[str, ...]) -> tuple[Pattern, ...]:
    """Compiled patterns (cached: a key's scope is compiled once per process)."""
    return tuple(_parse(text, "scope") for text in patterns)


def matches(patterns: tuple[str, ...], target: str) -> bool:
    """Whether ``target`` (``kind:id``) is inside the scope ``patterns``."""
    return any(p.matches(target) for p in compile_scope(patterns))


def first_outside(patterns: tuple[str, ...], *, targets: Iterable[str] = (),
                  groups: Iterable[str] = (), has_conditions: bool = False,
                  all_targets: bool = False) -> tuple[str, str] | None:
    """The first part of a window outside ``patterns``, as (field, what), or None when the
    whole window is inside. An empty ``patterns`` is no restriction."""
    if not patterns:
        return None
    if all_targets:
        return "all_targets", "all targets"
    if has_conditions:
        return "match", "label conditions"
    for i, target in enumerate(targets):
        if not matches(patterns, target):
            return f"targets[{i}]", target
    for i, group in enumerate(groups):
        if not matches(patterns, "group:" + group):
            return f"groups[{i}]", "group:" + group
    return None
