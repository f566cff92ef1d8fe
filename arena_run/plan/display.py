"""Field values as a plan shows them: long ones cut around where old and new differ.

A long command whose `--lr 0.1` became `--lr 0.2` must not print as two
identical truncated strings: both sides show the same window, placed so that
it holds the first difference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .diff import MISSING

if TYPE_CHECKING:
    from .build import Plan

SIGN = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "defer": "!", "keep": "=", "unchanged": "="}
WORD = {"create": "to create", "update": "to update", "replace": "to replace", "delete": "to delete",
        "defer": "deferred until the job ends", "keep": "kept", "unchanged": "unchanged"}


def summary(plan: Plan) -> str:
    """"2 to create, 1 unchanged": each operation's count, in the plan's order of operations."""
    counts = plan.counts()
    return ", ".join(f"{counts[op]} {WORD[op]}" for op in WORD if counts.get(op))


def rows(plan: Plan) -> list[list[str]]:
    """(sign, object, what changes) per object the CLI's plan lists (all but the unchanged: a deferred
    replacement too), then one row per field: `path: old → new`."""
    out = []
    for action in (a for a in plan.actions if a.op != "unchanged"):
        out.append([SIGN[action.op], f"{action.kind} {action.name}", action.reason])
        for c in action.changes:
            old, new = shown_pair(c.old, c.new)
            out.append(["", "", f"{c.path}: {old} → {new}"])
    return out

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
