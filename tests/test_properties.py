"""Property-based tests: whatever a file holds, validation ends in an Experiment
or in located problems, never in a traceback.

The inputs are the examples (and tests/fixtures/seed.toml), mutated: as
documents (a key deleted, renamed by a typo, added; a value replaced by one of
another type, a list item duplicated, a subtree moved) and then written back as
TOML or YAML, or as raw text (characters and lines inserted, deleted, repeated).

Properties:
  * load_text returns an Experiment, or raises SpecError whose problems are
    non-empty and each located inside the text (line >= 1, column >= 1, line at
    most one past the last), with a one-line message, for the file named;
  * an Experiment renders to objects with apiVersion, kind and a metadata.name
    Kubernetes accepts (at most 63 characters);
  * `arena-run validate` exits 0 or 1 and never raises, and agrees with load_text.
"""

from __future__ import annotations

import copy
import os
import re
import sys
import tempfile

import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from arena_run.spec.errors import SpecError
from arena_run.spec.load import load_text
from arena_run.spec.model import Experiment

from .conftest import EXAMPLES, ROOT
from .experiments import to_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEEDS = EXAMPLES + [ROOT / "tests" / "fixtures" / "seed.toml"]
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(doc, **kw) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, **kw)


def _fmt(path) -> str:
    return "yaml" if path.suffix in (".yaml", ".yml") else "toml"


def _parse(path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if _fmt(path) == "yaml" else tomllib.loads(text)


SEED_TEXTS = [(p.name if p.parent.name == "fixtures" else p.parent.name, _fmt(p), p.read_text(encoding="utf-8"))
              for p in SEEDS]
SEED_DOCS = [(name, _parse(p)) for (name, _, _), p in zip(SEED_TEXTS, SEEDS)]

# CI explores a fixed sequence (a red run can be replayed, and is not a coin
# flip); local runs explore afresh each time and so keep finding new inputs.
PROFILE = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _drop_none(v):
    # TOML has no null: a None written by a mutation leaves the key out.
    if isinstance(v, dict):
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_none(x) for x in v if x is not None]
    return v


def test_toml_writer_round_trips_the_examples():
    for name, doc in SEED_DOCS:
        assert tomllib.loads(to_toml(doc)) == doc, name
        assert tomllib.loads(to_toml(doc, inline=True)) == doc, name


# --- values and mutations -----------------------------------------------------------

# Values that mean something to arena.toml, so mutated files get past the
# types into the rules and the renderer, not only into "expected a string".
DOMAIN = [
    "tf", "pytorch", "kserve", "tf-serving", "Exists", "Equal", "NoSchedule", "NodePort", "ClusterIP",
    "Always", "OnFailure", "AllWorkers", "All", "None", "/data", "/data/logs", "/models/x", "/dev/shm",
    "/root/code", "data", "{{lr}}", "{{ batch }}", "{{nope}}", "4", "500m", "16Gi", "16GB", "7d", "1h30m",
    "1 week", "arena-run.io/x", "app.kubernetes.io/managed-by", "pvc://models/x", "s3://b/m",
    "https://github.com/a/b.git", "git@github.com:a/b.git", "a" * 63, "b" * 64, "x" * 300, "", " ",
    "é", "名前", "\u2028", "line\nbreak", "tab\there", 'quo"te', "back\\slash", "ARENA_PARAM_LR",
    0, 1, 2, 3, 500, 501, -1, 2**31, 2**63 - 1, -(2**63), 0.5, -0.0, 1e300, float("inf"), True, False,
]

scalars = st.one_of(
    st.sampled_from(DOMAIN),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=300),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
keys = st.one_of(st.sampled_from(["gpus", "job", "mount", "pvc", "lr", "x", "", "a.b", "A B", "ü"]), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=8,
)


# Values at the edges of what a key takes: infinities, huge and negative
# numbers, empty and very long strings, YAML's null.
EDGES = [float("inf"), float("-inf"), float("nan"), 1e400, -1e-300, 2**64, -(2**63), -1, 0, 1, 0.0, 1.5, "", "0",
         "-1", "1e3", "1e400", "x" * 300, "\u00e9" * 70, True, False, None, [], {}, [None], {"": None}]
