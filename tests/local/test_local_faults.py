"""Faults of the local target: what can be refused is refused before anything starts; what fails later fails the job.

Never a silent `Pending: waiting for the supervisor` with apply having said
"Started", never a `--wait` that hangs to its timeout (issue 18 item 7).
"""

from __future__ import annotations

import os

import pytest

from .conftest import processes_with

JOB = '''
name = "{name}"
[[data]]
pvc = "out"
mount = "/out"
[job]
image = "python:3.12"
command = "echo ran >> /out/runs"
{extra}
'''


def job(local, name="faulty", extra=""):
    return local.write(name, JOB.format(name=name, extra=extra))


def refused_before_anything(local, result, said):
    assert result.returncode == 1, result.stdout + result.stderr
    assert said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Started" not in result.stdout
    assert local.store().names() == [] and processes_with(str(local.state)) == []


def test_a_volume_that_is_a_regular_file_is_refused_before_anything_starts(local, tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    result = local.cli("apply", "--local", "-y", "--wait", "--timeout", "30", job(local),
                       "--volume", f"out={tmp_path / 'file'}")
    refused_before_anything(local, result, f"--volume out={tmp_path / 'file'}: not a directory")


@pytest.mark.parametrize("value", ["abc", "1.5", ""])
def test_a_core_count_that_is_no_number_is_refused_by_plan(local, value):
    if not value:  # empty: the variable is unset, as before
        assert local.cli("plan", "--local", job(local), env={"ARENA_RUN_LOCAL_CPUS": ""}).returncode == 0
        return
    result = local.cli("apply", "--local", "-y", "--wait", "--timeout", "30", job(local),
                       env={"ARENA_RUN_LOCAL_CPUS": value})
    refused_before_anything(local, result, f"ARENA_RUN_LOCAL_CPUS={value!r}: expected a whole number of cores")


@pytest.mark.parametrize("ledger", ["[1, 2]", '{"held": {"x": 1}}', '{"held": []}'])
def test_a_damaged_ledger_is_refused_in_one_line(local, ledger):
    (local.state / "arena-run").mkdir(parents=True)
    (local.state / "arena-run" / "resources.json").write_text(ledger)
    result = local.cli("apply", "--local", "-y", "--wait", "--timeout", "30", job(local))
    refused_before_anything(local, result, "resources.json is damaged")


def test_more_replicas_than_the_machine_can_start_are_refused_by_plan(local):
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    many = soft  # twice what half the open-file limit allows
    result = local.cli("plan", "--local", job(local, extra=f"workers = {many}"), timeout=60)
    assert result.returncode == 1 and f"has {many} replicas and this machine can start at most" in result.stdout \
        + result.stderr
    refused_before_anything(local, local.cli("apply", "--local", "-y", job(local, extra=f"workers = {many}")),
                            f"has {many} replicas")


def test_what_fails_at_start_fails_the_job_with_its_reason(local, tmp_path):
    (tmp_path / "file").write_text("x\n")
    inside_a_file = tmp_path / "file" / "out"  # validation cannot know; making the directory fails
    result = local.cli("apply", "--local", "-y", "--wait", "--timeout", "60", job(local),
                       "--volume", f"out={inside_a_file}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"StartFailed: Not a directory: {inside_a_file}" in result.stderr, result.stderr
    status = local.status("faulty")
    assert status["phase"] == "Failed"
    shown = local.cli("status", "--local", "faulty").stdout
    assert "Not a directory" in " ".join(shown.split()), shown
    assert processes_with(str(local.state)) == []
