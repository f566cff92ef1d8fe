"""`apply --local --container` of a TrainJob: each node in the image, on the job's own network, as on a cluster."""

from __future__ import annotations

import json
import subprocess

from ..local.conftest import wait_until
from ..local.test_trainjob import reports, trainjob
from .test_local_containers import _mine


def _podman_names() -> list[str]:
    return subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()


def test_two_nodes_meet_in_their_image_and_delete_leaves_nothing(clocal, engine, python_image, tmp_path):
    out = tmp_path / "out"
    f = trainjob(clocal, tmp_path, image=python_image)
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"results={out}", f,
                        timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = reports(out)
    assert set(seen) == {"node-0", "node-1"}  # written at the mount path, landed in the --volume directory
    assert seen["node-0"]["heard"] == ["1"]  # node 1 reached node 0 at PET_MASTER_ADDR:PET_MASTER_PORT
    for rank in (0, 1):
        report = seen[f"node-{rank}"]
        assert report["marker"] == "python"  # inside the image: only it has the marker
        # Node 0 by its pod's name on the job's own network, at Trainer's port, as on a cluster.
        assert report["env"] == {"PET_NNODES": "2", "PET_NPROC_PER_NODE": "1", "PET_NODE_RANK": str(rank),
                                 "PET_MASTER_ADDR": "tj-node-0-0", "PET_MASTER_PORT": "29500"}
        assert report["cwd"] == "/workspace" and report["hostname"] == f"tj-node-0-{rank}"
    # status of the file as this machine would apply it (in containers): nothing to do, as the plan says.
    (status,) = json.loads(clocal.cli("status", "--local", f, "-o", "json", check=True,
                                      env={"ARENA_RUN_LOCAL_RUNNER": "container"}).stdout)
    assert (status["phase"], status["sync"]) == ("Succeeded", "in sync")
    assert clocal.cli("logs", "--local", "tj", "--role", "node", "--index", "1", check=True).stdout.strip() \
        == "node 1 of 2"
    assert engine.containers(_mine(clocal)) == []  # each removed once its exit status was read
    first = [e["uid"] for e in clocal.store().objects("tj")]

    again = clocal.cli("apply", "--local", "--container", "-y", "--volume", f"results={out}", f)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert [e["uid"] for e in clocal.store().objects("tj")] == first  # re-apply ran nothing

    (out / "node-1.json").unlink()
    f = trainjob(clocal, tmp_path, image=python_image, command="python3 /src/node.py && echo changed")
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"results={out}", f,
                        timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["uid"] for e in clocal.store().objects("tj")] != first and (out / "node-1.json").exists()
    assert clocal.cli("logs", "--local", "tj", "--role", "node", "--index", "1",
                      check=True).stdout.splitlines()[-1] == "changed"

    runs = first + [e["uid"] for e in clocal.store().objects("tj")]
    assert "Deleted tj" in clocal.cli("delete", "--local", "-y", "tj", check=True).stdout
    assert engine.containers(_mine(clocal)) == []
    assert engine.networks(_mine(clocal)) == [] and engine.volumes(_mine(clocal)) == []
    assert not [n for n in _podman_names() if any(u in n for u in runs)]


def test_a_running_trainjob_in_containers_is_replaced_only_with_consent(clocal, engine, python_image, tmp_path):
    f = trainjob(clocal, tmp_path, image=python_image, command="echo $PET_NODE_RANK >> /data/up; exec sleep 600")
    assert clocal.cli("apply", "--local", "--container", "-y", f).returncode == 0
    up = clocal.volume("results") / "up"
    wait_until(lambda: up.exists() and sorted(up.read_text().split()) == ["0", "1"], what="both nodes up")
    assert len(engine.containers(_mine(clocal))) == 2
    before = clocal.store().objects("tj")
    f = trainjob(clocal, tmp_path, image=python_image, command="echo again >> /data/up; exec sleep 600")
    result = clocal.cli("apply", "--local", "--container", "-y", f)
    assert result.returncode == 3 and "TrainJob local/tj is Running" in result.stderr, result.stdout + result.stderr
    assert clocal.store().objects("tj") == before and len(engine.containers(_mine(clocal))) == 2

    assert "Deleted tj" in clocal.cli("delete", "--local", "-y", "tj", check=True).stdout
    assert engine.containers(_mine(clocal)) == [] and engine.networks(_mine(clocal)) == []
    assert not [n for n in _podman_names() if before[0]["uid"] in n]


def test_each_nodes_gpu_reaches_the_engine_as_its_own_cdi_device(clocal, busybox_image, cdi_gpus, tmp_path):
    f = trainjob(clocal, tmp_path, image=busybox_image, command='echo \\"$FAKE_CDI_GPU $CUDA_VISIBLE_DEVICES\\"',
                 extra="gpus = 1")
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [clocal.cli("logs", "--local", "tj", "--role", "node", "--index", i, check=True).stdout.split()
            for i in (0, 1)]
    # Each node got one device from the engine (the spec's edit), the GPU CUDA is told of, no two the same.
    assert sorted(s[1] for s in seen) == sorted(cdi_gpus)
    assert all(s[0] == f"cdi-{s[1]}" for s in seen)
