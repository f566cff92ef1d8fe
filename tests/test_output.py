"""The YAML `render` writes: read as written by every reader, and the same bytes from libyaml and pure Python.

The real referee for "every reader" is kubectl (tests/cluster/test_render_kubectl.py);
here, offline: PyYAML reads back what was written, anything PyYAML's own YAML 1.1
resolver takes for a non-string is known ambiguous, and the C and pure-Python
emitters agree byte for byte on generated documents.
"""

from __future__ import annotations

import os
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena_run.render.output import HAVE_LIBYAML, ambiguous, to_yaml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from yaml_corpus import KNOWN, yamlish  # noqa: E402

PROFILE = settings(max_examples=100, deadline=None, database=None, derandomize=os.environ.get("CI") == "true",
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Keys up to 300 characters: libyaml and PyYAML disagree at 128 on when a key needs `?`.
TEXT = st.one_of(yamlish(), st.text(max_size=40), st.text(min_size=120, max_size=300))
SCALAR = st.one_of(TEXT, st.integers(), st.floats(), st.booleans(), st.none())
DOCS = st.lists(
    st.dictionaries(TEXT, st.recursive(SCALAR, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=20), max_size=6),
    min_size=1, max_size=3,
)


def _equal(a, b) -> bool:
    """== where NaN equals NaN (a float NaN is written .nan and must read back as one)."""
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_libyaml_is_there_to_compare_with():
    # Without it both sides of the comparison below would be the pure emitter.
    assert HAVE_LIBYAML, "PyYAML was built without libyaml"


@PROFILE
@given(DOCS)
def test_c_and_pure_emitters_write_the_same_bytes(docs):
    assert to_yaml(docs) == to_yaml(docs, pure=True)


@PROFILE
@given(DOCS, st.booleans())
def test_what_is_written_reads_back_equal(docs, pure):
    assert _equal(list(yaml.safe_load_all(to_yaml(docs, pure=pure))), docs)


@PROFILE
@given(yamlish())
def test_whatever_pyyaml_resolves_is_ambiguous(text):
    # PyYAML's resolver is YAML 1.1 (less go-yaml's y/n, 09, 1e3, 0o10):
    # `ambiguous` must cover all of it.
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    if tag != "tag:yaml.org,2002:str":
        assert ambiguous(text), (text, tag)


@pytest.mark.parametrize("text", [
    "y", "Y", "n", "N", "yes", "NO", "on", "Off", "true", "~", "null", "", "1e3", "1E-3", "0o10", "09", "010",
    "0x1F", "0b11", "1_000", "1,000", "1:30", "190:20:30.15", ".inf", "-.Inf", ".NaN", "1.0", ".5", "0.0.0.0",
    "1.2.3", "2001-12-14", "2002-1-2", "2001-12-14 21:59:43.10 -5", "<<", "=",
])
def test_the_known_dangerous_strings_are_quoted(text):
    assert ambiguous(text)
    written = to_yaml([{"k": text, text: "v"}])
    assert f"k: {text}\n" not in written and f"\n{text}: v" not in written
    assert f"k: '{text}'\n" in written and f"\n'{text}': v" in written


@pytest.mark.parametrize("text", ["1e", "0x", "e3", "yes please", "16Gi", "500m", "v1.2.3", "/data/1e3", "sh", "-c"])
def test_strings_no_reader_misreads_stay_plain(text):
    assert not ambiguous(text)
    assert to_yaml([{"k": text}]) == f"---\nk: {text}\n"


def test_a_long_key_is_written_as_libyaml_does():
    # 128 bytes is still a simple key for libyaml; PyYAML alone would write `? key`.
    for n in (127, 128, 129):
        docs = [{"k" * n: 1, "é" * (n // 2): 2}]
        assert to_yaml(docs) == to_yaml(docs, pure=True)
    assert to_yaml([{"k" * 128: 1}], pure=True) == "---\n" + "k" * 128 + ": 1\n"
    assert to_yaml([{"k" * 129: 1}], pure=True) == "---\n? " + "k" * 129 + "\n: 1\n"


def test_the_corpus_round_trips():
    docs = [{s: s for s in KNOWN}, {"list": KNOWN}]
    assert to_yaml(docs) == to_yaml(docs, pure=True)
    assert list(yaml.safe_load_all(to_yaml(docs))) == docs