edges = st.sampled_from(EDGES).map(copy.deepcopy)  # fresh containers: mutations must not reach EDGES
# The few that differ in kind, for the exhaustive test below; those with a
# null stand at odd places, which it writes as YAML (TOML has no null).
FEW_EDGES = [float("inf"), float("nan"), 2**64, None, -1, {"": None}, 1.5, "", "x" * 300, True, []]


def _containers(node, path=(), seen=None):
    """Every (path, dict or list) in the document, the root included (once each)."""
    seen = set() if seen is None else seen
    if isinstance(node, (dict, list)) and id(node) not in seen:
        seen.add(id(node))
        yield path, node
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            yield from _containers(v, path + (k,), seen)


def _model_for(path):
    """The model a table at path is read as, to set its real keys to odd values."""
    from arena_run.spec import model as m

    shapes = {
        (): m.Experiment, ("code",): m.Code, ("data", 0): m.Data, ("job",): m.Job, ("job", "roles"): m.Roles,
        ("job", "roles", "_"): m.Role, ("job", "tolerations", 0): m.Toleration, ("tensorboard",): m.TensorBoard,
        ("serve",): m.Serve,
    }
    shape = tuple(0 if isinstance(k, int) else "_" if path[:2] == ("job", "roles") and i == 2 else k
                  for i, k in enumerate(path))
    return shapes.get(shape)


def _typo(key: str, data) -> str:
    if not key:
        return "x"
    i = data.draw(st.integers(0, len(key) - 1))
    kind = data.draw(st.sampled_from(["drop", "double", "swap", "upper", "dash", "insert"]))
    if kind == "drop":
        return key[:i] + key[i + 1 :] or "x"
    if kind == "double":
        return key[:i] + key[i] + key[i:]
    if kind == "swap" and len(key) > 1:
        j = min(i + 1, len(key) - 1)
        chars = list(key)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    if kind == "upper":
        return key.upper()
    if kind == "dash":
        return key.replace("_", "-") if "_" in key else key + "-"
    return key[:i] + data.draw(st.characters(codec="utf-8")) + key[i:]


OPS = ["delete", "add", "replace", "replace", "field", "field", "field", "typo", "duplicate", "move", "empty", "alias"]


def mutate(doc: dict, data, fmt: str) -> dict:
    """doc with 1-8 random edits; "alias" shares a subtree (YAML writes &anchors, maybe a cycle)."""
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.sampled_from([1, 1, 1, 2, 2, 3, 5, 8]), label="mutations")):
        where = list(_containers(doc))
        path, node = data.draw(st.sampled_from(where), label="at")
        op = data.draw(st.sampled_from(OPS if fmt == "yaml" else OPS[:-1]), label="op")
        if isinstance(node, dict):
            model = _model_for(path)
            if op == "field" and model is not None:
                key = data.draw(st.sampled_from(sorted(model.model_fields)), label="field")
                node[key] = data.draw(st.one_of(edges, values), label="value")
                continue
            names = list(node)
            if op == "add" or not names:
                node[data.draw(keys, label="new key")] = data.draw(values, label="new value")
                continue
            key = data.draw(st.sampled_from(names), label="key")
            if op == "delete":
                del node[key]
            elif op == "typo":
                new = _typo(str(key), data)
                node[new] = node.pop(key)
            elif op == "duplicate" and isinstance(node[key], list) and node[key]:
                node[key].append(copy.deepcopy(data.draw(st.sampled_from(node[key]))))
            elif op in ("move", "alias"):
                _, other = data.draw(st.sampled_from(where), label="from")
                node[key] = other if op == "alias" else copy.deepcopy(other)
            elif op == "empty":
                node[key] = type(node[key])() if isinstance(node[key], (dict, list, str)) else 0
            else:
                node[key] = data.draw(st.one_of(values, edges), label="value")
        else:
            if op == "add" or not node:
                node.append(data.draw(values, label="new item"))
                continue
            i = data.draw(st.integers(0, len(node) - 1), label="index")
            if op == "delete":
                del node[i]
            elif op in ("duplicate", "typo"):
                node.insert(i, copy.deepcopy(node[i]))
            elif op in ("move", "alias"):
                _, other = data.draw(st.sampled_from(where), label="from")
                node[i] = other if op == "alias" else copy.deepcopy(other)
            else:
                node[i] = data.draw(st.one_of(values, edges), label="value")
    return doc


