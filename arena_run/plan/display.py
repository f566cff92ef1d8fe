"""Field values as a plan shows them: long ones cut around where old and new differ.

A long command whose `--lr 0.1` became `--lr 0.2` must not print as two
identical truncated strings: both sides show the same window, placed so that
it holds the first difference.
"""

from __future__ import annotations

import json
from typing import Any

from .diff import MISSING

WIDTH = 120  # characters of a value shown, elision marks included
BEFORE = 40  # characters of common text kept before the first difference
ELLIPSIS = "…"


def text(value: Any, quote: bool = True) -> str:
    """JSON; strings unquoted when quote is False (inside Markdown code spans)."""
    if value is MISSING:
        return "(absent)"
    if isinstance(value, str) and not quote:
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def shown_pair(old: Any, new: Any, width: int = WIDTH, quote: bool = True) -> tuple[str, str]:
    """(old, new) as shown: whole when short, else the same window of each around their first difference."""
    a, b = text(old, quote), text(new, quote)
    if len(a) <= width and len(b) <= width:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, min(first - BEFORE, max(len(a), len(b)) - width))
    return _window(a, start, width), _window(b, start, width)


def _window(s: str, start: int, width: int) -> str:
    head = ELLIPSIS if start > 0 else ""
    if start >= len(s):
        return head
    room = width - len(head)
    if len(s) - start <= room:
        return head + s[start:]
    return head + s[start:start + room - 1] + ELLIPSIS
