"""`apply --local --container`: the distributed cases of tests/local, each replica in its image on real Podman
and, where marked, on a real dockerd too (conftest.py's engine_name)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from arena_run.local.containers import store_label
from arena_run.local.engine import LABEL, MANAGED

from ..local.test_distributed import TF_PEER, assert_quickstart_model
from ..conftest import ROOT
from ..waiting import until
from .conftest import ENGINES

each_engine = pytest.mark.parametrize("engine_name", ENGINES)

# What a TF replica adds to the peer check: the image's marker, proof it ran inside the image.
TF_PEER_IN_IMAGE = TF_PEER.replace(
    'report = {"me"', 'report = {"marker": open("/arena-run-image-marker").read().split()[0], "me"')


def _mine(local) -> dict[str, str]:
    return {MANAGED: "true", LABEL + "store": store_label(str(local.state / "arena-run"))}


def _nothing_left(engine, local) -> None:
    labels = _mine(local)
    assert engine.containers(labels) == []
    assert engine.networks(labels) == [] and engine.volumes(labels) == []
    ps = subprocess.run([engine.path, "ps", "--all", "--format", "{{.Names}}"], capture_output=True, text=True,
                        check=True).stdout.split()
    runs = [e["uid"] for e in local.store().objects("tfdist")] if os.path.isdir(local.store().dir("tfdist")) else []
    assert not [n for n in ps if any(u in n for u in runs)]


TF_FILE = '''
name = "tfdist"
[code]
rsync = "{code}/"
[[data]]
pvc = "results"
mount = "/data"
[job]
image = "{image}"
image_pull_policy = "Never"
command = "{command}"
workers = 2
ps = 1
chief = true
'''


@each_engine
def test_tf_replicas_meet_in_their_image_and_delete_leaves_nothing(clocal, engine, python_image, tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "peer.py").write_text(TF_PEER_IN_IMAGE)
    out = tmp_path / "out"
    f = clocal.write("tf", TF_FILE.format(code=code, image=python_image, command="python3 code/peer.py"))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"results={out}", f,
                        timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "images are not used" not in result.stderr  # the process runner's note is not said
    reports = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    everyone = {"chief-0", "ps-0", "worker-0", "worker-1"}
    assert set(reports) == everyone  # written at the mount path, landed in the --volume directory
    for name, report in reports.items():
        assert report["marker"] == "python"  # inside the image: only it has the marker
        assert set(report["heard"]) == everyone - {name}  # every replica reached every other
        assert report["cwd"] == "/root"  # the image's working directory, code synced under it
        # On the job's own network, each replica by its pod's name at the operator's port, as on a cluster.
        assert json.loads(report["tf_config"])["cluster"] == {
            "chief": ["tfdist-chief-0:2222"], "ps": ["tfdist-ps-0:2222"],
            "worker": ["tfdist-worker-0:2222", "tfdist-worker-1:2222"]}
    assert clocal.status("tfdist")["phase"] == "Succeeded"
    first = [e["uid"] for e in clocal.store().objects("tfdist")]
    assert engine.containers(_mine(clocal)) == []  # each removed once its exit status was read

    again = clocal.cli("apply", "--local", "--container", "-y", "--volume", f"results={out}", f)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert [e["uid"] for e in clocal.store().objects("tfdist")] == first  # re-apply ran nothing

    (out / "worker-0.json").unlink()
    changed = TF_FILE.format(code=code, image=python_image, command="python3 code/peer.py && echo changed")
    f.write_text(changed)
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", "--volume", f"results={out}", f,
                        timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e["uid"] for e in clocal.store().objects("tfdist")] != first  # a changed command: a new run
    assert (out / "worker-0.json").exists()
    logs = clocal.cli("logs", "--local", "tfdist", "--role", "worker", "--index", "0", check=True).stdout
    assert logs.splitlines()[-1] == "changed"

    deleted = clocal.cli("delete", "--local", "-y", "tfdist", check=True)
    assert "Deleted tfdist" in deleted.stdout
    _nothing_left(engine, clocal)


@each_engine
def test_pytorch_master_and_workers_average_gradients_in_the_image(clocal, python_image, tmp_path):
    src = (ROOT / "examples" / "quickstart" / "arena.toml").read_text()
    f = tmp_path / "qs" / "arena.toml"
    f.parent.mkdir()
    f.write_text(src.replace("workers = 2", "workers = 3").replace("--steps 30", "--steps 5")
                 .replace('image = "python:3.12-slim"', f'image = "{python_image}"'))
    (f.parent / "train.py").write_text((ROOT / "examples" / "quickstart" / "train.py").read_text())
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "step   5  loss" in result.stdout  # --wait follows the master's log, as without --container
    model = json.loads((clocal.volume("quickstart-data") / "model.json").read_text())
    assert model["replicas"] == 3
    assert_quickstart_model(model)
    ranks = [clocal.cli("logs", "--local", "quickstart", "--role", "worker", "--index", i, check=True)
             .stdout.splitlines()[0] for i in (0, 1)]
    assert ranks[0].startswith("rank 1/3") and ranks[1].startswith("rank 2/3")


GPU_FILE = '''
name = "gpujob"
[job]
image = "{image}"
image_pull_policy = "Never"
type = "pytorch"
workers = 2
gpus = 1
command = "echo \\"$FAKE_CDI_GPU $CUDA_VISIBLE_DEVICES\\""
'''


def test_each_replicas_gpu_reaches_the_engine_as_its_own_cdi_device(clocal, busybox_image, cdi_gpus):
    f = clocal.write("gpu", GPU_FILE.format(image=busybox_image))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [clocal.cli("logs", "--local", "gpujob", "--role", role, check=True).stdout.split()
            for role in ("master", "worker")]
    # Each replica got one device from the engine (the spec's edit), the same GPU CUDA is told of,
    # and no two the same.
    assert sorted(s[1] for s in seen) == sorted(cdi_gpus)
    assert all(s[0] == f"cdi-{s[1]}" for s in seen)


def test_gpus_without_a_cdi_spec_naming_them_are_one_line_and_nothing_starts(clocal, engine, busybox_image):
    # GPU 4 of five stand-ins: no spec names it (the other tests' specs name GPUs 1 and 2 only).
    clocal.fake_gpus(5)
    clocal.env["CUDA_VISIBLE_DEVICES"] = "4"
    f = clocal.write("gpu", GPU_FILE.format(image=busybox_image).replace("workers = 2", "workers = 1"))
    result = clocal.cli("apply", "--local", "--container", "-y", f)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("arena-run:")]
    assert len(errors) == 1 and "the jobs ask for GPUs and no CDI spec in /etc/cdi or /var/run/cdi names GPU-" \
        in errors[0] and "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml" in errors[0], result.stderr
    assert "Started" not in result.stdout and clocal.store().objects("gpujob") == []
    assert engine.containers(_mine(clocal)) == []


@each_engine
def test_an_unpullable_image_is_one_line_and_nothing_starts(clocal, engine):
    f = clocal.write("bad", '''
name = "badimage"
[job]
image = "127.0.0.1:9/arena-run-test/none:1"
command = "true"
''')
    result = clocal.cli("apply", "--local", "--container", "-y", f)
    assert result.returncode == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("arena-run:")]
    assert len(errors) == 1 and errors[0].startswith(
        "arena-run: error: image 127.0.0.1:9/arena-run-test/none:1 cannot be pulled (") and "connection refused" in errors[0]
    assert "Started" not in result.stdout
    assert clocal.store().objects("badimage") == []
    assert engine.containers(_mine(clocal)) == []


def test_a_missing_engine_is_one_line_and_nothing_starts(clocal, tmp_path):
    f = clocal.write("noengine", '''
name = "noengine"
[job]
image = "python:3.12"
command = "true"
''')
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(os.path.realpath(subprocess.run(["which", "python3"], capture_output=True, text=True).stdout.strip()),
               bare / "python3")
    env = {"PATH": str(bare), "ARENA_RUN_CONTAINER_ENGINE": ""}
    for command in ("plan", "apply"):
        result = clocal.cli(command, "--local", "--container", *(["-y"] if command == "apply" else []), f, env=env)
        assert result.returncode == 1, result.stdout + result.stderr
        assert ("--container needs Podman or Docker and neither is on PATH: install one (apt install podman), "
                "name it in ARENA_RUN_CONTAINER_ENGINE, or run without --container") in result.stdout + result.stderr
        assert "Started" not in result.stdout
    assert clocal.store().names() == []
    # The machine's default runner, by the environment: the same check.
    result = clocal.cli("apply", "--local", "-y", f, env={**env, "ARENA_RUN_LOCAL_RUNNER": "container"})
    assert result.returncode == 1 and "neither is on PATH" in result.stdout + result.stderr


@each_engine
def test_a_container_killed_from_outside_is_a_failed_replica(clocal, engine, busybox_image):
    f = clocal.write("killed", f'''
name = "killed"
[job]
image = "{busybox_image}"
image_pull_policy = "Never"
command = "sleep 300"
''')
    clocal.cli("apply", "--local", "--container", "-y", f, check=True)
    running = until(lambda: [s for s in engine.containers({**_mine(clocal), LABEL + "experiment": "killed"})
                             if s.running], timeout=60, interval=0.05, what="the replica's container")
    subprocess.run([engine.path, "kill", running[0].name], check=True, capture_output=True)
    until(lambda: clocal.status("killed")["phase"] == "Failed", timeout=60, interval=0.1, what="Failed")
    st = clocal.status("killed")
    assert "exited with status 137" in json.dumps(st)
    assert engine.containers(_mine(clocal)) == []


def test_tensorboard_runs_in_its_image_on_a_port_of_127_0_0_1(clocal, engine, python_image, tools_image):
    import shutil
    import urllib.request

    assert shutil.which("tensorboard", path=clocal.env["PATH"]) is None  # only the image has one
    f = clocal.write("tb", f'''
name = "board"
[[data]]
pvc = "logs"
mount = "/logs"
[job]
image = "{python_image}"
image_pull_policy = "Never"
command = "mkdir -p /logs/run && echo event > /logs/run/events.out"
[tensorboard]
image = "{tools_image}"
logdir = "/logs"
''')
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    status = clocal.status("board")
    url = status["tensorboard"]["url"]
    assert url.startswith("http://127.0.0.1:") and status["tensorboard"]["available"] == "1/1"

    def get():
        try:
            with urllib.request.urlopen(url + "/run/events.out", timeout=2) as resp:
                return resp.read()
        except OSError:
            return None

    assert until(get, timeout=60, interval=0.1, what="TensorBoard answering") == b"event\n"
    assert url in clocal.cli("status", "--local").stdout
    assert [s.labels[LABEL + "job"] for s in engine.containers(_mine(clocal)) if s.running] == ["board-tensorboard"]
    # In a network namespace of its own, listening as its pod says (6006), published on 127.0.0.1 only.
    server = next(s for s in engine.containers(_mine(clocal)) if s.running)
    inspected = json.loads(subprocess.run(["podman", "container", "inspect", server.id], capture_output=True,
                                          text=True, check=True).stdout)[0]
    assert inspected["HostConfig"]["NetworkMode"] != "host"
    assert inspected["NetworkSettings"]["Ports"] == {
        "6006/tcp": [{"HostIp": "127.0.0.1", "HostPort": url.rsplit(":", 1)[1]}]}
    assert clocal.cli("delete", "--local", "-y", "board").returncode == 0
    assert engine.containers(_mine(clocal)) == []


@pytest.mark.parametrize("engine_name", ["docker"])
def test_gpus_on_a_dockerd_without_a_gpu_runtime_fail_the_job_in_one_line_naming_the_cause(
        clocal, engine, busybox_image):
    # dockerd 20.10 creates a container with `--gpus` and refuses to start it when no NVIDIA runtime hook is on
    # its PATH (this machine has none): the daemon's words, and what to do, in one line; nothing left running.
    clocal.fake_gpus(2)
    f = clocal.write("gpu", GPU_FILE.format(image=busybox_image))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    (error,) = [ln for ln in result.stderr.splitlines() if "error" in ln]
    assert error.startswith("error: PyTorchJob gpujob failed: StartFailed: docker run arena-run-"), result.stderr
    assert error.endswith('could not select device driver "" with capabilities: [[gpu]]; Docker has no GPU '
                          "runtime: install the NVIDIA Container Toolkit (`nvidia-ctk runtime configure "
                          "--runtime=docker`) and restart dockerd"), result.stderr
    assert clocal.status("gpujob")["phase"] == "Failed"
    assert engine.containers(_mine(clocal)) == []


@pytest.mark.parametrize("engine_name", ["docker"])
@pytest.mark.parametrize("docker_daemon", ["dockerd_with_gpu_hook"], indirect=True)
def test_each_replicas_gpus_reach_dockerd_as_its_own_device_request(docker_daemon, clocal, busybox_image):
    # Two GPUs a replica: a list of devices is what the docker CLI parses only as arena-run quotes it.  dockerd
    # selects its NVIDIA driver for the request (the `gpu` capability) and puts the request's device IDs in
    # NVIDIA_VISIBLE_DEVICES, what the toolkit's hook would give the container (conftest.FAKE_NVIDIA_HOOK).
    clocal.fake_gpus(5)
    clocal.env["CUDA_VISIBLE_DEVICES"] = "1,2,3,4"
    f = clocal.write("gpu", GPU_FILE.format(image=busybox_image).replace("gpus = 1", "gpus = 2").replace(
        "FAKE_CDI_GPU", "NVIDIA_VISIBLE_DEVICES"))
    result = clocal.cli("apply", "--local", "--container", "-y", "--wait", f, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [clocal.cli("logs", "--local", "gpujob", "--role", role, check=True).stdout.split()
            for role in ("master", "worker")]
    assert all(nvidia == cuda for nvidia, cuda in seen)  # the devices are the GPUs CUDA is told of
    devices = [g for _, cuda in seen for g in cuda.split(",")]
    assert len(devices) == len(set(devices)) == 4 and all(g.startswith("GPU-") for g in devices)  # disjoint
