"""Times as Kubernetes writes them (RFC 3339 in UTC, `2024-05-01T12:00:00Z`), read and written once;
ages as kubectl shows them.

The API server writes seconds (metav1.Time); the CRI and some controllers add
fractions (`...:00.123456789Z`), which Python before 3.11 cannot read past
microseconds, so they are cut there.  Every time read is timezone-aware.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(text: Optional[str]) -> Optional[dt.datetime]:
    """An aware datetime from an RFC 3339 time, None for none; ValueError for text that is not one."""
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    """`2024-05-01T12:00:00Z`: to the second, in UTC, as metav1.Time writes it."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> dt.datetime:
    """This moment in UTC, to the second (what a time written now reads back as)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


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
