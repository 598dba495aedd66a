"""Pausing the cyclic garbage collector while a bulk write builds its objects.

A batch of 10,000 windows allocates a few hundred thousand container objects that all live
until the response (request models, domain records, rows, index entries): the collector
would walk them again and again — a third of a bulk create's time in a process holding a
large index. None of them form cycles that need the collector; collection resumes as soon
as the last overlapping pause ends (process-wide, for well under a second a batch).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the collector off while the block runs; overlapping pauses (two batches in
    flight, from any thread) nest, and it is switched back on only if it was on before."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