def serialise(doc: dict, fmt: str, data) -> str:
    if fmt == "yaml":
        return to_yaml(doc, allow_unicode=data.draw(st.booleans(), label="unicode"))
    return to_toml(_drop_none(doc), inline=data.draw(st.booleans(), label="inline"))


SNIPPETS = [
    "[job]", "[[data]]", "[job.roles.ps]", "[sweep]", 'gpus = "1"', "gpus = -1", "name = 1", "x = [1, {a = 2}]",
    'image = "a"', "env = { A = 1 }", "job:", "  - pvc: x", "  gpus: 1", "- a", "key: {", "  ", "\t", '"""',
    "'''", "{{lr}}", "---", "...", "!!python/object:os.system", "&a", "*a", "<<: *a", "? x", "%YAML 1.2", "#",
    "é = 1", "\ufeff", "\r", "[", "]]", "=",
]


# Characters parsers treat specially: quotes, brackets, indentation, line
# breaks other than "\n", a byte-order mark and control characters.
NASTY = ["\x00", "\x03", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9c", "\u2028", "\u2029", "\ufeff", "\r",
         "\t", " ", '"', "'", "\\", "[", "]", "{", "}", ":", "=", ",", "#", "-", "\n", "\U0001f600", "\ud7ff"]
chars = st.one_of(st.text(min_size=1, max_size=5), st.lists(st.sampled_from(NASTY), min_size=1, max_size=3).map("".join))


def mutate_text(text: str, data) -> str:
    for _ in range(data.draw(st.integers(1, 3), label="text edits")):
        lines = text.split("\n")
        op = data.draw(st.sampled_from(["insert", "insert", "delete", "line", "dropline", "dupline", "swap"]),
                       label="edit")
        pos = data.draw(st.integers(0, len(text)), label="pos")
        if op == "insert":
            text = text[:pos] + data.draw(chars, label="chars") + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 8), label="n"):]
        else:
            i = data.draw(st.integers(0, len(lines) - 1), label="line")
            if op == "line":
                lines.insert(i, data.draw(st.sampled_from(SNIPPETS), label="snippet"))
            elif op == "dropline":
                del lines[i]
            elif op == "dupline":
                lines.insert(i, lines[i])
            else:
                j = data.draw(st.integers(0, len(lines) - 1), label="other line")
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@st.composite
def mutated_documents(draw):
    """(fmt, text): an example changed as a document, written as TOML or YAML."""
    name, doc = draw(st.sampled_from(SEED_DOCS), label="seed")
    fmt = draw(st.sampled_from(["toml", "yaml"]), label="format")
    data = _Drawer(draw)
    return fmt, serialise(mutate(doc, data, fmt), fmt, data)


# The examples' own text (comments and all), and each also written in the other format.
TEXTS = SEED_TEXTS + [
    (name, "toml" if fmt == "yaml" else "yaml", to_toml(doc) if fmt == "yaml" else to_yaml(doc))
    for (name, fmt, _), (_, doc) in zip(SEED_TEXTS, SEED_DOCS)
]


@st.composite
def mutated_texts(draw):
    """(fmt, text): an example's text with characters or lines changed."""
    name, fmt, text = draw(st.sampled_from(TEXTS), label="seed")
    return fmt, mutate_text(text, _Drawer(draw))


class _Drawer:
    """st.data()'s interface inside a composite strategy."""

    def __init__(self, draw):
        self.draw = lambda strategy, label=None: draw(strategy)


any_input = st.one_of(mutated_documents(), mutated_texts())


# --- the properties -----------------------------------------------------------------


_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


def _line_count(text: str) -> int:
    # TOML counts "\n"; YAML also "\r", "\x85", "\u2028" and "\u2029": allow either.
    return max(text.count("\n") + 1, len(text.splitlines()), len(re.split("\r\n|[\r\n\x85\u2028\u2029]", text)))


