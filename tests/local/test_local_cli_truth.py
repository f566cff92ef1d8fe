"""What the CLI says of a local apply is what happened (issue 18 items 6, 8, 12)."""

from __future__ import annotations

import signal

from .conftest import processes_with, wait_until

SLEEPER = '''
name = "{name}"
[job]
image = "python:3.12"
command = "{command}"
'''


def test_started_only_when_something_started(local):
    f = local.write("once", SLEEPER.format(name="once", command="sleep 300"))
    first = local.cli("apply", "--local", "-y", f)
    assert first.returncode == 0 and "Started once on this machine: TFJob once" in first.stdout, first.stdout


def test_two_applies_of_one_plan_start_it_once_and_say_so(local, monkeypatch):
    from arena_run import api

    monkeypatch.setenv("XDG_STATE_HOME", str(local.state))
    monkeypatch.setenv("XDG_DATA_HOME", str(local.data))
    f = local.write("race", SLEEPER.format(name="race", command="sleep 300"))
    here = api.local()
    plans_a, plans_b = api.plan(here, api.load([str(f)])), api.plan(here, api.load([str(f)]))  # as two CLIs would
    (a,) = api.apply(here, plans_a)
    (b,) = api.apply(here, plans_b)
    assert a.started == ["TFJob race"] and b.started == []  # the second found it done: nothing started


def test_ctrl_c_of_a_wait_says_the_job_goes_on_and_how_to_stop_it(local):
    f = local.write("long", SLEEPER.format(name="long", command="sleep 300"))
    proc = local.popen("apply", "--local", "-y", "--wait", f)
    wait_until(lambda: local.store().supervisor_alive("long") and local.status("long")["phase"] == "Running",
               what="the job running")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    said = " ".join(err.split())
    assert "what runs goes on on this machine" in said and "arena-run delete --local long" in said, err
    assert "aborted" not in err
    assert local.status("long")["phase"] == "Running"
    deleted = local.cli("delete", "--local", "-y", "long")
    assert "Deleted long: nothing of it runs on this machine any more" in deleted.stdout
    assert processes_with(str(local.state)) == []
