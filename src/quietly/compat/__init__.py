"""Compatibility APIs: each vendor's maintenance-window API served over quietly's one store.

One package per vendor, every package the same shape: ``routes`` (an APIRouter at
``/compat/<vendor>``), ``schemas`` (pydantic models in the vendor's field names), ``convert``
(``to_fields`` / ``from_record``: vendor shapes never reach ``core``) and ``errors`` (the
vendor's own error body, registered with ``api.problems.register_error_renderer``).
"""
