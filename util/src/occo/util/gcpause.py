"""Pausing the cyclic garbage collector while data is built, safely when threads overlap.

Loading a large YAML file makes many objects and frees none, so each collection the
allocations set off meanwhile is wasted work: without the pause bench/compile.py's
10,000-node description loads in about twice the time. The collector belongs to the
whole process, so the pauses are counted under a lock: the first to begin switches it
off, the last to end switches it back on, and only if it was on when the first began.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0             # pauses begun and not yet ended, in every thread
_resume = False         # whether the collector was on when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (nor in other threads meanwhile)."""
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
