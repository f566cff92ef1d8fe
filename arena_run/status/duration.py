"""Durations as people type them (`10m`, `7d`, `1h30m`); as tables show them: arena_run.objects.times.age."""

from __future__ import annotations

import datetime as dt

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
