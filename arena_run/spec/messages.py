"""Pydantic's validation errors, reworded for people who write arena.toml.

Pydantic speaks of "Input should be a valid integer"; a user wants to hear
which key is wrong, what it holds, and what would be right.
"""

from __future__ import annotations

import datetime as dt
import difflib
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from . import types as t
from .errors import KeyPath, shown
from .model import Experiment, GIT_REF_RE, GIT_URL_RE, MODEL_NAME_RE, RSYNC_SOURCE_RE

_PATTERNS = {
    t.DNS1035_LABEL_RE: "must be a lowercase DNS label: a-z, 0-9 and '-', starting with a letter",
    t.DNS1123_LABEL_RE: "must be a lowercase DNS label: a-z, 0-9 and '-'",
    t.DNS1123_SUBDOMAIN_RE: "must be a lowercase Kubernetes name: a-z, 0-9, '-' and '.'",
    t.ABS_PATH_RE: "must be an absolute path",
    t.ENV_NAME_RE: "is not an environment variable name",
    t.SWEEP_PARAM_RE: "sweep parameters are lowercase identifiers: a-z, 0-9 and '_'",
    t.LABEL_KEY_RE: "is not a label key",
    t.LABEL_VALUE_RE: "is not a label value: up to 63 of A-Z, a-z, 0-9, '-', '_' and '.'",
    GIT_URL_RE: "is not a git URL (https://..., ssh://... or user@host:path)",
    GIT_REF_RE: "is not a git branch, tag or commit: no leading '-' or '+', no spaces, no ~ ^ : ? * [ or \\",
    RSYNC_SOURCE_RE: "must not start with '-': rsync would read it as an option",
    MODEL_NAME_RE: "is not a model name: letters, digits, '_', '-' and '.'",
}

_TYPES = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def kind(value: Any, fmt: str) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping" if fmt == "yaml" else "a table"
    if isinstance(value, list):
        return "a list" if fmt == "yaml" else "an array"
    if value is None:
        return "null"
    # YAML's other tags: what the user wrote, not the Python type it became.
    if isinstance(value, (bytes, bytearray)):
        return "binary data (!!binary)"
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return "a date" if type(value) is dt.date else "a time" if isinstance(value, dt.time) else "a timestamp"
    if isinstance(value, (set, frozenset)):
        return "a set (!!set)"
    return "a value of another kind"


def describe(err: ErrorDetails, path: KeyPath, fmt: str) -> str:
    typ, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if typ == "extra_forbidden":
        return _unknown_key(path)
    if typ == "missing":
        return f"missing required key {path[-1]!r}"
    if typ in _TYPES:
        want = _TYPES[typ]
        if fmt == "yaml":
            want = want.replace("an array", "a list").replace("a table", "a mapping")
        got = f"expected {want}, got {kind(value, fmt)}"
        if isinstance(value, bool):
            return got + f" ({'true' if value else 'false'})" + (": quote it if you meant a string" if want == "a string" else "")
        return got + (f" {shown(value)}" if _scalar(value) else "")
    if typ == "string_pattern_mismatch":
        return f"{shown(value)} {_PATTERNS.get(str(ctx.get('pattern')), 'is not valid here')}"
    if typ == "literal_error":
        expected = str(ctx.get("expected"))
        same = [w.strip("'") for w in expected.replace(" or ", ", ").split(", ")
                if isinstance(value, str) and w.strip("'").lower() == value.lower()]
        hint = f"; did you mean {same[0]!r}?" if same else ""
        return f"{shown(value)} is not one of {expected}{hint}"
    if typ in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}, got {shown(value)}"
    if typ in ("greater_than_equal", "greater_than"):
        word = "at least" if typ == "greater_than_equal" else "more than"
        return f"must be {word} {ctx.get('ge', ctx.get('gt'))}, got {shown(value)}"
    if typ == "string_too_short":
        return "must not be empty"
    if typ == "too_short":
        return "must not be empty"
    if typ == "string_too_long":
        said = shown(value)
        if said.endswith(" characters)"):  # cut short, and already says how long
            return f"{said}; at most {ctx.get('max_length')}"
        return f"{said} is {len(str(value))} characters; at most {ctx.get('max_length')}"
    msg: str = err["msg"]
    return msg.removeprefix("Value error, ")


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _unknown_key(path: KeyPath) -> str:
    key = path[-1]
    allowed = allowed_keys(path[:-1])
    hint = suggest(str(key), allowed)
    if hint:
        return f"unknown key {shown(key)}; did you mean {hint!r}?"
    if allowed:
        return f"unknown key {shown(key)}; expected one of: {', '.join(allowed)}"
    return f"unknown key {shown(key)}"


# Words people use for the same thing: model_dir means model_path.
_SYNONYMS = {"dir": "path", "directory": "path", "folder": "path", "gpu": "gpus", "cpus": "cpu", "mem": "memory"}


def suggest(key: str, allowed: list[str]) -> str | None:
    """The allowed key a typo most likely meant.

    A key that contains an allowed one as a word, or is a prefix of one,
    wins over mere spelling likeness: `mount_path` means `mount`, not
    `host_path`, and `gpu` means `gpus`.
    """
    if not allowed:
        return None
    low = key.lower()
    words = {_SYNONYMS.get(w, w) for w in low.replace("-", "_").split("_")}

    def score(candidate: str) -> tuple[bool, int, float]:
        related = candidate in words or low.startswith(candidate) or candidate.startswith(low)
        shared = len(words & {_SYNONYMS.get(w, w) for w in candidate.split("_")})
        return related, shared, difflib.SequenceMatcher(None, low, candidate).ratio()

    best = max(allowed, key=score)
    related, _, ratio = score(best)
    return best if related or ratio >= 0.6 else None


def allowed_keys(path: KeyPath) -> list[str]:
    """The keys the models accept in the table at path."""
    model = _model_at(path)
    return list(model.model_fields) if model else []


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    current: Any = Experiment
    for item in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(item, str) or item not in current.model_fields:
                return None
            current = current.model_fields[item].annotation
        else:
            # list[...] or dict[...]: step into the item type.
            args = typing.get_args(current)
            if not args:
                return None
            current = args[-1]
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin is typing.Union:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
