"""The pure domain: no database, HTTP or framework imports; time is always passed in."""