def check_outcome(text: str, fmt: str, file: str, *, in_hypothesis: bool = True):
    """load_text's result, having checked the located-problems contract."""
    if in_hypothesis:
        note(f"{fmt} input:\n{text}")
    try:
        return load_text(text, fmt, file)
    except SpecError as exc:
        problems = exc.problems
        assert problems, "SpecError without problems"
        last = _line_count(text) + 1
        lines = text.split("\n")
        for p in problems:
            assert p.file == file, p
            assert isinstance(p.line, int) and 1 <= p.line <= last, p
            assert isinstance(p.column, int) and p.column >= 1, p
            if not _OTHER_BREAKS.search(text) and p.line <= len(lines):
                assert p.column <= len(lines[p.line - 1]) + 1, (p, lines[p.line - 1])
            assert isinstance(p.path, str), p
            assert isinstance(p.message, str) and p.message, p
            assert "\n" not in p.message and "\r" not in p.message, p
        return exc


def check_render(exp: Experiment) -> None:
    from arena_run.render import render

    objects = render(exp)
    assert isinstance(objects, list) and objects
    for obj in objects:
        assert isinstance(obj, dict), obj
        assert obj.get("apiVersion") and obj.get("kind"), obj
        name = obj["metadata"]["name"]
        assert isinstance(name, str) and 1 <= len(name) <= 63, name


@PROFILE
@given(mutated_documents())
def test_mutated_documents_load_or_report_located_problems(case):
    fmt, text = case
    outcome = check_outcome(text, fmt, "exp." + fmt)
    if isinstance(outcome, Experiment):
        check_render(outcome)


@settings(PROFILE, max_examples=250)
@given(mutated_texts())
def test_edited_texts_load_or_report_located_problems(case):
    fmt, text = case
    file = os.path.join("some dir", "arena.yaml" if fmt == "yaml" else "arena.toml")
    outcome = check_outcome(text, fmt, file)
    if isinstance(outcome, Experiment):
        check_render(outcome)


@settings(PROFILE, max_examples=150)
@given(any_input)
def test_cli_validate_exits_0_or_1_and_agrees(case):
    from arena_run.cli import main

    fmt, text = case
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "arena." + fmt)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        code = main(["validate", path])
    assert code in (0, 1)
    if "\r" not in text:  # the CLI reads with universal newlines; load_text takes the text as is
        outcome = check_outcome(text, fmt, path)
        assert code == (1 if isinstance(outcome, SpecError) else 0), outcome


def test_every_key_takes_every_edge_value():
    """Not random: each real key of each table of two examples that have them all,
    set to each of FEW_EDGES (as TOML and YAML in turn); the
    same contract as above, every distinct failure listed at once."""
    assert all(None not in (e, *getattr(e, "values", list)()) for e in FEW_EDGES[::2])
    failures = {}
    seeds = [doc for name, doc in SEED_DOCS if name in ("seed.toml", "tf-distributed")]
    assert len(seeds) == 2
    for seed in seeds:
        for path, node in list(_containers(seed)):
            model = _model_for(path) if isinstance(node, dict) else None
            for field in sorted(model.model_fields) if model else ():
                for i, edge in enumerate(FEW_EDGES):
                    doc = copy.deepcopy(seed)
                    target = doc
                    for k in path:
                        target = target[k]
                    target[field] = copy.deepcopy(edge)
                    fmt = "yaml" if i % 2 else "toml"
                    text = to_yaml(doc) if fmt == "yaml" else to_toml(doc)
                    try:
                        outcome = check_outcome(text, fmt, "arena." + fmt, in_hypothesis=False)
                        if isinstance(outcome, Experiment):
                            check_render(outcome)
                    except Exception as exc:  # collected, to report every distinct failure
                        where = ".".join(map(str, path + (field,)))
                        failures.setdefault(f"{type(exc).__name__}: {exc}"[:200], f"{fmt}: {where} = {edge!r}")
    assert not failures, "\n".join(f"{v}  ->  {k}" for k, v in failures.items())
