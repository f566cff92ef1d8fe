"""Durations as people type them (`10m`, `7d`, `1h30m`) and as tables show them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from ..spec.errors import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")


class DurationError(UserError):
    pass


def parse_duration(text: str) -> dt.timedelta:
    """`90s`, `10m`, `1h30m`, `7d`, `2w` to a timedelta; anything else is a one-line error."""
    t = text.strip().lower()
    if not t or _PART.sub("", t) or not _PART.findall(t):
        raise DurationError(f"{text!r} is not a duration: use a number and a unit, e.g. 30s, 10m, 2h, 7d, 1h30m")
    return dt.timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(t)))


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
