"""A TrainJob (`engine = "trainer"`) on this machine: its nodes get Kubeflow Trainer's torch variables and meet.

Node 0 listens at PET_MASTER_ADDR:PET_MASTER_PORT, every other node connects
there and says its rank (plain sockets: what torchrun's rendezvous needs of
the variables, without torch); each node writes what it saw into the volume.
tests/containers/test_trainjob_in_containers.py runs the same file in an image.
"""

from __future__ import annotations

import json
import os
import textwrap

from .conftest import processes_with, wait_until

NODE = textwrap.dedent('''
    import json, os, socket, time
    env = {k: v for k, v in os.environ.items() if k.startswith("PET_")}
    rank, nodes = int(env["PET_NODE_RANK"]), int(env["PET_NNODES"])
    addr, port = env["PET_MASTER_ADDR"], int(env["PET_MASTER_PORT"])
    heard = []
    if rank == 0:
        server = socket.create_server((addr, port))
        for _ in range(nodes - 1):
            conn, _ = server.accept()
            heard.append(conn.makefile().readline().strip())
    else:
        while True:
            try:
                s = socket.create_connection((addr, port)); break
            except OSError:
                time.sleep(0.05)
        s.sendall(f"{rank}\\n".encode()); s.close()
    marker = open("/arena-run-image-marker").read().split()[0] if os.path.exists("/arena-run-image-marker") else None
    report = {"env": env, "heard": sorted(heard), "cwd": os.getcwd(), "hostname": os.environ.get("HOSTNAME"),
              "marker": marker}
    with open(f"/data/node-{rank}.json", "w") as fh:
        json.dump(report, fh)
    print(f"node {rank} of {nodes}", flush=True)
''')

TRAINJOB = '''
name = "tj"
[[data]]
pvc = "results"
mount = "/data"
[[data]]
host_path = "{src}"
mount = "/src"
read_only = true
[job]
type = "pytorch"
engine = "trainer"
image = "{image}"
workers = 2
cpu = "500m"
working_dir = "/workspace"
command = "{command}"
{extra}
'''


