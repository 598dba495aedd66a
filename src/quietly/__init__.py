"""quietly — self-hosted maintenance windows."""

import zoneinfo

__version__ = "0.1.0"

# Zone rules come from the tzdata package, never from the host: Debian's system data lags
# (2025b vs the package's 2026f here), and occurrences must not change with the machine.
zoneinfo.reset_tzpath(to=[])
zoneinfo.ZoneInfo.clear_cache()
