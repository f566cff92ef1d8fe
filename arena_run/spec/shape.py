"""Limits on the shape of a parsed file, checked before the models see it.

An experiment file is a shallow tree: its deepest real key
(`job.roles.worker.node_selector.KEY`) is five levels down, and no list needs
more than a few hundred items (a sweep has at most 500 points).  Far past
that, a file is a mistake or an attack, and every recursive consumer after
the parser (the models, the locator) would pay for it in time, memory or a
RecursionError.  One walk with an explicit stack visits each node once.

The same walk refuses what TOML cannot say and JSON (so the schema) cannot
either: YAML's null, and the non-finite floats nan and inf.
"""

from __future__ import annotations

import math
from typing import Iterator

from .errors import KeyPath

MAX_DEPTH = 16
MAX_ITEMS = 1000


def problems(data: object) -> Iterator[tuple[KeyPath, str]]:
    """(path, message) for each node that breaks a limit; nothing below a node too deep or too wide."""
    stack: list[tuple[KeyPath, object]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if node is None:
            # A key is set or left out, as in TOML; YAML's `key:` with nothing is neither.
            yield path, "null is not a value: leave the key out instead"
        elif isinstance(node, float) and not math.isfinite(node):
            yield path, f"{node} is not a finite number"
        elif isinstance(node, (dict, list)):
            if len(path) >= MAX_DEPTH:
                yield path, f"nested more than {MAX_DEPTH} levels deep; an experiment file needs at most 5"
            elif len(node) > MAX_ITEMS:
                what = "keys" if isinstance(node, dict) else "items"
                yield path, f"has {len(node):,} {what}; at most {MAX_ITEMS:,} are allowed"
            else:
                items = node.items() if isinstance(node, dict) else enumerate(node)
                stack += reversed([(path + (k,), v) for k, v in items])
