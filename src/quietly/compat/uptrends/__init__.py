"""Uptrends' maintenance-period API (``/compat/uptrends/v4/…``) over quietly's windows.

``routes`` serves the vendor paths, ``schemas`` the PascalCase bodies, ``convert`` turns them
into window fields and back, ``auth`` reads HTTP Basic (the password is a quietly API key) and
``errors`` answers every error as Uptrends' ``MessageList``.
"""

from quietly.compat.uptrends.routes import router

__all__ = ["router"]
