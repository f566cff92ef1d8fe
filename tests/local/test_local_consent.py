"""A running local job is precious: apply stops it only with consent, as on a cluster (issue 17)."""

from __future__ import annotations

import pytest

from arena_run import api

from .conftest import wait_until
from .test_lifecycle import counter, lines

FOREVER = 'command = "echo {word} >> /out/runs; exec tail -f /dev/null"'


def running(local, word="one"):
    f = counter(local, "keep")
    f.write_text(f.read_text().replace('command = "echo one >> /out/runs"', FOREVER.format(word=word)))
    return f


def test_an_edit_under_yes_alone_is_refused_and_writes_nothing(local):
    f = running(local)
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["one"], what="the job up")
    before = local.store().objects("keep")
    f.write_text(f.read_text().replace("echo one", "echo two"))
    result = local.cli("apply", "--local", "-y", f)
    assert result.returncode == 3, result.stdout + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("refused:")]
    assert "TFJob local/keep is Running" in line and "re-run it from the start" in line and "--replace-running" in line
    assert "Started" not in result.stdout
    assert local.store().objects("keep") == before  # nothing of the experiment written
    assert local.status("keep")["phase"] == "Running" and lines(local) == ["one"]  # and it still runs

    allowed = local.cli("apply", "--local", "-y", "--replace-running", f)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    wait_until(lambda: lines(local) == ["one", "two"], what="the job re-run")
    assert [e["uid"] for e in local.store().objects("keep")] != [e["uid"] for e in before]


def test_the_python_api_refuses_alike(local, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(local.state))
    monkeypatch.setenv("XDG_DATA_HOME", str(local.data))
    f = running(local)
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["one"], what="the job up")
    f.write_text(f.read_text().replace("echo one", "echo two"))
    here = api.local()
    with pytest.raises(api.RestartRefused) as refused:
        api.apply(here, str(f))
    (restart,) = refused.value.refused
    assert (restart.name, restart.phase, restart.op) == ("keep", "Running", "replace")
    assert refused.value.results == [] and lines(local) == ["one"]
    (plan,) = api.plan(here, str(f))
    (action,) = [a for a in plan.changes if a.op == "replace"]
    api.apply(here, [plan], replace_running={action.key})  # consent for that job
    wait_until(lambda: lines(local) == ["one", "two"], what="the job re-run")


def test_a_finished_job_is_rerun_on_an_edit_without_being_asked(local):
    f = counter(local)
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    f = counter(local, word="two")
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(local) == ["one", "two"]
