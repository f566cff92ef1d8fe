"""Asked only when something runs: forgetting or re-running what has finished needs no terminal (issue 18).

`delete --local` and plans that only delete (or re-run) finished jobs asked
"Stop and replace these…?" and, without a terminal, failed although nothing
ran.  Stopping what runs is still asked (issue 17's consent), and without a
terminal still refused.
"""

from __future__ import annotations

import subprocess
import sys

from ..conftest import ROOT
from .conftest import processes_with, wait_until
from .test_lifecycle import lines

SWEEP = '''
name = "pts"
[[data]]
pvc = "out"
mount = "/out"
[job]
image = "python:3.12"
command = "echo {word}-$ARENA_PARAM_LR >> /out/runs"
[sweep]
lr = {points}
'''


def without_terminal(local, *args):
    """The CLI with no terminal at all (stdin not a tty, as in CI or a pipe), never -y."""
    result = subprocess.run([sys.executable, "-m", "arena_run", *map(str, args)], cwd=ROOT, env=local.env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_a_plan_that_only_forgets_or_reruns_finished_jobs_needs_no_terminal(local):
    f = local.write("pts", SWEEP.format(word="one", points="[1, 2]"))
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert sorted(lines(local)) == ["one-1", "one-2"]

    local.write("pts", SWEEP.format(word="one", points="[1]"))  # point 2, finished, leaves the file
    forgot = without_terminal(local, "apply", "--local", f)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    assert "terminal" not in forgot.stderr
    assert len(local.store().objects("pts")) == 1

    local.write("pts", SWEEP.format(word="two", points="[1]"))  # the finished point re-runs
    rerun = without_terminal(local, "apply", "--local", "--wait", f)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(lines(local)) == ["one-1", "one-2", "two-1"]


def test_delete_of_what_has_finished_needs_no_terminal(local):
    f = local.write("pts", SWEEP.format(word="one", points="[1]"))
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    deleted = without_terminal(local, "delete", "--local", "pts")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert "Deleted pts" in deleted.stdout and local.store().names() == []


def test_stopping_what_runs_is_still_asked_and_refused_without_a_terminal(local):
    f = local.write("pts", SWEEP.format(word="one", points="[1]").replace(
        '>> /out/runs"', '>> /out/runs; exec tail -f /dev/null"'))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["one-1"], what="the job up")
    refused = without_terminal(local, "delete", "--local", "pts")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "no terminal to confirm on: pass --yes to go ahead" in refused.stderr
    assert local.status("pts")["phase"] == "Running"
    local.write("pts", SWEEP.format(word="one", points="[2]"))  # the running point 1 would be deleted
    replaced = without_terminal(local, "apply", "--local", f)
    assert replaced.returncode == 1, replaced.stdout + replaced.stderr
    assert "no terminal to confirm on" in replaced.stderr and local.status("pts")["phase"] == "Running"
    assert local.cli("delete", "--local", "-y", "pts").returncode == 0
    assert processes_with(str(local.state)) == []
