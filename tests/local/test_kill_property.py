"""A property of the local target under faults: kill anything at any moment, and status tells the truth, the next
apply or delete converges, and nothing is left running (issue 18).

Each example applies a two-replica job with `--wait`, SIGKILLs the
supervisor, one replica or arena-run itself after a random delay, then
checks what status says against what runs, and either applies again
(`--rerun --wait`: it must succeed) or deletes (nothing may be left).
Bounded: a few examples of a few seconds each.
"""

from __future__ import annotations

import json
import os
import signal
import time

from hypothesis import example, given, settings, strategies as st

from arena_run.local.state import read_json

from .conftest import Local, processes_with, wait_until

FILE = '''
name = "victim"
[job]
image = "python:3.12"
workers = 2
command = "sleep 1.5"
'''


def _supervisor_pid(local):
    return (read_json(local.store().dir("victim") + "/supervisor.json") or {}).get("pid")


def _replicas(local, supervisor):
    """Pids of this test's replica processes (everything with its state directory in the environment, but the
    supervisor and the CLI)."""
    out = []
    for pid in processes_with(str(local.state)):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except FileNotFoundError:
            continue
        if b"arena_run.local.sandbox" in cmd and pid != supervisor:
            out.append(pid)
    return out


def _truth(local):
    """What status says agrees with what runs."""
    store = local.store()
    alive = store.supervisor_alive("victim")
    shown = local.cli("status", "--local", "victim", "-o", "json")
    items = json.loads(shown.stdout)
    if not items:  # arena-run was killed before it wrote the record: then nothing may run either
        assert shown.returncode == 1, shown  # a name not found, whatever -o says (docs/json.md)
        assert not alive
        wait_until(lambda: processes_with(str(local.state)) == [], what="nothing running")
        return
    assert shown.returncode == 0, shown
    (item,) = items
    for job in item["jobs"]:
        if job["phase"] in ("Running", "Pending", "Created", "Restarting"):
            assert alive, f"status says {job['phase']} with no supervisor alive: {job}"
    for entry in store.objects("victim"):
        run = store.run_status("victim", entry["uid"]) or {}
        replicas = {(r["role"], r["index"]): r for r in run.get("replicas") or []}
        for r in replicas.values():
            if r["state"] in ("succeeded", "failed", "stopped"):
                # A replica shown ended says how, truthfully: Succeeded exactly when its status was 0.
                assert (r["state"] == "succeeded") == (r["exitCode"] == 0), r
        if run.get("phase") == "Succeeded":
            assert replicas[("Worker", 0)]["state"] == "succeeded", run  # the replica that decides
    if not alive:  # its replicas die with it (a parent-death signal: at once, not in the same instant)
        wait_until(lambda: processes_with(str(local.state)) == [], what="the replicas gone with the supervisor")


@settings(max_examples=6, deadline=None)
@given(victim=st.sampled_from(["supervisor", "replica", "arena-run"]),
       delay=st.floats(0, 1.5), then=st.sampled_from(["apply", "delete"]))
@example(victim="arena-run", delay=0.0, then="apply")  # killed before its first write: the name is not found
def test_kill_anything_anytime_then_status_tells_the_truth_and_the_next_step_converges(
        tmp_path_factory, victim, delay, then):
    local = Local(tmp_path_factory.mktemp("kill"))
    f = local.write("victim", FILE)
    try:
        cli = local.popen("apply", "--local", "-y", "--wait", "--timeout", "60", f)
        time.sleep(delay)  # the random point of the apply at which the fault strikes (not a synchronisation)
        if victim == "arena-run":
            pids = [cli.pid]
        elif victim == "supervisor":
            pids = [p for p in [_supervisor_pid(local)] if p]
        else:
            pids = _replicas(local, _supervisor_pid(local))[:1]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cli.communicate(timeout=90)  # --wait ends: the job ended, failed, or it was killed itself
        _truth(local)
        if then == "apply":
            again = local.cli("apply", "--local", "-y", "--rerun", "--wait", "--timeout", "60", f)
            assert again.returncode == 0, again.stdout + again.stderr
            assert local.status("victim")["phase"] == "Succeeded"
            wait_until(lambda: not local.store().supervisor_alive("victim"), what="the supervisor done")
            assert processes_with(str(local.state)) == []
        else:
            deleted = local.cli("delete", "--local", "-y", "victim")
            assert deleted.returncode == 0, deleted.stderr
            assert processes_with(str(local.state)) == [] and local.store().names() == []
    finally:
        for name in local.store().names():
            local.cli("delete", "--local", "-y", name)
