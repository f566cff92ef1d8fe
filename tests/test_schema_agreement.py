"""The JSON Schema and the models give the same verdict on every file.

Files are generated from the schema itself: each table with some of its keys
(now and then an unknown one), each value either one the key's type takes
(enum members, strings near its pattern, numbers near its bounds) or an edge
of another kind (2.0 for a count, "ab\\n" for a name, a list for a string).
Each document is written as TOML or YAML and read back with `parse` (the data
both judges see), then judged by jsonschema and by the models.

What only rules.py knows (a logdir under a mount, `..` in a path) is no
part of either verdict here; the schema's "exactly one of git and rsync"
(which rules.py checks) is kept true by the generator.
"""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml
from hypothesis import assume, given, note
from hypothesis import strategies as st
from pydantic import ValidationError

from arena_run.spec.errors import SpecError
from arena_run.spec.load import Document, parse
from arena_run.spec.model import Experiment
from arena_run.spec.schema import json_schema

from .experiments import to_toml
from .test_properties import PROFILE

SCHEMA = json_schema()
DEFS = SCHEMA["$defs"]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

STRINGS = [
    "", "x", "ab", "ab\n", "a-b", "a.b", "A", "1a", "-a", "a" * 64, "/data", "/data\n", "data", "//d", "/d/../e",
    "1h30m", "90s", "7d", "1h\n", "16Gi", "500m", "0.5", "4", "4\n", "-1", "1e3", "Always", "always",
    "https://github.com/a/b.git", "git@github.com:a/b.git", "https://x\n", "s3://b/m", "pvc://c/m",
    "example.com/key", "a/b/c", "ENV_1", "1ENV", "{{lr}}", "tensorflow", "1979-05-27",
]
KEYS = ["A", "ENV_1", "1ENV", "lr", "Lr", "batch_size", "example.com/key", "a/b/c", "k\n", "x" * 70, "-a"]
INTS = [-1, 0, 1, 2, 3, 63, 64, 500, 2**31 - 1, 2**31, 10**20]
FLOATS = [0.0, 1.0, 2.0, 2.5, -1.0, 0.5, 1e-5, 1e300, 3e9]
OTHER = st.sampled_from([True, False, [], {}, ["x"], {"a": 1}] + INTS[:3] + FLOATS[:4] + STRINGS[:4])



def mostly(good: st.SearchStrategy, other: st.SearchStrategy, odds: int) -> st.SearchStrategy:
    """good, with other once in odds draws (one_of would weigh them alike)."""
    return st.integers(0, odds - 1).flatmap(lambda i: other if i == 0 else good)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(schema: dict, depth: int) -> st.SearchStrategy:
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"] + [str(v).lower() for v in schema["enum"] if isinstance(v, str)])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf"):
        if key in schema and "type" not in schema:
            return st.one_of([_typed(s, depth) for s in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([_typed({**schema, "type": k}, depth) for k in kind])
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        lo, hi = schema.get("minimum", -(10**30)), schema.get("maximum", 10**30)
        pool = INTS + [float(i) for i in INTS] + (FLOATS if kind == "number" else [2.5, 1e-5])
        inside = [n for n in pool if lo <= n <= hi] or pool
        return mostly(st.sampled_from(inside), st.sampled_from(pool), 12)
    if kind == "string":
        rx = re.compile(schema.get("pattern", ""))
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 10**9)
        fits = [t for t in STRINGS if rx.search(t) and lo <= len(t) <= hi] or STRINGS
        return mostly(st.sampled_from(fits), st.sampled_from(STRINGS), 12)
    if kind == "array":
        return st.lists(value(schema.get("items", {}), depth + 1), max_size=3)
    if kind == "object" or "properties" in schema:
        return table(schema, depth)
    return OTHER


def value(schema: dict, depth: int = 0) -> st.SearchStrategy:
    # Mostly a value of the key's own type, sometimes one of another.
    return mostly(_typed(schema, depth), OTHER, 30)


@st.composite
def table(draw, schema: dict, depth: int) -> dict:
    schema = _resolve(schema)
    out: dict = {}
    props = schema.get("properties")
    if props is not None:
        exclusive = [alt["required"][0] for alt in schema.get("oneOf", []) if "required" in alt]
        required = set(schema.get("required", []))
        for name, sub in props.items():
            if name in exclusive:
                continue
            if name in required or draw(st.integers(0, 3)) == 0:
                out[name] = draw(value(sub, depth + 1))
        if exclusive:  # exactly one: what the schema says and the rules (not the models) check
            pick = draw(st.sampled_from(exclusive))
            out[pick] = draw(value(props[pick], depth + 1))
        if draw(st.integers(0, 19)) == 0:
            out[draw(st.sampled_from(["gpu", "extra"]))] = 1
        return out
    items = schema.get("additionalProperties")
    patterns = schema.get("patternProperties", {})
    sub = next(iter(patterns.values()), items if isinstance(items, dict) else {})
    rx = re.compile(next(iter(patterns), ""))
    fits = [k for k in KEYS if rx.search(k)] or KEYS
    keys = mostly(st.sampled_from(fits), st.sampled_from(KEYS), 12)
    for key in draw(st.lists(keys, max_size=3, unique=True)):
        out[key] = draw(value(sub, depth + 1))
    return out


@st.composite
def documents(draw):
    doc = draw(table(SCHEMA, 0))
    fmt = draw(st.sampled_from(["toml", "yaml"]))
    text = to_toml(doc) if fmt == "toml" else yaml.safe_dump(doc, sort_keys=False)
    return fmt, text


@PROFILE
@given(documents())
def test_schema_and_models_give_the_same_verdict(case):
    fmt, text = case
    note(f"{fmt}:\n{text}")
    try:
        data = parse(Document("f", text, fmt))
    except SpecError:
        assume(False)  # not data either judge sees (a null, a nan, a syntax error)
        return
    schema_errors = [e.message for e in VALIDATOR.iter_errors(data)]
    try:
        Experiment.model_validate(data)
        model_errors: list = []
    except ValidationError as exc:  # a verdict; any other exception is a bug in a validator, and fails the test
        model_errors = [str(exc)]
    assert bool(schema_errors) == bool(model_errors), (schema_errors[:3], model_errors)


JOB = '[job]\nimage = "i"\ncommand = "c"\n'


@pytest.mark.parametrize("fmt,text,valid", [
    ("toml", f'name = "x"\n{JOB}gpus = 1.0\n', True),
    ("toml", f'name = "x"\n{JOB}workers = 2.0\n', True),
    ("yaml", "name: x\njob: {image: i, command: c, gpus: !!float 1}\n", True),
    ("toml", f'name = "x"\n{JOB}workers = 2.5\n', False),
    ("toml", f'name = "ab\\n"\n{JOB}', False),
    ("toml", f'name = "x"\n{JOB}cpu = "4\\n"\n', False),
    ("toml", f'name = "x"\n{JOB}ttl_after_finished = "1h\\n"\n', False),
    ("toml", f'name = "x"\n[job.env]\n"A\\n" = "1"\n{JOB}'.replace("[job]", "[job]"), False),
])
def test_the_cases_that_disagreed(fmt, text, valid):
    """Issue 9 item 12: each judged alike by both (nan and inf: refused before either, see test_load)."""
    data = parse(Document("f", text, fmt))
    schema_ok = not list(VALIDATOR.iter_errors(data))
    try:
        Experiment.model_validate(data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)
