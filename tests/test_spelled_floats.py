"""Sweep floats reach the job as the file spells them (issue 9, item 14).

`lr = [1e-5, 0.10]` gives the training script `--lr=1e-5` and `--lr=0.10`,
not Python's `1e-05` and `0.1`: in `{{lr}}` of the command and the env, in
ARENA_PARAM_LR and in the job's sweep-params annotation that `status` shows.
TOML's digit separators are dropped (they are file syntax, like quotes).
A point's name still hashes the number, so respelling a value renames (and
re-runs) nothing; and the record of an applied experiment keeps the spelling,
so what `status` re-renders from it is what was applied.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from arena_run.plan.build import experiment_hash
from arena_run.render import render
from arena_run.spec.load import load_text
from arena_run.spec.model import Experiment
from arena_run.spec.sweep import point_id

TOML = 'name = "x"\n[job]\nimage = "i"\ncommand = "train --lr={{lr}} --n={{n}}"\nenv = { TAG = "lr{{lr}}" }\n'
YAML = 'name: x\njob:\n  image: i\n  command: "train --lr={{lr}} --n={{n}}"\n  env: {TAG: "lr{{lr}}"}\n'


def jobs(exp: Experiment) -> dict:
    """Each job's (command, env, annotation) by name."""
    out = {}
    for obj in render(exp):
        if obj["kind"] == "TFJob":
            (c,) = obj["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"]
            out[obj["metadata"]["name"]] = (c["command"][-1], {e["name"]: e["value"] for e in c["env"]},
                                            obj["metadata"]["annotations"]["arena-run.io/sweep-params"])
    return out


def toml(values: str) -> Experiment:
    return load_text(TOML + f"[sweep]\nlr = [{values}]\nn = [1]\n")


def _digits(draw, first_nonzero: bool) -> str:
    """TOML's digits with single underscores between them."""
    first = draw(st.sampled_from("123456789" if first_nonzero else "0123456789"))
    rest = draw(st.lists(st.tuples(st.booleans(), st.sampled_from("0123456789")), max_size=5))
    return first + "".join(("_" if sep else "") + d for sep, d in rest)


