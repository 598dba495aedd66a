"""PagerTree compatibility API (``/compat/pagertree/api/v4/maintenance_windows``).

Choices where PagerTree's document is silent, each following PagerTree's public API or Rails:

- Bodies: the object itself, no envelope (Rails ``render json:``); create answers 201, the
  others 200; delete answers 200 with the window as it was before deletion.
- Lists: PagerTree's documented pagination — ``limit`` (1-100, default 10) with ``offset`` or
  ``page`` — and envelope ``{"data": […], "has_more": …, "total_count": …}``, oldest first.
- Errors: PagerTree's documented ``{"errors": [{"message": …}], "code": <status>}`` for every
  4xx/503 under this prefix; validation failures are 422 with Rails-style messages
  ("name can't be blank"); an unknown or non-numeric id is 404.
- Unknown parameters are ignored (Rails ``permit``); a body wrapped in
  ``{"maintenance_window": {…}}`` is accepted too.
- ``time_zone`` takes Rails names ("Eastern Time (US & Canada)") and IANA names; naive
  date-times are read in it; the name is echoed as sent. Times are rendered like Rails
  (ISO 8601 with milliseconds, in the window's zone).
- Only windows with at least one ``integration:`` target are visible here. A recurring window
  made natively shows its running, else next, else first occurrence; a PUT that moves it
  needs both date-times and turns it into a one-time window.
"""

from quietly.compat.pagertree.errors import render_error
from quietly.compat.pagertree.routes import router

__all__ = ["render_error", "router"]
