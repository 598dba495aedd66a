"""The domain's exception tree.

    QuietlyError
     ├── ValidationError        bad input; names the field and the rule (→ 4xx)
     │    └── ScheduleError     a schedule that cannot be evaluated (bad zone, bad rule,
     │                          impossible rule, end not after start, …)
     ├── NotFound               no such object in this workspace (→ 404)
     ├── Conflict               the object exists but its state forbids the change (→ 409)
     ├── Forbidden              the caller may see the object but not change it: a scoped
     │                          key and a target outside its scope (→ 403)
     └── Unavailable            the store cannot be reached; retrying later can help (→ 503)

Every error carries ``field`` (a dotted path such as ``schedule.rrule``, or ``None`` when the
error is about the request as a whole) and a message written for the person who sent it.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Forbidden",
    "NotFound",
    "QuietlyError",
    "ScheduleError",
    "Unavailable",
    "ValidationError",
]


class QuietlyError(Exception):
    """Base of every error quietly raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationError(QuietlyError):
    """The input breaks a rule; the message names the field and the rule."""


class ScheduleError(ValidationError):
    """A schedule that cannot be evaluated as given."""


class NotFound(QuietlyError):
    """No such object in the caller's workspace."""


class Conflict(QuietlyError):
    """The object's current state forbids the change (e.g. a completed window is immutable)."""


class Forbidden(QuietlyError):
    """The caller's key may not make this change (outside its scope); retrying cannot help."""


class Unavailable(QuietlyError):
    """The store is unreachable; the same request may succeed later."""
