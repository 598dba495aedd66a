"""The native REST API at /api/v1 (DESIGN §4a)."""
