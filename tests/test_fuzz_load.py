"""A bounded fuzz of `load`: whatever bytes a file holds, a located answer within 2 s and 200 MB.

Inputs (hypothesis):
  * structure-aware: documents generated from the JSON Schema (as in
    test_schema_agreement), with hostile subtrees grafted in (nesting hundreds
    deep, long strings, huge integers, control characters in keys and
    values), written as TOML or YAML;
  * hostile texts: nested brackets, alias bombs, thousand-part dotted
    headers, 5,000-digit integers, megabyte lines, lone CRs, a BOM, NULs;
  * byte mutations of the examples: bytes flipped, inserted, deleted, ranges
    repeated (so inputs grow towards the size cap) and spliced between files.

Each input is written to a file and loaded by the bounded worker (a separate
process, tests/bounded.py), which reports the time and peak memory of each
answer.  Properties: never an internal error; every problem located (line and
column >= 1, one line of text) except the file-level answer to a file over the
size cap; each answer within 2 s and 200 MB.  The run stops generating after
FUZZ_SECONDS (default 40), so CI pays a bounded time whatever the machine.
"""

from __future__ import annotations

import os
import time

import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from arena_run.spec.files import MAX_BYTES

from .bounded import within_bounds
from .conftest import EXAMPLES
from .experiments import to_toml
from .test_schema_agreement import SCHEMA, table

BUDGET = float(os.environ.get("FUZZ_SECONDS", "40"))
SEEDS = [p.read_bytes() for p in EXAMPLES]

PROFILE = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")),
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=list(HealthCheck),
)

# --- hostile pieces ----------------------------------------------------------------

NASTY_STRINGS = st.sampled_from([
    "a\nb", "\x1b]0;title\x07", "\x1b[31mred", "\u2028", "\x85", "\x00", "{{lr}}", "..", "//data", "/a/../b",
    "ab\n", "\ufeff", "x" * 5000, "é" * 300, "\\", '"', "'", "$(rm -rf /)", "\r",
])
NASTY_NUMBERS = st.sampled_from([2**31, 2**63, -(2**63), 10**100, 1e308, -0.0, 1.0, 2.5, 0.1, 1e-5])


def deep(depth: int, kind: str) -> object:
    node: object = 1
    for _ in range(depth):
        node = [node] if kind == "list" else {"a": node}
    return node


@st.composite
def grafted_documents(draw) -> tuple[str, bytes]:
    """A schema-shaped document with a hostile subtree grafted in."""
    doc = draw(table(SCHEMA, 0))
    graft = draw(st.one_of(
        NASTY_STRINGS, NASTY_NUMBERS,
        st.builds(deep, st.integers(5, 200), st.sampled_from(["list", "dict"])),
        st.lists(st.integers(0, 9), min_size=900, max_size=1100),
        st.dictionaries(NASTY_STRINGS, st.integers(0, 3), max_size=3),
    ))
    target = doc
    path = draw(st.lists(st.sampled_from(["job", "serve", "data", "env", "labels", "sweep", "x"]), max_size=3))
    for key in path:
        child = target.get(key) if isinstance(target, dict) else None
        if not isinstance(child, dict):
            break
        target = child
    if isinstance(target, dict):
        target[draw(st.one_of(st.sampled_from(["gpus", "name", "image", "lr", "mount"]), NASTY_STRINGS))] = graft
    fmt = draw(st.sampled_from(["toml", "yaml"]))
    try:
        text = to_toml(doc) if fmt == "toml" else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(doc)
    return fmt, text.encode("utf-8", "surrogatepass")


