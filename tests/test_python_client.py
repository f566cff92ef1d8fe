"""arena_run.Client, whatever its target: Python input refused as files are, short reprs, notebook tables,
annotations that help() shows resolved, logs as str lines.  (Driving a target: tests/local/test_client_here.py
and tests/cluster/test_client_on_cluster.py, the same calls.)"""

from __future__ import annotations

import inspect
import pydoc
import threading

import pytest
import yaml

from arena_run import Client
from arena_run.api import Experiment, SpecError
from arena_run.api.client import lines
from arena_run.spec.load import load_all
from arena_run.spec._toml import loads as toml_loads

from .conftest import ROOT

BASE = {"name": "x", "job": {"image": "i", "command": "train"}}
# Each refused by the models (a typo, a wrong type, a bad value) or by the rules the models cannot
# express (a path outside every mount): a file, its text, its dict and, for the rules, an Experiment.
BAD = [
    {**BASE, "job": {**BASE["job"], "gpu": 1}},
    {**BASE, "job": {**BASE["job"], "gpus": "two"}},
    {**BASE, "name": "Not_A_Name"},
    {**BASE, "tensorboard": {"logdir": "/logs"}},
    {**BASE, "data": [{"pvc": "d", "mount": "/data"}], "job": {**BASE["job"], "workdir": "/elsewhere/x"}},
]


@pytest.fixture
def client(tmp_path):
    return Client(local=True, state_dir=str(tmp_path / "state"))


def problems(fn) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as exc:
        fn()
    return [(p.path, p.message) for p in exc.value.problems]


@pytest.mark.parametrize("data", BAD, ids=lambda d: next(iter(k for k in d if d[k] != BASE.get(k)), "job"))
def test_dicts_and_text_are_refused_exactly_as_files_are(client, tmp_path, data):
    path = tmp_path / "arena.yaml"
    path.write_text(yaml.safe_dump(data))
    from_file = problems(lambda: load_all([str(path)]))
    assert from_file  # each is a mistake
    assert problems(lambda: client.plan(data)) == from_file
    assert problems(lambda: client.plan(path.read_text())) == from_file  # YAML text
    with pytest.raises(SpecError) as exc:
        client.plan(path.read_text())
    assert all(p.file == "<text>" and p.line > 0 for p in exc.value.problems)  # text is located by line too


def test_a_model_built_in_python_meets_the_rules_files_do(client, tmp_path):
    data = {**BASE, "tensorboard": {"logdir": "/logs"}}
    exp = Experiment.model_validate(data)  # the model alone accepts it
    path = tmp_path / "arena.yaml"
    path.write_text(yaml.safe_dump(data))
    refused = problems(lambda: load_all([str(path)]))
    assert refused == [("tensorboard.logdir", refused[0][1])] and "[[data]] mount" in refused[0][1]
    assert problems(lambda: client.plan(exp)) == refused
    assert problems(lambda: client.apply(exp)) == refused


def test_a_typo_in_a_dict_says_what_was_meant(client):
    with pytest.raises(SpecError) as exc:
        client.plan({**BASE, "job": {**BASE["job"], "gpu": 1}})
    assert str(exc.value.problems[0].to_dict()["message"]) == "unknown key 'gpu'; did you mean 'gpus'?"
    assert exc.value.problems[0].path == "job.gpu"


def test_every_example_reads_the_same_from_its_file_text_dict_and_model(client):
    for item in load_all([str(ROOT / "examples")]):
        text = open(item.file).read()
        fmt = "toml" if item.file.endswith(".toml") else "yaml"
        data = toml_loads(text) if fmt == "toml" else yaml.safe_load(text)
        for given in (text, data, item.experiment):
            (p,) = client.plan(given)
            assert p.experiment == item.experiment.name
            assert [a.desired for a in p.actions] == [a.desired for a in client.plan(item.file)[0].actions]


def test_reprs_are_short_and_notebooks_get_tables(client):
    plans = client.plan(str(ROOT / "examples" / "tf-distributed"))
    assert len(repr(plans)) < 120, repr(plans)
    (plan,) = plans
    assert repr(plan).startswith("<Plan ") and "to create" in repr(plan)
    assert all(len(repr(a)) < 120 for a in plan.actions)
    html = plans._repr_html_()
    assert html.count("<tr>") == 1 + len(plan.changes) + sum(len(a.changes) for a in plan.changes)
    assert "<td style=\"text-align:left\">+</td>" in html
    assert client.status()._repr_html_() == "<p>No experiments.</p>"


def test_help_shows_resolved_annotations():
    for name, method in inspect.getmembers(Client, inspect.isfunction):
        for param in inspect.signature(method).parameters.values():
            assert not isinstance(param.annotation, str), (name, param)
    text = pydoc.render_doc(Client, renderer=pydoc.plaintext)
    assert "-> arena_run.api.views.Plans" in text and "'Optional" not in text


class Chunks:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.finished = threading.Event()
        self.last_chunk = 0.0
        self.stopped = False

    def __iter__(self):
        yield from self.chunks

    def stop(self) -> None:
        self.stopped = True


def test_logs_come_as_str_lines_whatever_the_chunks():
    # A line split across chunks, a UTF-8 character split across chunks, CRLF, and a last line without
    # a line break.
    chunks = Chunks([b"step 1\nste", b"p 2 caf\xc3", b"\xa9\r\nlast"])
    assert list(lines(chunks)) == ["step 1", "step 2 caf\u00e9", "last"]
    assert chunks.stopped
    early = Chunks([b"a\nb\nc\n"])
    for line in lines(early):
        break
    assert line == "a"
