"""``quietly.logs``: loggers that import structlog on first use and then log as structlog's."""

from __future__ import annotations

import subprocess
import sys

from structlog.testing import capture_logs

from quietly.logs import get_logger


def test_a_lazy_logger_logs_as_structlog_with_its_configuration_at_the_call() -> None:
    log = get_logger("quietly.test")
    with capture_logs() as first:
        log.warning("one", n=1)
    with capture_logs() as second:
        log.info("two", n=2)
        log.bind(k="v").error("three")
    assert (first, second) == (
        [{"event": "one", "n": 1, "log_level": "warning"}],
        [{"event": "two", "n": 2, "log_level": "info"},
         {"event": "three", "k": "v", "log_level": "error"}])


def test_serving_imports_no_structlog_before_the_first_line() -> None:
    """What ``quietly serve`` imports before it is ready leaves structlog (and with it
    ``rich``) out; the first use of a logger imports it."""
    code = ("import sys; import quietly.cli, quietly.api.app, quietly.api.server; "
            "before = 'structlog' in sys.modules or 'rich' in sys.modules; "
            "from quietly.api.app import log; log.bind; "
            "print(before, 'structlog' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]
