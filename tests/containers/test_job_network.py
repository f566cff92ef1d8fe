"""A job's replicas in containers meet on a network of their own, by their pods' names, as on a cluster."""

from __future__ import annotations

import json
import socket
import subprocess

from arena_run.local.engine import LABEL

from ..waiting import until
from .test_local_containers import _mine

# The master answers on MASTER_PORT; the worker waits for the test's go, then asks it by MASTER_ADDR.
MEET = '''
name = "meet"
[[data]]
pvc = "meet"
mount = "/data"
[job]
type = "pytorch"
image = "{image}"
image_pull_policy = "Never"
workers = 2
command = """
env | grep -E '^(MASTER_ADDR|MASTER_PORT|RANK|HOSTNAME)=' | sort > /data/env-$RANK
if [ "$RANK" = 0 ]; then exec nc -l -p "$MASTER_PORT" -e echo hello-from-the-master; fi
until [ -e /data/go ]; do sleep 0.1; done
until echo | nc "$MASTER_ADDR" "$MASTER_PORT" > /data/heard; do sleep 0.1; done
"""
'''


def _inspect(name: str) -> dict:
    return json.loads(subprocess.run(["podman", "container", "inspect", name], capture_output=True, text=True,
                                     check=True).stdout)[0]


def test_replicas_meet_by_name_on_the_jobs_network_and_nothing_reaches_them_from_the_host(
        clocal, engine, busybox_image):
    f = clocal.write("meet", MEET.format(image=busybox_image))
    clocal.cli("apply", "--local", "--container", "-y", f, check=True)
    net = "arena-run-" + clocal.store().objects("meet")[0]["uid"]  # the run's network, by its uid
    mine = {**_mine(clocal), LABEL + "experiment": "meet"}
    running = until(lambda: len(r := [s for s in engine.containers(mine) if s.running]) == 2 and r,
                    timeout=60, interval=0.05, what="both replicas")
    master = next(s for s in running if s.labels[LABEL + "role"] == "master")
    # The job's network, made for it and labelled as its containers are; each replica on it alone.
    assert net in engine.networks(mine)
    for s in running:
        networks = _inspect(s.id)["NetworkSettings"]["Networks"]
        assert list(networks) == [net]
        assert s.labels[LABEL + "replica"] in networks[net]["Aliases"]
    # The master listens on the operator's port in its own namespace: not on this machine's.
    until(lambda: ":23456" in subprocess.run(["podman", "exec", master.id, "netstat", "-ltn"],
                                             capture_output=True, text=True).stdout,
          timeout=30, interval=0.05, what="the master listening")
    try:
        socket.create_connection(("127.0.0.1", 23456), timeout=2).close()
        reached = True
    except OSError:
        reached = False
    assert not reached, "the job's master port is reachable on this machine's 127.0.0.1"

    (clocal.volume("meet") / "go").write_text("")
    until(lambda: clocal.status("meet")["phase"] in ("Succeeded", "Failed"), timeout=60, interval=0.1,
          what="the job finished")
    assert clocal.status("meet")["phase"] == "Succeeded"
    data = clocal.volume("meet")
    assert (data / "heard").read_text() == "hello-from-the-master\n"
    assert (data / "env-1").read_text().splitlines() == [
        "HOSTNAME=meet-worker-0", "MASTER_ADDR=meet-master-0", "MASTER_PORT=23456", "RANK=1"]
    # The run over, its network goes with its last container.
    until(lambda: net not in engine.networks(mine), timeout=30, interval=0.1,
          what="the job's network removed")
    assert engine.containers(mine) == []