def trainjob(local, tmp_path, image="python:3.12", command="python3 /src/node.py", extra=""):
    """The TrainJob's file; node.py in a directory mounted at /src (a TrainJob has no code sync)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "node.py").write_text(NODE)
    return local.write("tj", TRAINJOB.format(image=image, src=src, command=command, extra=extra))


def reports(out) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in out.glob("node-*.json")}


def test_two_nodes_get_trainers_variables_and_meet_at_the_master(local, tmp_path):
    out = tmp_path / "out"
    f = trainjob(local, tmp_path)
    result = local.cli("apply", "--local", "-y", "--wait", "--volume", f"results={out}", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = reports(out)
    assert set(seen) == {"node-0", "node-1"}  # written at the mount path, landed in the --volume directory
    assert seen["node-0"]["heard"] == ["1"]  # node 1 reached node 0 where its variables said
    port = seen["node-0"]["env"]["PET_MASTER_PORT"]
    assert port.isdigit() and int(port) > 1024  # a free port of 127.0.0.1, not 29500: processes share one network
    for rank in (0, 1):
        report = seen[f"node-{rank}"]
        assert report["env"] == {"PET_NNODES": "2", "PET_NPROC_PER_NODE": "1", "PET_NODE_RANK": str(rank),
                                 "PET_MASTER_ADDR": "127.0.0.1", "PET_MASTER_PORT": port}
        assert report["cwd"] == "/workspace" and report["hostname"] == f"tj-node-0-{rank}"
    assert not os.path.exists("/workspace/node-0.json") and not os.path.exists("/data/node-0.json")

    (status,) = json.loads(local.cli("status", "--local", f, "-o", "json", check=True).stdout)
    assert (status["phase"], status["sync"]) == ("Succeeded", "in sync")
    (job,) = status["jobs"]
    assert (job["kind"], job["phase"], job["replicas"]) == ("TrainJob", "Succeeded", {"Node": "2/2"})
    assert local.cli("plan", "--local", "--detailed-exitcode", f).returncode == 0  # in sync: nothing to do
    # Logs by Trainer's role name, node 0 by default.
    assert local.cli("logs", "--local", "tj", check=True).stdout.strip() == "node 0 of 2"
    assert local.cli("logs", "--local", "tj", "--role", "node", "--index", "1", check=True).stdout.strip() \
        == "node 1 of 2"
    top = local.cli("top", "job", "--local", check=True).stdout
    assert any(line.split()[:3] == ["tj", "tj", "Succeeded"] for line in top.splitlines()), top

    first = [e["uid"] for e in local.store().objects("tj")]
    again = local.cli("apply", "--local", "-y", "--volume", f"results={out}", f)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert [e["uid"] for e in local.store().objects("tj")] == first  # re-apply ran nothing

    for p in out.glob("node-*.json"):
        p.unlink()
    f = trainjob(local, tmp_path, command="python3 /src/node.py && echo changed")
    plan = local.cli("plan", "--local", "--detailed-exitcode", f)
    assert plan.returncode == 2 and "-/+ TrainJob tj" in plan.stdout, plan.stdout + plan.stderr
    (edited,) = json.loads(local.cli("status", "--local", f, "-o", "json", check=True).stdout)
    assert edited["sync"] == "changed (not applied)"  # status of the edited file agrees with its plan
    result = local.cli("apply", "--local", "-y", "--wait", "--volume", f"results={out}", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["uid"] for e in local.store().objects("tj")] != first and set(reports(out)) == {"node-0", "node-1"}
    assert local.cli("logs", "--local", "tj", "--role", "node", "--index", "1",
                     check=True).stdout.splitlines()[-1] == "changed"


def test_a_running_trainjob_is_replaced_only_with_consent_and_delete_leaves_nothing(local, tmp_path):
    f = trainjob(local, tmp_path, command="echo $PET_NODE_RANK >> /data/up; exec tail -f /dev/null")
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    up = local.volume("results") / "up"
    wait_until(lambda: up.exists() and sorted(up.read_text().split()) == ["0", "1"], what="both nodes up")
    status = local.status("tj")
    assert status["phase"] == "Running" and status["jobs"][0]["replicas"] == {"Node": "2/2"}
    before = local.store().objects("tj")

    f = trainjob(local, tmp_path, command="echo again >> /data/up; exec tail -f /dev/null")
    result = local.cli("apply", "--local", "-y", f)
    assert result.returncode == 3, result.stdout + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("refused:")]
    assert "TrainJob local/tj is Running" in line and "--replace-running" in line
    assert local.store().objects("tj") == before and local.status("tj")["phase"] == "Running"

    assert local.cli("apply", "--local", "-y", "--replace-running", f).returncode == 0
    wait_until(lambda: up.read_text().split().count("again") == 2, what="both nodes re-run")
    assert [e["uid"] for e in local.store().objects("tj")] != [e["uid"] for e in before]

    result = local.cli("delete", "--local", "-y", "tj")
    assert result.returncode == 0 and "Deleted tj" in result.stdout
    assert processes_with(str(local.state)) == []
    assert local.cli("status", "--local").stdout.strip() == "No local experiments."


def test_a_failing_node_restarts_and_the_deadline_ends_the_job(local, tmp_path):
    # Node 1 fails its first start: the JobSet's default OnFailure restarts it, and the job succeeds.
    f = trainjob(local, tmp_path, command="echo $PET_NODE_RANK >> /data/runs; "
                                          "test $PET_NODE_RANK = 0 || test $(grep -c 1 /data/runs) -ge 2")
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert sorted((local.volume("results") / "runs").read_text().split()) == ["0", "1", "1"]
    (run,) = local.runs("tj")
    assert run["phase"] == "Succeeded" and run["restarts"] == 1

    f = trainjob(local, tmp_path, command="exec tail -f /dev/null", extra='active_deadline = "2s"')
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 1 and "DeadlineExceeded" in result.stderr, result.stdout + result.stderr
    assert local.status("tj")["phase"] == "Failed"
    assert processes_with(str(local.state)) == []


def test_each_node_gets_its_own_gpus_and_torchrun_counts_them(local, tmp_path):
    local.fake_gpus(3)
    f = trainjob(local, tmp_path, command="echo $CUDA_VISIBLE_DEVICES $PET_NPROC_PER_NODE > /data/gpu-$PET_NODE_RANK",
                 extra="gpus = 1")
    result = local.cli("apply", "--local", "-y", "--wait", f)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [(local.volume("results") / f"gpu-{rank}").read_text().split() for rank in (0, 1)]
    assert all(nproc == "auto" for _, nproc in seen)  # with GPUs Trainer leaves it to torchrun
    assert len({gpu for gpu, _ in seen}) == 2  # one GPU each, no two the same


def test_an_mpijob_stays_cluster_only(local):
    f = local.write("mpi", 'name = "hvd"\n[job]\ntype = "mpi"\nimage = "horovod/horovod"\ncommand = "horovodrun true"\n')
    result = local.cli("apply", "--local", "-y", f)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "cluster-only" in x]
    assert "MPIJob hvd: --local runs TFJob, PyTorchJob and TrainJob jobs" in line and \
        "MPIJob is cluster-only for now" in line
    assert "Started" not in result.stdout and local.store().names() == []
