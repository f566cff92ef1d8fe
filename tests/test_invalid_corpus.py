"""Every file under tests/invalid/ is wrong in a known way, stated in its header:

    # expect: LINE[:COL] key.path: a substring of the message
    # schema: reject | accept | n/a

Each `expect` line is one problem the validator must report, at that line
and key path; together they are all it may report.  `schema` says whether
the generated JSON Schema also rejects the file (`accept`: a rule only the
validator knows, such as a logdir under a mount; `n/a`: not even parseable).
"""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from arena_run.spec.errors import SpecError
from arena_run.spec.load import load, parse, read

from .bounded import within_bounds
from .conftest import ROOT

CORPUS = sorted((ROOT / "tests" / "invalid").glob("*.*"))
EXPECT = re.compile(r"^# expect: (\d+)(?::(\d+))? (\S*): (.+)$")
SCHEMA = re.compile(r"^# schema: (reject|accept|n/a)$")


def header(path: Path):
    expects, schema = [], None
    # Bytes: a corpus file may be wrong in its very encoding.
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        if m := EXPECT.match(line):
            expects.append((int(m[1]), int(m[2]) if m[2] else None, m[3], m[4]))
        elif m := SCHEMA.match(line):
            schema = m[1]
    return expects, schema


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_reports_exactly_the_expected_problems(path):
    expects, schema = header(path)
    assert expects, f"{path.name} states no `# expect:` line"
    assert schema, f"{path.name} states no `# schema:` line"
    with pytest.raises(SpecError) as exc:
        load(str(path))
    problems = exc.value.problems
    got = sorted((p.line, p.path) for p in problems)
    assert got == sorted((line, key) for line, _, key, _ in expects), "\n".join(map(str, problems))
    for line, col, key, text in expects:
        match = [p for p in problems if (p.line, p.path) == (line, key)]
        assert any(text in p.message for p in match), f"{text!r} not in {[p.message for p in match]}"
        if col is not None:
            assert any(p.column == col for p in match), [p.column for p in match]
        for p in match:
            assert p.file == str(path)
            assert "\n" not in p.message


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_schema_verdict(path, schema_validator):
    _, schema = header(path)
    if schema == "n/a":
        with pytest.raises(SpecError):
            parse(read(str(path)))
        return
    errors = list(schema_validator.iter_errors(parse(read(str(path)))))
    assert bool(errors) == (schema == "reject"), [e.message for e in errors]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_answered_within_time_and_memory(path, bounded_worker):
    """Each file is answered in 2 s and 200 MB (issue 9), measured in a separate process."""
    answer = bounded_worker.load(str(path))
    within_bounds(answer, path.name)
    assert answer["outcome"] == "problems"


@pytest.fixture(scope="module")
def schema_validator():
    schema = json.loads((ROOT / "schemas" / "arena.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=None)
