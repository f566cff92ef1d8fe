"""`arena-run render | kubectl`: every string reads back as written (issue 9, item 3).

kubectl is the referee: it reads YAML with go-yaml v2, a YAML 1.1-style reader
for which `y`, `on`, `0o10`, `09`, `1e3` and dates are not strings.  Strings
shaped like those (tests/cluster/yaml_corpus.py: the known list, and
hypothesis-generated ones) are put where a file can put a string: the name,
label keys and values, node selectors, tolerations, env names and values, the
command, the rsync source (an argument), a sub_path.  Then:

1. `kubectl create --dry-run=client -o json` of the YAML equals the objects
   arena-run meant (its JSON, which no reader can misread), and each string
   sits where the file put it;
2. `kubectl create --dry-run=server` of the YAML is accepted, and the API
   server hands back every value written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from arena_run.render import render
from arena_run.render.output import to_json
from arena_run.spec.errors import SpecError
from arena_run.spec.load import load, load_text
from arena_run.spec.types import DNS1035_LABEL_RE, ENV_NAME_RE, LABEL_KEY_RE, LABEL_VALUE_RE
from tests.experiments import DATA, experiment, to_toml
from yaml_corpus import KNOWN, WORDS, yamlish


def _valid(pattern: str, max_len: int):
    rx = re.compile(pattern)
    return lambda s: len(s) <= max_len and rx.fullmatch(s) is not None and "\n" not in s


is_name = _valid(DNS1035_LABEL_RE.strip("^$"), 40)
is_label_key = _valid(LABEL_KEY_RE.strip("^$"), 316)
is_label_value = _valid(LABEL_VALUE_RE.strip("^$"), 63)
is_env_name = _valid(ENV_NAME_RE.strip("^$"), 100)
is_sub_path = _valid(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", 100)  # what the API server takes, too: no .., not absolute


def toml(e: dict) -> str:
    """An arena.toml for e: name, labels, env, node_selector, command, rsync, sub_path, toleration."""
    key, value = e["toleration"]
    return to_toml(experiment(
        e["name"], labels=e["labels"], code={"rsync": e["rsync"]}, data=[{**DATA, "sub_path": e["sub_path"]}],
        command=e["command"], env=e["env"], node_selector=e["node_selector"],
        tolerations=[{"key": key, "value": value}], tensorboard=True))


def arena_run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "arena_run", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def items(text: str) -> list:
    """The objects of a List, or of JSON documents one after another (kubectl -o json of several)."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        doc, end = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        out += doc["items"] if doc.get("kind") == "List" else [doc]
        at = end
    return out