def _bomb(levels: int, width: int) -> str:
    lines = ["name: bomb", "a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@st.composite
def hostile_texts(draw) -> tuple[str, bytes]:
    n = draw(st.integers(1, 3000))
    kind = draw(st.sampled_from(["arrays", "inline", "flow", "block", "bomb", "dotted", "digits", "line", "cr",
                                 "bom", "nul", "keys"]))
    fmt = "yaml" if kind in ("flow", "block", "bomb") else "toml"
    text = {
        "arrays": lambda: 'name = "x"\nx = ' + "[" * n + "]" * n + "\n",
        "inline": lambda: 'name = "x"\nx = ' + "{a=" * n + "1" + "}" * n + "\n",
        "flow": lambda: "name: x\nx: " + "[" * n + "]" * n + "\n",
        "block": lambda: "name: x\n" + "".join(" " * i + "a:\n" for i in range(min(n, 1500))) + " " * min(n, 1500) + "b: 1\n",
        "bomb": lambda: _bomb(draw(st.integers(2, 12)), draw(st.integers(2, 12))),
        "dotted": lambda: 'name = "x"\n[' + ".".join(["a"] * n) + "]\nb = 1\n",
        "digits": lambda: 'name = "x"\n[job]\nimage = "i"\ncommand = "c"\ngpus = ' + "7" * (n * 3) + "\n",
        "line": lambda: 'name = "x"\n[job]\nimage = "i"\ncommand = "c"\nimage_pull_secrets = [' + '"a",' * (n * 80) + '"B"]\n',
        "cr": lambda: 'name = "x"\r[job]\rimage = "i"\r',
        "bom": lambda: '\ufeffname = "x"\n[job]\nimage = "i"\ncommand = "c"\n',
        "nul": lambda: 'name = "x\x00"\n',
        "keys": lambda: 'name = "x"\n[labels]\n' + "".join(f'"k{i}\\n\\u001b" = "v"\n' for i in range(n)),
    }[kind]()
    if draw(st.booleans()) and kind in ("arrays", "inline", "dotted"):
        fmt = "yaml"  # the same text to the other parser
    return fmt, text.encode("utf-8", "surrogatepass")


@st.composite
def mutated_examples(draw) -> tuple[str, bytes]:
    i = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(SEEDS[i])
    fmt = "yaml" if EXAMPLES[i].suffix in (".yaml", ".yml") else "toml"
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "splice"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b"[", b"{", b"]", b"}", b"&a ", b"*a", b"\n  ", b"\r", b'"', b"'''", b"\xef\xbb\xbf", b"\xff", b"{{lr}}"]))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "repeat":
            piece = bytes(data[at : at + draw(st.integers(1, 200))])
            data[at:at] = piece * draw(st.integers(1, 5000))
        elif op == "splice":
            other = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 300))]
        if len(data) > 2 * MAX_BYTES:
            break
    return fmt, bytes(data)


_STARTED: list[float] = []  # when the first input ran, then one entry per input run
_FAILED: list[bool] = []


@PROFILE
@given(st.one_of(grafted_documents(), hostile_texts(), mutated_examples()), st.booleans())
def test_any_file_is_answered_located_within_bounds(bounded_worker, tmp_path_factory, case, yml):
    if not _STARTED:
        _STARTED.append(time.monotonic())
    if time.monotonic() - _STARTED[0] > BUDGET and not _FAILED:
        return  # the time is spent: the rest of the examples pass through unrun (but a failure is replayed)
    _STARTED.append(0)  # one more input run
    fmt, data = case
    name = "arena." + ("yml" if yml else "yaml") if fmt == "yaml" else "arena.toml"
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    note(f"{name}, {len(data)} bytes: {data[:400]!r}")
    try:
        _check(bounded_worker.load(str(path)), str(path), name, data)
    except BaseException:
        _FAILED.append(True)  # hypothesis replays it to shrink it: past the budget too
        raise
    path.unlink()


def _check(answer: dict, path: str, name: str, data: bytes) -> None:
    within_bounds(answer, name)
    if answer["outcome"] == "ok":
        return
    problems = answer["problems"]
    assert problems, answer
    for p in problems:
        assert p["file"] == path, p
        if p["line"] == 0:  # the file as a whole: only for one over the cap
            assert len(data) > MAX_BYTES and "an experiment file may have at most" in p["message"], p
            continue
        assert p["line"] >= 1 and p["column"] >= 1, p
        assert p["line"] <= data.count(b"\n") + data.count(b"\r") + 2, p
        for text in (p["message"], p["path"]):
            assert "\n" not in text and "\r" not in text, p
        assert len(p["message"]) < 1000, p


def test_the_fuzz_ran_enough_inputs():
    """After the fuzz (tests run in file order): the budget bought a meaningful number of inputs."""
    assert len(_STARTED) - 1 >= 100, f"only {len(_STARTED) - 1} inputs in {BUDGET} s"
