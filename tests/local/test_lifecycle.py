"""A local experiment's life: idempotent re-apply, replace, --rerun, restarts, deadline, TTL, delete, lost supervisors."""

from __future__ import annotations

import json
import os
import signal

from .conftest import processes_with, wait_until

# A job that appends one line per run to a file in its volume, so a test
# counts how often it really ran.
COUNTER = '''
name = "{name}"
[[data]]
pvc = "out"
mount = "/out"
[job]
image = "python:3.12"
command = "echo {word} >> /out/runs"
{extra}
'''


def counter(local, name="count", word="one", extra=""):
    return local.write(name, COUNTER.format(name=name, word=word, extra=extra))


def lines(local, claim="out"):
    path = local.volume(claim) / "runs"
    return path.read_text().split() if path.exists() else []


def test_reapply_runs_nothing_change_replaces_rerun_reruns(local):
    f = counter(local)
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert lines(local) == ["one"]
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 0 and "No changes." in plan.stdout  # finished and unchanged: stays finished
    again = local.cli("apply", "--local", "-y", "--wait", f)
    assert again.returncode == 0 and "No changes." in again.stdout
    assert lines(local) == ["one"]  # nothing ran again

    f = counter(local, word="two")
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 2 and "-/+ TFJob count" in plan.stdout and "forces replacement: job.command" in plan.stdout
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert lines(local) == ["one", "two"]

    rerun = local.cli("plan", "--local", "--rerun", "--detailed-exitcode", f)
    assert rerun.returncode == 2 and "--rerun of a finished job" in rerun.stdout
    assert local.cli("apply", "--local", "-y", "--rerun", "--wait", f).returncode == 0
    assert lines(local) == ["one", "two", "two"]
    assert local.status("count")["sync"] == "in sync"


def test_restart_on_failure_until_the_backoff_limit(local):
    f = counter(local, "flaky", extra='restart_policy = "OnFailure"\nbackoff_limit = 2')
    text = f.read_text().replace('command = "echo one >> /out/runs"', 'command = "echo try >> /out/runs; exit 3"')
    f.write_text(text)
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 1
    assert "BackoffLimitExceeded" in result.stderr and "exited with status 3" in result.stderr
    assert lines(local) == ["try"] * 3  # the first run and two restarts
    status = local.status("flaky")
    assert status["phase"] == "Failed"


def test_restart_then_success(local):
    f = counter(local, "second", extra='restart_policy = "OnFailure"\nbackoff_limit = 3')
    f.write_text(f.read_text().replace(
        'command = "echo one >> /out/runs"',
        'command = "echo go >> /out/runs; test $(wc -l < /out/runs) -ge 2"'))
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert lines(local) == ["go", "go"]
    (run,) = local.runs("second")
    assert run["phase"] == "Succeeded" and run["restarts"] == 1


def test_never_restarts_with_restart_policy_never(local):
    f = counter(local, "once", extra='restart_policy = "Never"\nbackoff_limit = 5')
    f.write_text(f.read_text().replace('command = "echo one >> /out/runs"', 'command = "echo x >> /out/runs; exit 1"'))
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 1 and "worker 0 exited with status 1" in result.stderr
    assert lines(local) == ["x"]


def test_active_deadline_stops_the_job(local):
    f = counter(local, "slow", extra='active_deadline = "2s"')
    f.write_text(f.read_text().replace('command = "echo one >> /out/runs"',
                                       'command = "echo started >> /out/runs; exec tail -f /dev/null"'))
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 1 and "DeadlineExceeded" in result.stderr
    assert lines(local) == ["started"]
    assert processes_with(str(local.state)) == []  # the replica was stopped


def test_ttl_removes_a_finished_job_and_it_is_not_run_again(local):
    f = counter(local, "short", extra='ttl_after_finished = "1s"')
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    store = local.store()
    wait_until(lambda: not store.objects("short"), what="the job removed after its TTL")
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 0 and "finished and removed after its TTL" in local.cli(
        "plan", "--local", "--all", f).stdout
    assert lines(local) == ["one"]
    assert local.cli("apply", "--local", "-y", "--rerun", "--wait", f).returncode == 0
    assert lines(local) == ["one", "one"]


def test_delete_of_a_running_experiment_leaves_no_process(local):
    f = counter(local, "forever")
    f.write_text(f.read_text().replace('command = "echo one >> /out/runs"',
                                       'command = "echo up >> /out/runs; (exec tail -f /dev/null) & exec tail -f /dev/null"')
                 .replace("[job]", "[job]\nworkers = 2"))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["up", "up"], what="both replicas up")
    assert local.status("forever")["phase"] == "Running"
    assert len(processes_with(str(local.state))) >= 4  # replicas, their children and the supervisor
    result = local.cli("delete", "--local", "-y", "forever")
    assert result.returncode == 0 and "Deleted forever" in result.stdout
    assert processes_with(str(local.state)) == []
    assert local.cli("status", "--local").stdout.strip() == "No local experiments."


def test_a_killed_supervisor_is_reported_never_running(local):
    f = counter(local, "orphan")
    f.write_text(f.read_text().replace('command = "echo one >> /out/runs"',
                                       'command = "echo up >> /out/runs; exec tail -f /dev/null"'))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    wait_until(lambda: lines(local) == ["up"], what="the replica up")
    store = local.store()
    pid = json.loads(open(store.dir("orphan") + "/supervisor.json").read())["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not processes_with(str(local.state)), what="the replicas gone with their supervisor")
    status = local.status("orphan")
    assert status["phase"] == "Failed"
    assert status["jobs"][0]["phase"] == "Failed"
    text = local.cli("status", "--local", "orphan").stdout
    assert "Running" not in text and "supervisor of orphan is gone" in text
    # It is a failed job now: an apply records it as such and runs nothing; --rerun runs it again.
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    assert local.cli("plan", "--local", "--detailed-exitcode", f).returncode == 0
    assert lines(local) == ["up"]
    assert local.cli("apply", "--local", "-y", "--rerun", f).returncode == 0
    wait_until(lambda: lines(local) == ["up", "up"], what="the rerun")
    assert local.status("orphan")["phase"] == "Running"


def test_two_applies_at_once_run_the_job_once(local):
    f = counter(local, "race")
    procs = [local.popen("apply", "--local", "-y", f) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = local.store()
    (entry,) = store.objects("race")
    wait_until(lambda: (store.run_status("race", entry["uid"]) or {}).get("phase") == "Succeeded", what="the run")
    assert lines(local) == ["one"]
    assert store.run_ids("race") == [entry["uid"]]
