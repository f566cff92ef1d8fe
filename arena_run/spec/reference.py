"""docs/reference.md, generated from the models like the JSON Schema.

    python -m arena_run.spec.reference > docs/reference.md

A test fails when the checked-in copy is stale, so the reference can never
drift from what the validator accepts.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .model import Experiment

_SECTIONS = [
    ("", Experiment, "Top level"),
    ("code", None, "[code]"),
    ("data", None, "[[data]]"),
    ("job", None, "[job]"),
    ("job.tolerations", None, "job.tolerations (array of inline tables)"),
    ("job.roles", None, "[job.roles]"),
    ("job.roles.<role>", None, "[job.roles.worker], [job.roles.ps], ... (each a role override)"),
    ("tensorboard", None, "[tensorboard]"),
    ("serve", None, "[serve]"),
]


def _inner_model(tp: Any) -> type[BaseModel] | None:
    """The model inside Optional[...], list[...] or Annotated[...]."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _inner_model(arg)
        if found:
            return found
    return None


def _type_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "table"
    if "enum" in schema:
        return " \\| ".join(f'`"{v}"`' for v in schema["enum"])
    if "const" in schema:
        return f'`"{schema["const"]}"`'
    if "anyOf" in schema:
        return " or ".join(_type_name(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type_name(schema.get('items', {}))}"
    if kind == "object":
        return "table"
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind or "any"


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.get_default(call_default_factory=True, validated_data={})
    if value is None or value == {} or value == [] or isinstance(value, BaseModel):
        return ""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def markdown() -> str:
    from .schema import json_schema

    schema = json_schema()
    defs = schema["$defs"]
    models: dict[str, type[BaseModel]] = {"": Experiment}
    for prefix, model, _ in _SECTIONS:
        if model is None:
            parent, _, key = prefix.rpartition(".")
            inner = _inner_model(models[parent].model_fields["worker" if key == "<role>" else key].annotation)
            assert inner is not None, prefix  # every section names a model field
            models[prefix] = inner
    out = [
        "# arena.toml reference",
        "",
        "Generated from the models by `python -m arena_run.spec.reference`; do not edit.",
        "The same document may be written as YAML (`arena.yaml`).",
        "",
    ]
    for prefix, _, title in _SECTIONS:
        section = models[prefix]
        props = (schema if section is Experiment else defs[section.__name__])["properties"]
        out += [f"## {title}", "", (section.__doc__ or "").strip(), "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in section.model_fields.items():
            text = (field.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {_type_name(props[name])} | {_default(field)} | {text} |")
        out.append("")
    out += _sweep(schema["properties"]["sweep"])
    return "\n".join(out)


def _sweep(schema: dict[str, Any]) -> list[str]:
    """[sweep] has no fixed keys: each key is a parameter, its value the list of values it takes."""
    ((pattern, values),) = schema["patternProperties"].items()
    name = pattern.removesuffix("(?!\\n)$").removeprefix("^")
    return [
        "## [sweep]", "", (schema.get("description") or "").strip(), "",
        "Each key is a parameter: one job runs per combination of all the parameters' values.", "",
        "| key | type | default | meaning |", "|---|---|---|---|",
        f"| any name matching `{name}` | array of {_type_name(values['items'])} (at least {values['minItems']}) | "
        "| the values `{{name}}` takes in job.command and env values; each point's env also has "
        "`ARENA_PARAM_<NAME>` |",
        "",
    ]


if __name__ == "__main__":
    print(markdown(), end="")
