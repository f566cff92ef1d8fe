"""Durations as people type them (`10m`, `7d`, `1h30m`) and as tables show them."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from ..spec.errors import UserError
from ..spec.types import duration_seconds



class DurationError(UserError):
    pass


def parse_duration(text: str) -> dt.timedelta:
    """`90s`, `10m`, `1h30m`, `7d`, `2w` to a timedelta; anything else is a one-line error."""
    seconds = duration_seconds(text.strip().lower())
    if seconds is None:
        raise DurationError(f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 10m, 2h, 7d, 1h30m")
    return dt.timedelta(seconds=seconds)


def parse_time(text: Optional[str]) -> Optional[dt.datetime]:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def age(start: Optional[dt.datetime], now: dt.datetime) -> str:
    """Like kubectl: the two largest units, e.g. 3d4h, 12m5s, 40s."""
    if start is None:
        return "-"
    seconds = max(0, int((now - start).total_seconds()))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            rest = (seconds % size) // sub_size
            return f"{seconds // size}{unit}" + (f"{rest}{sub}" if rest else "")
    return f"{seconds}s"
