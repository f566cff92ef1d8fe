"""schemas/arena.schema.json is generated from the models and documents every key."""

import json

import jsonschema

from arena_run.spec.model import Experiment, Spec
from arena_run.spec.schema import json_schema, json_schema_text

from .conftest import ROOT

CHECKED_IN = ROOT / "schemas" / "arena.schema.json"


def test_checked_in_schema_is_current():
    assert CHECKED_IN.read_text() == json_schema_text(), (
        "schemas/arena.schema.json is stale: run `arena-run schema > schemas/arena.schema.json`"
    )


def test_cli_prints_the_schema(run_cli):
    code, out, _ = run_cli("schema")
    assert code == 0
    assert json.loads(out) == json_schema()


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_every_model_and_field_is_described():
    models = Spec.__subclasses__()
    assert Experiment in models and len(models) == len(json_schema()["$defs"]) + 1
    for cls in models:
        assert cls.__doc__, cls
        for name, field in cls.model_fields.items():
            assert field.description and len(field.description) > 10, f"{cls.__name__}.{name}"


def test_every_property_in_the_schema_has_a_description():
    schema = json_schema()
    tables = [schema] + list(schema["$defs"].values())
    for table in tables:
        for name, prop in table.get("properties", {}).items():
            assert prop.get("description"), f"{table.get('title')}.{name}"
        assert table.get("additionalProperties") is False, table.get("title")


def test_schema_has_no_null_branches():
    """TOML has no null and the models refuse YAML's: editors should not offer it."""
    assert '"null"' not in json_schema_text()


def test_checked_in_reference_is_current():
    from arena_run.spec.reference import markdown

    assert (ROOT / "docs" / "reference.md").read_text() == markdown(), (
        "docs/reference.md is stale: run `python -m arena_run.spec.reference > docs/reference.md`"
    )


def test_schema_refuses_the_numbers_validate_refuses():
    """Issue 18: `cpu = nan` and `cpu = inf` passed the schema, so an editor showed no error where
    validate did; every number quantity key is bounded (an int64, as Kubernetes keeps it)."""
    from pydantic import ValidationError

    validator = jsonschema.Draft202012Validator(json_schema())
    for value in (float("nan"), float("inf"), 1e300):
        doc = {"name": "x", "job": {"image": "i", "command": "c", "cpu": value, "memory": 1}}
        assert list(validator.iter_errors(doc)), value
        try:
            Experiment.model_validate(doc)
        except ValidationError:
            pass
        else:
            raise AssertionError(f"the models took cpu = {value}")
    for value in (0, 0.5, 4, 3e9):
        doc = {"name": "x", "job": {"image": "i", "command": "c", "cpu": value}}
        assert not list(validator.iter_errors(doc)), value
        Experiment.model_validate(doc)