@st.composite
def toml_floats(draw) -> str:
    """Any finite float spelling TOML 1.0 allows: sign, no leading zeros, a fraction and/or an exponent."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = "0" if draw(st.booleans()) else _digits(draw, first_nonzero=True)
    frac = "." + _digits(draw, first_nonzero=False) if draw(st.booleans()) else ""
    exp = ""
    if not frac or draw(st.booleans()):
        # At most two digits of exponent: 1e999 is inf, which a file may not hold.
        exp = draw(st.sampled_from("eE")) + draw(st.sampled_from(["", "+", "-"])) + draw(st.text("0123456789", min_size=1, max_size=2))
    return sign + whole + frac + exp


@settings(max_examples=300, deadline=None)
@given(toml_floats())
def test_any_toml_float_is_substituted_as_written(text):
    written = text.replace("_", "")
    exp = toml(text)
    ((name, (command, env, annotation)),) = jobs(exp).items()
    assert command == f"train --lr={written} --n=1"
    assert env == {"TAG": f"lr{written}", "ARENA_PARAM_LR": written, "ARENA_PARAM_N": "1"}
    # The annotation is JSON (a leading `+` is not), and carries the number.
    assert annotation == '{"lr":%s,"n":1}' % written.removeprefix("+")
    assert json.loads(annotation)["lr"] == float(written)
    # The name hashes the number: the same as Python's own spelling of it would get.
    assert name == f"x-{point_id({'lr': float(written), 'n': 1})}"
    # YAML 1.2 reads the same spelling (no separators there) to the same jobs.
    assert jobs(load_text(YAML + f"sweep:\n  lr: [{written}]\n  n: [1]\n", "yaml")) == jobs(exp)
    # The record keeps the spelling: re-rendered from it, nothing differs.
    assert jobs(Experiment.from_json(exp.to_json())) == jobs(exp)


def test_yaml_floats_keep_their_spelling_too():
    exp = load_text(YAML + "sweep:\n  lr: [1e-5, .5, 5., 0.10, 1E+3]\n  n: [1]\n", "yaml")
    assert sorted(env["ARENA_PARAM_LR"] for _, env, _ in jobs(exp).values()) == sorted(["1e-5", ".5", "5.", "0.10", "1E+3"])
    # `.5` and `5.` are no JSON numbers: the annotation spells them as Python does.
    assert sorted(a for _, _, a in jobs(exp).values()) == sorted(
        ['{"lr":1e-5,"n":1}', '{"lr":0.5,"n":1}', '{"lr":5.0,"n":1}', '{"lr":0.10,"n":1}', '{"lr":1E+3,"n":1}'])


def test_point_names_do_not_change_with_the_spelling():
    """Pinned: the names these values had before spellings were kept (62e7c8f), whatever the spelling."""
    for values in ("0.001, 1e-05, 0.1", "1e-3, 1e-5, 0.10", "1_0e-4, 0.000_01, 1.0e-1", "1E-3, 10e-6, +0.1"):
        assert set(jobs(toml(values))) == {"x-" + s for s in (
            point_id({"lr": v, "n": 1}) for v in (0.001, 1e-05, 0.1))}, values
    assert [point_id({"lr": v}) for v in (0.001, 1e-05, 0.1)] == ["d368ce5a", "bf67668e", "9c9ba942"]


def test_a_respelled_value_is_a_repeat():
    from arena_run.spec.errors import SpecError

    try:
        toml("1e-5, 0.000_01")
    except SpecError as exc:
        assert [p.message for p in exc.problems] == ["0.00001 repeats sweep.lr[0]"]
    else:
        raise AssertionError("a repeat was accepted")


def test_the_record_keeps_spellings_and_old_records_still_load():
    exp = toml("1e-5, 0.10, 0.5")
    record = json.loads(exp.to_json())
    # Tagged only where Python would spell it otherwise: a record of `0.5` is what it always was.
    assert record["sweep"]["lr"] == [{"$float": "1e-5"}, {"$float": "0.10"}, 0.5]
    # Only the record: any other JSON dump (a notebook's) keeps the schema's plain numbers.
    assert json.loads(exp.model_dump_json())["sweep"]["lr"] == [1e-05, 0.1, 0.5]
    assert jobs(Experiment.from_json(exp.to_json())) == jobs(exp)
    # A record an earlier arena-run wrote (plain numbers) renders what that version applied.
    old = json.loads(exp.to_json())
    old["sweep"]["lr"] = [1e-05, 0.1, 0.5]
    commands = sorted(c for c, _, _ in jobs(Experiment.from_json(json.dumps(old))).values())
    assert commands == ["train --lr=0.1 --n=1", "train --lr=0.5 --n=1", "train --lr=1e-05 --n=1"]


def test_the_spec_hash_follows_the_spelling():
    # The rendered objects differ, so the applied experiment differs.
    assert experiment_hash(toml("1e-5")) != experiment_hash(toml("0.00001"))
    assert experiment_hash(toml("1e-5")) == experiment_hash(Experiment.from_json(toml("1e-5").to_json()))
    assert experiment_hash(toml("1_000.5")) == experiment_hash(toml("1000.5"))


def test_only_a_record_may_carry_the_tag():
    record = toml("1e-5").to_json()
    assert Experiment.from_json(record).sweep["lr"][0].text == "1e-5"
    from pydantic import ValidationError

    for bad in ({"$float": "1e-5x"}, {"$float": 1}, {"$float": "1", "x": 1}):
        doc = json.loads(record)
        doc["sweep"]["lr"] = [bad]
        try:
            Experiment.from_json(json.dumps(doc))
        except ValidationError:
            continue
        raise AssertionError(f"{bad} was read from a record")
