"""incident.io compatibility API (``/compat/incidentio/v1/maintenance_windows``).

incident.io documents Create; List, Show, Update and Archive follow its public API reference
(MaintenanceWindowsV1) and the documented create shape:

- Create answers 201 ``{"maintenance_window": {…}}``; Show and Update (PUT, which replaces the
  window and takes the create payload) answer 200 in the same envelope; Archive is
  ``DELETE /v1/maintenance_windows/{id}`` → 204 and refuses an active window (as incident.io
  does: end it first by moving ``end_at``); an archived window is no longer found.
- List: ``{"maintenance_windows": […], "pagination_meta": {"after", "page_size"}}`` with
  incident.io's ``page_size`` (1-250, default 25), ``after`` (the last id of the previous
  page) and ``status`` (``active``, ``upcoming``, ``past``; cancelled windows are past).
- Ids are quietly's window ids as strings; unknown or non-numeric ids are 404 ``not_found``.
- Errors: incident.io's ``{"type", "status", "request_id", "errors": [{"code", "message",
  "source": {"field"}}]}`` — 422 ``validation_error`` (``is_required`` / ``invalid_value``),
  401 ``authentication_error``, 404 ``not_found``, 400 for an unreadable body.
- Date-times without an offset are read in the workspace's zone. An empty
  ``alert_condition_groups`` list covers every alert.
- Visible here: windows scoped by condition groups, or covering every alert. A native
  recurring window shows its running, else next, else first occurrence; the lead of a window
  made without one is the API key that created it.
"""

from quietly.compat.incidentio.errors import render_error
from quietly.compat.incidentio.routes import router

__all__ = ["render_error", "router"]
