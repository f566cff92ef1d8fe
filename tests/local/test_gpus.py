"""GPUs from nvidia-smi (the stand-in in tests/fixtures/gpu, built from a real one's output)."""

from __future__ import annotations

import json

import pytest

from arena_run.local import gpus

from .conftest import FAKE_GPU_DIR, wait_until

REAL = (FAKE_GPU_DIR / "nvidia-smi-query-gpu.csv").read_text()
REAL_UUID = "GPU-41bfe190-574a-662a-a84a-8a1403033f23"

# Each replica writes the GPUs it was given, then waits for the test's go.
GPU_JOB = '''
name = "{name}"
[[data]]
pvc = "gpu-out"
mount = "/out"
[job]
image = "pytorch/pytorch"
type = "pytorch"
workers = {workers}
gpus = {gpus}
command = "echo \\"$CUDA_VISIBLE_DEVICES\\" > /out/{name}-$RANK; while [ ! -e /out/go ]; do sleep 0.05; done"
'''


def test_parse_the_real_output():
    (gpu,) = gpus.parse(REAL)
    assert gpu == gpus.GPU(0, REAL_UUID, "NVIDIA H200", 143771)


@pytest.mark.parametrize("cuda, nvidia, expected", [
    (None, None, [0, 1, 2, 3]),
    ("2,0", None, [2, 0]),
    ("", None, []),
    ("-1", None, []),
    ("1,7,2", None, [1]),  # CUDA stops at the first device it cannot find
    (None, "void", []),
    (None, "all", [0, 1, 2, 3]),
    (None, "3", [3]),
    ("GPU-41bfe190-574a-662a-a84a-8a1403030002", None, [2]),
])
def test_the_callers_visible_devices_narrow_the_inventory(local, cuda, nvidia, expected):
    local.fake_gpus(4)
    env = dict(local.env)
    for var, value in (("CUDA_VISIBLE_DEVICES", cuda), ("NVIDIA_VISIBLE_DEVICES", nvidia)):
        if value is not None:
            env[var] = value
    assert [g.ordinal for g in gpus.detect(env).gpus] == expected


def test_no_nvidia_smi_means_no_gpus(local):
    inventory = gpus.detect(local.env)
    assert inventory.gpus == [] and inventory.note == "nvidia-smi not found"


def test_replicas_get_disjoint_gpus_and_top_counts_them(local):
    local.fake_gpus(3)
    f = local.write("g", GPU_JOB.format(name="split", workers=3, gpus=1))
    assert local.cli("apply", "--local", "-y", f).returncode == 0
    out = local.volume("gpu-out")
    # A file exists before `echo` has written its line: wait for the whole line.
    wait_until(lambda: all((out / f"split-{r}").exists() and (out / f"split-{r}").read_text().endswith("\n")
                           for r in range(3)), what="three replicas up")
    given = [(out / f"split-{r}").read_text().strip() for r in range(3)]
    assert len(set(given)) == 3 and all(g.startswith("GPU-41bfe190-") for g in given)
    top = json.loads(local.cli("top", "node", "--local", "-o", "json", check=True).stdout)
    assert top["total"]["gpus_total"] == 3 and top["total"]["gpus_allocated"] == 3
    jobs = json.loads(local.cli("top", "job", "--local", "-o", "json", check=True).stdout)
    assert [(j["name"], j["gpus_requested"], j["gpus_allocated"]) for j in jobs] == [("split", 3, 3)]
    (out / "go").touch()
    wait_until(lambda: local.status("split")["phase"] == "Succeeded", what="the job to end")
    top = json.loads(local.cli("top", "node", "--local", "-o", "json", check=True).stdout)
    assert top["total"]["gpus_allocated"] == 0


def test_a_replica_without_gpus_gets_none(local):
    local.fake_gpus(2)
    f = local.write("cpu", GPU_JOB.format(name="cpu", workers=1, gpus=0))
    (local.volume("gpu-out")).mkdir(parents=True)
    (local.volume("gpu-out") / "go").touch()
    assert local.cli("apply", "--local", "-y", "--wait", f).returncode == 0
    assert (local.volume("gpu-out") / "cpu-0").read_text() == "\n"  # CUDA_VISIBLE_DEVICES="": no GPU


def test_a_job_that_can_never_fit_is_refused(local):
    local.fake_gpus(2)
    f = local.write("big", GPU_JOB.format(name="big", workers=3, gpus=1))
    result = local.cli("apply", "--local", "-y", f)
    assert result.returncode == 1
    assert "PyTorchJob big needs 3 GPUs at once and this machine has 2" in result.stderr
    assert "never runs on CPU" in result.stderr and "Nothing was applied." in result.stderr
    assert local.store().names() == []


def test_no_gpu_at_all_refuses_a_gpu_job(local):
    f = local.write("nogpu", GPU_JOB.format(name="nogpu", workers=1, gpus=1))
    result = local.cli("plan", "--local", f)
    assert result.returncode == 1 and "needs 1 GPU at once and this machine has 0 (nvidia-smi not found)" in result.stderr


def test_the_callers_cuda_visible_devices_are_respected(local):
    local.fake_gpus(4)
    env = {"CUDA_VISIBLE_DEVICES": "2"}
    refused = local.cli("plan", "--local", local.write("two", GPU_JOB.format(name="two", workers=2, gpus=1)), env=env)
    assert refused.returncode == 1 and "this machine has 1" in refused.stderr
    out = local.volume("gpu-out")
    out.mkdir(parents=True)
    (out / "go").touch()
    f = local.write("one", GPU_JOB.format(name="one", workers=1, gpus=1))
    assert local.cli("apply", "--local", "-y", "--wait", f, env=env).returncode == 0
    assert (out / "one-0").read_text().strip() == "GPU-41bfe190-574a-662a-a84a-8a1403030002"


def test_a_job_waits_pending_for_gpus_with_the_reason(local):
    local.fake_gpus(2)
    out = local.volume("gpu-out")
    first = local.write("first", GPU_JOB.format(name="first", workers=2, gpus=1))
    second = local.write("second", GPU_JOB.format(name="second", workers=1, gpus=1))
    assert local.cli("apply", "--local", "-y", first).returncode == 0
    wait_until(lambda: (out / "first-1").exists(), what="the first job's replicas")
    assert local.cli("apply", "--local", "-y", second).returncode == 0
    wait_until(lambda: local.runs("second")[0].get("message") == "needs 1 GPU, 0 free", what="the reason")
    status = local.status("second")
    assert status["phase"] == "Pending" and status["jobs"][0]["message"] == "Unschedulable: needs 1 GPU, 0 free"
    text = local.cli("status", "--local", "second").stdout
    assert "Pending" in text and "needs 1 GPU, 0 free" in text
    logs = local.cli("logs", "--local", "second")
    assert logs.returncode == 1 and "has not started yet (Unschedulable: needs 1 GPU, 0 free)" in logs.stderr
    assert not (out / "second-0").exists()
    (out / "go").touch()
    wait_until(lambda: local.status("second")["phase"] == "Succeeded", what="the second job, once GPUs are free")
    assert (out / "second-0").read_text().strip() in {(out / f"first-{r}").read_text().strip() for r in (0, 1)}
