"""Hyperparameter sweeps: the grid's points and their stable names."""

from __future__ import annotations

import re
from typing import Mapping, NamedTuple, Sequence

from .floats import spelled

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


# JSON's number grammar (RFC 8259): TOML's floats less a leading `+`; not YAML's `.5` or `5.`.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def format_value(value: object) -> str:
    """How a parameter value reads inside a command: as the file spells it.

    A float as written (`1e-5`, `0.10`; floats.py), a boolean as TOML's
    `true`, an integer in decimal (`0x10` is 16: the script parses decimals).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return spelled(value)
    return str(value)


def canonical(params: Mapping[str, object]) -> str:
    """A point's identity: json keeps 1, 1.0, "1" and true apart.

    json spells every float as Python does, whatever the file said: `1e-5` and
    `0.00001` are one point with one name, and respelling a value renames
    (and so re-runs) nothing.
    """
    import json

    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


def params_json(params: Mapping[str, object]) -> str:
    """A point's values as JSON for its job's annotation (`status` shows it), floats spelled as written.

    canonical()'s text but for the floats, which keep the file's spelling where
    it is a JSON number (a leading `+` dropped); else Python's (`.5` is 0.5).
    """
    import json

    def value(v: object) -> str:
        if isinstance(v, float) and not isinstance(v, bool):
            text = spelled(v).removeprefix("+")
            if _JSON_NUMBER.fullmatch(text):
                return text
        return json.dumps(v)

    return "{" + ",".join(f"{json.dumps(k)}:{value(params[k])}" for k in sorted(params)) + "}"


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
