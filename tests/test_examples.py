"""The examples validate, render to their golden files, and agree with the schema.

Golden files: tests/golden/<example>.yaml.  After an intended change to the
renderer, regenerate them with `tests/update-golden` (a separate command: the
tests only compare) and read the diff before committing it.
"""

import json
import os
import shutil
import subprocess
import sys

import jsonschema
import pytest
import yaml

from arena_run.render import render
from arena_run.render.output import to_json, to_yaml
from arena_run.spec.load import load, load_text, parse, read
from arena_run.spec.floats import WrittenFloat

from .conftest import EXAMPLES, GOLDEN, ROOT, SEED, golden_name


def test_there_are_the_promised_examples():
    names = {p.parent.name for p in EXAMPLES}
    assert {"tf-git", "tf-distributed", "tf-sweep", "mnist-serve", "pytorch-ddp", "kserve-yaml",
            "horovod-mpi", "pytorch-trainer", "custom-serving"} <= names
    assert any(p.suffix == ".yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES + [SEED], ids=lambda p: p.parent.name if p != SEED else "seed")
def test_renders_to_golden(path):
    text = to_yaml(render(load(str(path))))
    golden = GOLDEN / f"{golden_name(path)}.yaml"
    assert golden.exists(), f"no golden file {golden}; write it with tests/update-golden"
    assert text == golden.read_text(), f"{golden} is not what renders now; if intended: tests/update-golden"


@pytest.mark.parametrize("path", EXAMPLES + [SEED], ids=str)
def test_output_is_what_kubectl_reads(path):
    objects = render(load(str(path)))
    assert list(yaml.safe_load_all(to_yaml(objects))) == objects
    assert json.loads(to_json(objects))["items"] == objects


class _TwinDumper(yaml.SafeDumper):
    """Floats as the TOML file spells them (`!!float 1e-3` where YAML 1.1 would read a string)."""


_TwinDumper.add_representer(WrittenFloat, lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", v.text))


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.suffix == ".toml"] + [SEED], ids=str)
def test_yaml_twin_behaves_identically(path):
    """The same document in YAML gives the same experiment and the same objects."""
    data = parse(read(str(path)))
    twin = load_text(yaml.dump(data, Dumper=_TwinDumper, sort_keys=False), "yaml", "twin.yaml")
    original = load(str(path))
    assert twin == original
    assert render(twin) == render(original)


@pytest.fixture(scope="module")
def schema():
    return json.loads((ROOT / "schemas" / "arena.schema.json").read_text())


@pytest.mark.parametrize("path", EXAMPLES + [SEED], ids=str)
def test_schema_accepts_every_example(path, schema):
    jsonschema.Draft202012Validator(schema).validate(parse(read(str(path))))


def test_examples_declare_their_schema():
    for path in EXAMPLES:
        first = path.read_text().splitlines()[0]
        if path.suffix == ".toml":
            assert first == "#:schema ../../schemas/arena.schema.json", path
        else:
            assert first == "# yaml-language-server: $schema=../../schemas/arena.schema.json", path


def _taplo() -> str:
    found = shutil.which("taplo") or os.path.join(os.path.dirname(sys.executable), "taplo")
    assert os.path.exists(found), "taplo is a test dependency: pip install -e '.[test]'"
    return found


def test_taplo_checks_examples_like_an_editor():
    """Taplo follows each example's #:schema line, as editors with Even Better TOML do."""
    tomls = [str(p) for p in EXAMPLES if p.suffix == ".toml"]
    result = subprocess.run([_taplo(), "check", *tomls], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_taplo_rejects_what_the_schema_rejects(tmp_path):
    bad = tmp_path / "arena.toml"
    text = (ROOT / "examples" / "tf-git" / "arena.toml").read_text()
    shutil.copy(ROOT / "schemas" / "arena.schema.json", tmp_path / "arena.schema.json")
    bad.write_text(text.replace("../../schemas/arena.schema.json", "./arena.schema.json").replace("gpus = 1", "gpu = 1"))
    result = subprocess.run([_taplo(), "check", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "'gpu' was unexpected" in result.stderr
