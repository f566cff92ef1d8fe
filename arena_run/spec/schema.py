"""The JSON Schema of arena.toml, generated from the models.

schemas/arena.schema.json is this function's output and nothing else: a test
fails when the checked-in copy is stale (`arena-run schema > schemas/arena.schema.json`).
"""

from __future__ import annotations

import json

from pydantic.json_schema import GenerateJsonSchema

from .model import Experiment

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _NoNull(GenerateJsonSchema):
    """Optional keys are optional by absence: TOML has no null, and the models
    refuse YAML's.  Without null branches editors show the real type."""

    def nullable_schema(self, schema):
        return self.generate_inner(schema["schema"])

    def dict_schema(self, schema):
        # Keys with a pattern (env names, labels, sweep parameters): others are
        # errors to the models, so the schema must reject them too.
        out = super().dict_schema(schema)
        if "patternProperties" in out:
            out["additionalProperties"] = False
        return out

    def default_schema(self, schema):
        out = super().default_schema(schema)
        if "default" in out and out["default"] is None:
            del out["default"]
        return out


def json_schema() -> dict:
    schema = Experiment.model_json_schema(mode="validation", schema_generator=_NoNull)
    return {"$schema": DIALECT, **schema}


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
