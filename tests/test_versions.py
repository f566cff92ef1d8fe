"""Which arena-run wrote an experiment's record: recorded, read back, and an older version refusing to write."""

from __future__ import annotations

import pytest

from arena_run import __version__
from arena_run.objects.applyset import TOOLING, newer_writer, version_of, written_by
from arena_run.plan import make_plan

from .test_plan import NS, exp, recorded


def test_the_parent_records_this_version():
    parent = make_plan(exp(), NS, recorded()).parent_last or recorded().parent
    assert parent["metadata"]["annotations"][TOOLING] == f"arena-run/{__version__}"
    assert written_by(parent) == __version__


@pytest.mark.parametrize("theirs,refused", [("0.1.0", False), (__version__, False), ("0.1.9", False),
                                            ("0.2.1", True), ("0.10.0", True), ("1.0", True), ("9.0.0", True),
                                            ("main", False), ("", False)])
def test_a_newer_writer_is_found_by_release_number(theirs, refused):
    live = recorded()
    live.parent["metadata"]["annotations"][TOOLING] = f"arena-run/{theirs}"
    assert (newer_writer(live.parent) == theirs) is refused


def test_an_older_arena_run_refuses_to_write_naming_both_versions():
    live = recorded()
    live.parent["metadata"]["annotations"][TOOLING] = "arena-run/9.0.0"
    (problem,) = make_plan(exp(), NS, live).problems
    assert "written by arena-run 9.0.0" in problem and f"this arena-run {__version__}" in problem


def test_recording_the_new_version_is_bookkeeping_not_a_change_to_review():
    live = recorded()
    live.parent["metadata"]["annotations"][TOOLING] = "arena-run/0.1.0"
    plan = make_plan(exp(), NS, live)
    assert not plan.changes and plan.has_changes  # apply writes the new version ...
    assert not plan.to_review  # ... and `plan --detailed-exitcode` stays 0


def test_release_numbers_compare_as_numbers():
    assert version_of("0.10.0") > version_of("0.9.1")
    assert version_of("0.2.0") == (0, 2, 0)
    assert version_of("0.2.0rc1") is None and version_of("") is None
