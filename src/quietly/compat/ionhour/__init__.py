"""Ionhour compatibility API (``/compat/ionhour/api/maintenance-windows``).

Ionhour's API is a NestJS application; where its document is silent this package does what
NestJS does by default, or what a user of that API would expect:

- Bodies: the window object itself (no envelope), camelCase, times as JavaScript's
  ``toISOString()`` (UTC with milliseconds). Every window carries ``projectIds`` and its target
  projects as ``projects: [{"id": …}]``, and its ``state`` in upper case.
- Status codes: create 201 (NestJS's POST default); cancel 200 with the cancelled window;
  delete 200 with the window as it was; list 200 with a plain array (no pagination: Ionhour
  documents none), oldest first.
- Errors: NestJS's ``{"statusCode", "message", "error"}``. Validation failures are 400 with a
  list of class-validator-style messages; updating a non-SCHEDULED window or cancelling a
  COMPLETED/CANCELLED one is 400 naming the state; a ``workspaceId`` other than the API key's
  workspace is 404 (another workspace's existence is never revealed); unknown ids are 404.
- Unknown properties are ignored. ``suppressAlerts`` and ``suppressIncidents`` both false is
  refused (the window would do nothing).
- Only windows with at least one ``project:<number>`` target are visible here. A recurring
  window made natively with a non-cron rule shows ``recurringCron: null`` and its running,
  next or first occurrence.
"""

from quietly.compat.ionhour.errors import render_error
from quietly.compat.ionhour.routes import router

__all__ = ["render_error", "router"]
