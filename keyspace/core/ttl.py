"""TTL values: seconds, timedeltas and short durations such as ``7d`` or ``12h``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")


def ttl_seconds(value: int | float | timedelta | None, *, what: str = "ttl") -> int | None:
    """Normalise a TTL declaration to whole seconds (None means persistent).

    Redis expiries are whole seconds here (EXPIRE), so fractions are refused
    rather than rounded silently, and zero or negative TTLs (which would delete
    the key on write) are refused too.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be seconds, a timedelta or None, not a bool")
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance(seconds, int | float):
        raise ValueError(f"{what} must be seconds, a timedelta or None")
    if seconds != int(seconds):
        raise ValueError(f"{what} must be a whole number of seconds, got {seconds}")
    if seconds <= 0:
        raise ValueError(f"{what} must be positive (use None for persistent keys), got {seconds}")
    return int(seconds)


def parse_duration(text: str, *, what: str = "duration") -> int | None:
    """``30``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds; ``none``/``persistent`` -> None."""
    if text.strip().lower() in {"none", "persistent", "never"}:
        return None
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"{what}: {text!r} is not a duration (use e.g. 90s, 15m, 12h, 7d, 2w or none)")
    return ttl_seconds(int(found.group(1)) * _UNITS[found.group(2) or "s"], what=what)


def format_duration(seconds: int | str | None) -> str:
    """The shortest exact spelling of a TTL: 86400 -> ``1d``; None -> ``none``; ``"keep"`` -> ``keep``
    (the policy that never changes a key's TTL: keyspace.core.model)."""
    if seconds is None:
        return "none"
    if isinstance(seconds, str):
        return seconds
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
