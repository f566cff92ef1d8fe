"""How the suite is laid out: each test file's name says which one it is."""

from collections import defaultdict

from .conftest import ROOT


def test_no_two_test_files_share_a_basename():
    # `pytest -k`, tracebacks and the summary line name a test by its file's
    # basename; two test_engines.py (one offline, one against the cluster)
    # make each of those ambiguous.  An offline twin of a cluster test ends in _units.
    where = defaultdict(list)
    for path in (ROOT / "tests").rglob("test_*.py"):
        where[path.name].append(str(path.relative_to(ROOT)))
    assert len(where) > 40  # the glob found the suite
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}