def contains(got, want, path="") -> None:
    """Every value of want is in got at the same place (the server adds defaults, never changes ours)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for k, v in want.items():
            assert k in got, f"{path}.{k} missing"
            contains(got[k], v, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            contains(g, w, f"{path}[{i}]")
    else:
        assert type(got) is type(want) and got == want, f"{path}: wrote {want!r}, read back {got!r}"


def where_written(obj: dict, e: dict) -> None:
    """The experiment's strings, in the TFJob kubectl read, at the places the file put them."""
    assert obj["metadata"]["name"] == e["name"]
    assert obj["metadata"]["labels"].items() >= e["labels"].items()
    pod = obj["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["sh", "-c", e["command"]]
    assert {v["name"]: v["value"] for v in container.get("env", [])}.items() >= e["env"].items()
    assert pod["initContainers"][0]["command"][2] == e["rsync"]
    assert container["volumeMounts"][0]["subPath"] == e["sub_path"]
    assert pod.get("nodeSelector", {}) == e["node_selector"]
    assert (pod["tolerations"][0]["key"], pod["tolerations"][0]["value"]) == e["toleration"]


def round_trip(cluster, namespace: str, tmp_path, experiments: list[dict]) -> None:
    paths = []
    for i, e in enumerate(experiments):
        (tmp_path / str(i)).mkdir()
        path = tmp_path / str(i) / "arena.toml"
        path.write_text(toml(e), encoding="utf-8")
        paths.append(str(path))
    text = arena_run("render", "-n", namespace, *paths)
    # What arena-run means, through JSON, which no reader can misread.
    meant = json.loads(to_json([o for p in paths for o in render(load(p), namespace)]))["items"]

    read = items(cluster.run_kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input=text).stdout)
    assert read == meant
    jobs = {o["metadata"]["name"]: o for o in read if o["kind"] == "TFJob"}
    for e in experiments:
        where_written(jobs[e["name"]], e)

    # `create`, not `apply --server-side`: kubectl sends an apply patch as JSON
    # that the API server parses as YAML, where U+0085 is a line break (it
    # comes back a space); arena-run's own apply escapes it.
    served = items(cluster.run_kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", input=text).stdout)
    assert [(o["kind"], o["metadata"]["name"]) for o in served] == [(o["kind"], o["metadata"]["name"]) for o in meant]
    for got, want in zip(served, meant):
        contains(got, want, f"{want['kind']}/{want['metadata']['name']}")


def _accepted(e: dict) -> bool:
    try:
        load_text(toml(e), "toml", "arena.toml")
    except SpecError:
        return False
    return True


def test_the_known_dangerous_strings_read_back_as_written(cluster, namespace, tmp_path):
    names = sorted({s.lower() for s in KNOWN + WORDS if is_name(s.lower())})
    assert {"y", "n", "yes", "no", "on", "off", "true", "null"} <= set(names)
    texts = [s for s in KNOWN if s]
    label_values = [s for s in KNOWN if is_label_value(s)]
    label_keys = [s for s in KNOWN if is_label_key(s)]
    env_names = [s for s in KNOWN if is_env_name(s)]
    sub_paths = [s for s in KNOWN if is_sub_path(s)]
    experiments = []
    for i, name in enumerate(names):
        pick = lambda pool, k=0: pool[(i + k) % len(pool)]  # noqa: E731 - each experiment, other strings
        experiments.append({
            "name": name,
            # All of them on the first experiment, a few on each of the others.
            "labels": ({f"v{j}": v for j, v in enumerate(label_values)} | {k: "x" for k in label_keys}) if i == 0
            else {pick(label_keys): pick(label_values)},
            "env": ({f"V{j}": v for j, v in enumerate(KNOWN)} | {k: "x" for k in env_names}) if i == 0
            else {pick(env_names): pick(KNOWN, 1)},
            "node_selector": {pick(label_keys, 1): pick(label_values, 2)},
            "toleration": (pick(label_keys, 2), pick(label_values, 3)),
            "command": pick(texts),
            "rsync": pick(texts, 1),
            "sub_path": pick(sub_paths),
        })
    # Every position gets the dangerous kinds somewhere: the test would prove little otherwise.
    assert {"y", "1e3", "0o10", "09", "1_000"} <= set(label_values) and {"y", "N", "on"} <= set(label_keys)
    rejected = [e["name"] for e in experiments if not _accepted(e)]
    assert not rejected, f"the spec refuses experiments of the corpus: {rejected}"
    round_trip(cluster, namespace, tmp_path, experiments)


def _valid_strings(pred, *shapes: str) -> st.SearchStrategy[str]:
    """The corpus's strings that fit a place, in every case, and generated ones of dangerous shapes that fit it.

    Built to fit rather than filtered: filters that reject most draws make
    hypothesis give up (and CI replays a fixed sequence of draws)."""
    fitting = sorted({v for s in KNOWN + WORDS for v in (s, s.upper(), s.capitalize()) if pred(v)})
    return st.one_of(st.sampled_from(fitting), *(st.from_regex(rf"\A{shape}\Z") for shape in shapes))


NUMBERISH = r"[0-9][0-9_.eE:-]{0,6}[0-9]"
LABEL_KEYS = _valid_strings(is_label_key, NUMBERISH.replace(":", ""), r"(0[oObBxX])?[0-9]{1,4}")
LABEL_VALUES = _valid_strings(is_label_value, NUMBERISH.replace(":", ""), r"(0[oObBxX])?[0-9]{1,4}")
EXPERIMENTS = st.fixed_dictionaries({
    "name": _valid_strings(is_name, r"[a-z][a-z0-9]{0,4}"),
    "labels": st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=4),
    "env": st.dictionaries(_valid_strings(is_env_name, r"[A-Za-z_][A-Za-z0-9_.]{0,4}"), yamlish(), max_size=6),
    "node_selector": st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2),
    "toleration": st.tuples(LABEL_KEYS, LABEL_VALUES),
    "command": yamlish().map(lambda s: s or "true"),
    "rsync": yamlish().map(lambda s: s or "src/"),
    "sub_path": _valid_strings(is_sub_path, NUMBERISH.replace(":", "").replace(".", ""), r"(0[oObBxX])?[0-9]{1,4}"),
})


# Each example is a render and two kubectl runs: few examples, each with up to 4
# experiments full of strings, and no shrinking (the failing example is shown as found).
@settings(max_examples=10, deadline=None, database=None, derandomize=os.environ.get("CI") == "true",
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(st.lists(EXPERIMENTS, min_size=1, max_size=4, unique_by=lambda e: e["name"]))
def test_generated_strings_read_back_as_written(cluster, namespace, tmp_path_factory, experiments):
    assume(all(_accepted(e) for e in experiments))
    round_trip(cluster, namespace, tmp_path_factory.mktemp("exp"), experiments)
