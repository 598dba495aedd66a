"""Oh Dear's maintenance API (``/compat/ohdear/api/…``) over quietly's windows.

``routes`` serves the vendor paths (Bearer keys, as Oh Dear), ``schemas`` the bodies,
``convert`` turns them into window fields and back, ``generation`` keeps recurring definitions
and their generated periods, ``pagination`` the Laravel list envelope, and ``errors`` answers
every error as Laravel does.
"""

from quietly.compat.ohdear.routes import router

__all__ = ["router"]
