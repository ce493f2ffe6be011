"""Moments in messages: a wall-clock time a person reads, and how long ago (or ahead) it is.

Raw epoch seconds (`since 1796412770`) tell a reader nothing; a lock held
"since 2026-12-05 10:12:50 UTC (3 min 20 s ago)" tells whether to wait.
"""
from __future__ import annotations

import time


def span(seconds: float) -> str:
    """A duration in the largest units that fit, two at most: `45 s`, `3 min 20 s`, `2 h 5 min`."""
    whole = int(round(abs(seconds)))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2])


def moment(epoch: float, now: float | None = None) -> str:
    """`epoch` as a UTC date and time, with its distance from `now` (default: the clock)."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
    distance = now - epoch
    if abs(distance) < 0.5:
        return f"{stamp} (now)"
    return f"{stamp} ({span(distance)} {'ago' if distance > 0 else 'from now'})"
