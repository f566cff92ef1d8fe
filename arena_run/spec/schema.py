"""The JSON Schema of arena.toml, generated from the models.

schemas/arena.schema.json is this function's output and nothing else: a test
fails when the checked-in copy is stale (`arena-run schema > schemas/arena.schema.json`).
"""

from __future__ import annotations

from typing import Any

import json

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .model import Experiment

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _NoNull(GenerateJsonSchema):
    """Optional keys are optional by absence: TOML has no null, and the models
    refuse YAML's.  Without null branches editors show the real type."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # Keys with a pattern (env names, labels, sweep parameters): others are
        # errors to the models, so the schema must reject them too.
        out = super().dict_schema(schema)
        if "patternProperties" in out:
            out["additionalProperties"] = False
        return out

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if "default" in out and out["default"] is None:
            del out["default"]
        return out


def json_schema() -> dict[str, Any]:
    schema = Experiment.model_json_schema(mode="validation", schema_generator=_NoNull)
    anchored = _end_anchored({"$schema": DIALECT, **schema})
    assert isinstance(anchored, dict)
    return anchored


def _end_anchored(node: object) -> object:
    """`$` as the models mean it: the end of the text.

    The models' regex engine (Rust) and ECMA-262 read a final `$` so, but
    Python's `re` (the jsonschema package) also matches it before a final
    newline, so `name = "ab\n"` passed the schema.  `(?!\n)$` means the same
    in every engine.
    """
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                value = _anchor(value)
            elif key == "patternProperties" and isinstance(value, dict):
                value = {_anchor(k): _end_anchored(v) for k, v in value.items()}
            else:
                value = _end_anchored(value)
            out[key] = value
        return out
    if isinstance(node, list):
        return [_end_anchored(v) for v in node]
    return node


def _anchor(pattern: str) -> str:
    return pattern[:-1] + "(?!\\n)$" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
