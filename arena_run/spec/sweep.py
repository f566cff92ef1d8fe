"""Hyperparameter sweeps: the grid's points and their stable names."""

from __future__ import annotations

import re
from typing import Mapping, NamedTuple, Sequence

# `{{ lr }}` in a command or an env value; names as in [sweep].
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_POINTS = 500
# Hex digits of a point's name suffix.  32 bits collide now and then (p = 74071
# and p = 79346 do); the points of a grid that share their short id take the
# long one instead, so every other name stays as it always was.
SHORT_ID = 8
LONG_ID = 16


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


def canonical(params: Mapping[str, object]) -> str:
    """A point's identity: json keeps 1, 1.0, "1" and true apart."""
    import json

    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


def point_id(params: Mapping[str, object], digits: int = SHORT_ID) -> str:
    # A hash of the point's own values, not of its position in the grid, so
    # adding a value to a sweep never renames (and so never re-runs) the
    # points that already exist.
    import hashlib

    return hashlib.sha256(canonical(params).encode()).hexdigest()[:digits]


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
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(sweep[k] for k in keys))]
    short = [point_id(params) for params in grid]
    taken: dict[str, int] = {}
    for ident in short:
        taken[ident] = taken.get(ident, 0) + 1
    return [
        Point(params=params, suffix=ident if taken[ident] == 1 else point_id(params, LONG_ID))
        for params, ident in zip(grid, short)
    ]


def substitute(text: str, params: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: format_value(params[m.group(1)]), text)


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)
