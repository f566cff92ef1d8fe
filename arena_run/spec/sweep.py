"""Hyperparameter sweeps: the grid's points and their stable names."""

from __future__ import annotations

import re
from typing import Mapping, NamedTuple, Sequence

# `{{ lr }}` in a command or an env value; names as in [sweep].
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_POINTS = 500


class Point(NamedTuple):
    """One job of a sweep: its parameter values and the suffix of its name."""

    params: Mapping[str, object]
    suffix: str

    def env(self) -> list[tuple[str, str]]:
        return [(f"ARENA_PARAM_{k.upper()}", format_value(v)) for k, v in sorted(self.params.items())]


def format_value(value: object) -> str:
    """How a parameter value reads inside a command: TOML's spelling of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def point_id(params: Mapping[str, object]) -> str:
    # A hash of the point's own values, not of its position in the grid, so
    # adding a value to a sweep never renames (and so never re-runs) the
    # points that already exist.  json keeps 1, 1.0, "1" and true apart.
    import hashlib
    import json

    canonical = json.dumps(dict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def count(sweep: Mapping[str, Sequence[object]]) -> int:
    n = 1
    for values in sweep.values():
        n *= len(values)
    return n


def points(sweep: Mapping[str, Sequence[object]]) -> list[Point]:
    """Points in grid order (the file's order of keys and values); none without a sweep."""
    if not sweep:
        return []
    import itertools

    keys = list(sweep)
    return [
        Point(params=dict(zip(keys, combo)), suffix=point_id(dict(zip(keys, combo))))
        for combo in itertools.product(*(sweep[k] for k in keys))
    ]


def substitute(text: str, params: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: format_value(params[m.group(1)]), text)


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)
