"""logs (-f, --tail, roles), top, prune and delete on the container runner, as they work for processes."""

from __future__ import annotations

import json
import subprocess

from arena_run.local.engine import LABEL

from ..waiting import until
from .test_local_containers import _mine

# Each replica says who it is; the master then waits for the test's go (a file in the shared volume).
TALKER = '''
name = "{name}"
[[data]]
pvc = "{name}"
mount = "/data"
[job]
type = "pytorch"
image = "{image}"
image_pull_policy = "Never"
workers = {workers}
{gpus}
command = """
for i in 1 2 3; do echo "$HOSTNAME line $i"; done
if [ "$RANK" = 0 ]; then until [ -e /data/go ]; do sleep 0.1; done; echo "$HOSTNAME goes"; fi
"""
'''


def _ps() -> list[str]:
    return subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()


def _ours_on_podman(clocal, uid: str) -> list[str]:
    """What podman lists of a run: its containers (ps -a) and its network."""
    nets = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                          check=True).stdout.split()
    return [n for n in _ps() + nets if uid in n]


def _start(clocal, engine, image, name, gpus="", workers=3):
    f = clocal.write(name, TALKER.format(name=name, image=image, gpus=gpus, workers=workers))
    clocal.cli("apply", "--local", "--container", "-y", f, check=True)
    mine = {**_mine(clocal), LABEL + "experiment": name}
    until(lambda: len([s for s in engine.containers(mine) if s.running]) == 1 and
          "line 3" in clocal.cli("logs", "--local", name, "--role", "master").stdout,
          timeout=60, interval=0.1, what="the master waiting, the workers done")
    return f, clocal.store().objects(name)[0]["uid"]


def test_logs_by_role_and_index_tail_and_follow(clocal, engine, busybox_image):
    _, uid = _start(clocal, engine, busybox_image, "talk")
    worker1 = clocal.cli("logs", "--local", "talk", "--role", "worker", "--index", "1", check=True).stdout
    assert worker1.splitlines() == [f"talk-worker-1 line {i}" for i in (1, 2, 3)]
    tail = clocal.cli("logs", "--local", "talk", "--role", "master", "--tail", "1", check=True).stdout
    assert tail.splitlines() == ["talk-master-0 line 3"]
    # -f streams what the container writes from now on and ends when it does.
    follow = clocal.popen("logs", "--local", "talk", "--role", "master", "-f")
    try:
        (clocal.volume("talk") / "go").write_text("")
        out, err = follow.communicate(timeout=60)
    finally:
        follow.kill()
    assert follow.returncode == 0, err
    assert out.splitlines() == [f"talk-master-0 line {i}" for i in (1, 2, 3)] + ["talk-master-0 goes"]
    until(lambda: clocal.status("talk")["phase"] == "Succeeded", timeout=60, interval=0.1, what="Succeeded")
    assert until(lambda: not _ours_on_podman(clocal, uid), timeout=30, interval=0.1, what="its containers gone",
                 ) is True


def test_top_shows_a_jobs_gpus_held_in_containers(clocal, engine, busybox_image, cdi_gpus):
    _start(clocal, engine, busybox_image, "gputop", gpus="gpus = 1", workers=2)

    def top():
        jobs = json.loads(clocal.cli("top", "job", "--local", "-o", "json", check=True).stdout)
        return [(j["name"], j["phase"], j["gpus_requested"], j["gpus_allocated"]) for j in jobs]

    # Once the supervisor has seen the worker end, only the master's GPU is held.
    until(lambda: top() == [("gputop", "Running", 2, 1)], timeout=30, interval=0.1, what="top: 1 of 2 GPUs held")
    node = clocal.cli("top", "node", "--local", check=True).stdout
    assert "Allocated/Total GPUs in cluster: 1/2" in node, node
    (clocal.volume("gputop") / "go").write_text("")
    until(lambda: clocal.status("gputop")["phase"] == "Succeeded", timeout=60, interval=0.1, what="Succeeded")
    assert "Allocated/Total GPUs in cluster: 0/2" in clocal.cli("top", "node", "--local", check=True).stdout


def test_prune_takes_only_the_finished_and_delete_a_running_one_leaving_nothing(clocal, engine, busybox_image):
    _, done_uid = _start(clocal, engine, busybox_image, "finished")
    (clocal.volume("finished") / "go").write_text("")
    until(lambda: clocal.status("finished")["phase"] == "Succeeded", timeout=60, interval=0.1, what="Succeeded")
    _, running_uid = _start(clocal, engine, busybox_image, "running")

    dry = clocal.cli("prune", "--local", "--since", "0s", "--dry-run", check=True).stdout
    assert "Experiment finished in local" in dry and "running" not in dry.replace("finished", "")
    pruned = clocal.cli("prune", "--local", "--since", "0s", "-y", check=True)
    assert "Deleted 1 experiment(s)" in pruned.stdout, pruned.stdout + pruned.stderr
    assert clocal.store().names() == ["running"]
    assert _ours_on_podman(clocal, done_uid) == []
    assert [n for n in _ours_on_podman(clocal, running_uid) if n.startswith("arena-run-" + running_uid + "-")]

    deleted = clocal.cli("delete", "--local", "-y", "running", check=True)
    assert "Deleted running" in deleted.stdout
    # podman as the referee: no container, network or volume of the run, none of this state directory.
    assert _ours_on_podman(clocal, running_uid) == []
    assert engine.containers(_mine(clocal)) == [] and engine.networks(_mine(clocal)) == []
    assert engine.volumes(_mine(clocal)) == []
