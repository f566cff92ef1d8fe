"""A switch of runner (process ↔ container) between applies is a change the plan shows, under issue 17's consent."""

from __future__ import annotations

import json
import subprocess

from arena_run.local.engine import LABEL

from ..waiting import until
from .test_local_containers import _mine

SLEEPER = '''
name = "switch"
[job]
type = "pytorch"
image = "{image}"
image_pull_policy = "Never"
workers = 1
command = "{command}"
'''
SWITCH = 'annotations.arena-run.io/runner: "container" → "process"'


def _ps() -> list[str]:
    return subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()


def _sync(clocal, f, env=None) -> str:
    items = json.loads(clocal.cli("status", "--local", f, "-o", "json", env=env, check=True).stdout)
    return items[0]["sync"]


def _running(engine, clocal):
    return [s for s in engine.containers({**_mine(clocal), LABEL + "experiment": "switch"}) if s.running]


def test_a_running_job_moves_to_the_other_runner_only_with_consent(clocal, engine, busybox_image):
    f = clocal.write("switch", SLEEPER.format(image=busybox_image, command="sleep 300"))
    clocal.cli("apply", "--local", "--container", "-y", f, check=True)
    first = until(lambda: _running(engine, clocal), timeout=60, interval=0.05, what="the job's container")
    uid = clocal.store().objects("switch")[0]["uid"]

    # Without --container the plan is a replacement, said so, not "No changes".
    plan = clocal.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "forces replacement: runner (--container)" in plan.stdout and SWITCH in plan.stdout
    same = clocal.cli("plan", "--local", "--container", "--detailed-exitcode", f)
    assert same.returncode == 0 and "No changes" in same.stdout, same.stdout + same.stderr
    # status of the file agrees with plan, the machine's runner being process; with the container
    # runner as the machine's default it is in sync again.
    assert _sync(clocal, f) == "changed (not applied)"
    assert _sync(clocal, f, env={"ARENA_RUN_LOCAL_RUNNER": "container"}) == "in sync"

    # Under -y alone the running job is not stopped: exit 3, nothing written, the same container runs.
    refused = clocal.cli("apply", "--local", "-y", f)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "PyTorchJob local/switch is Running" in refused.stderr and "runner (--container)" in refused.stderr
    assert clocal.store().objects("switch")[0]["uid"] == uid
    assert [s.id for s in _running(engine, clocal)] == [first[0].id]

    # With consent it moves: the container goes (podman ps -a as the referee), the job runs as a process.
    moved = clocal.cli("apply", "--local", "-y", "--replace-running", f)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    entry = clocal.store().objects("switch")[0]
    assert entry["uid"] != uid and entry["runner"] == "process"
    until(lambda: first[0].name not in _ps(), timeout=60, interval=0.1, what="the old container removed")
    until(lambda: clocal.status("switch")["phase"] == "Running", timeout=60, interval=0.1, what="Running")
    assert engine.containers(_mine(clocal)) == []
    assert clocal.cli("plan", "--local", "--detailed-exitcode", f).returncode == 0


def test_a_finished_job_is_re_run_in_the_runner_asked_for(clocal, engine, busybox_image):
    f = clocal.write("switch", SLEEPER.format(image=busybox_image, command="echo ran"))
    clocal.cli("apply", "--local", "-y", "--wait", f, check=True)  # as a process
    uid = clocal.store().objects("switch")[0]["uid"]
    plan = clocal.cli("plan", "--local", "--container", "--detailed-exitcode", f)
    assert plan.returncode == 2 and 'runner: "process" → "container"' in plan.stdout, plan.stdout + plan.stderr
    # A finished job needs no consent: it runs again, now in its image.
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    entry = clocal.store().objects("switch")[0]
    assert entry["uid"] != uid and entry["runner"] == "container"
    assert clocal.cli("plan", "--local", "--container", "--detailed-exitcode", f).returncode == 0
    assert not [n for n in _ps() if entry["uid"] in n]  # its container removed once it exited
