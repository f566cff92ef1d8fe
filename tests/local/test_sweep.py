"""Sweeps: points side by side as cores allow, the rest queued; each with its parameters."""

from __future__ import annotations

from .conftest import wait_until

SWEEP = '''
name = "sw"
[[data]]
pvc = "sweep"
mount = "/out"
[job]
image = "python:3.12"
cpu = "1"
command = "echo {{lr}} > /out/started-$ARENA_PARAM_LR; while [ ! -e /out/go-$ARENA_PARAM_LR ]; do sleep 0.05; done"
[sweep]
lr = [0.10, 2e-1, "0.3"]  # floats as written: 0.10, not 0.1
'''


def test_points_run_as_cores_allow_and_the_rest_wait(local):
    f = local.write("sw", SWEEP)
    env = {"ARENA_RUN_LOCAL_CPUS": "2"}
    assert local.cli("apply", "--local", "-y", f, env=env).returncode == 0
    out = local.volume("sweep")
    started = lambda: sorted(p.name for p in out.glob("started-*")) if out.exists() else []  # noqa: E731
    wait_until(lambda: len(started()) == 2, what="two points running")
    runs = local.runs("sw")
    waiting = [r for r in runs if r.get("phase") == "Pending"]
    assert len(waiting) == 1 and waiting[0]["message"] == "needs 1 core, 0 free of 2"
    status = local.status("sw")
    assert sorted(j["phase"] for j in status["jobs"]) == ["Pending", "Running", "Running"]
    first = started()[0].split("-", 1)[1]
    (out / f"go-{first}").touch()
    wait_until(lambda: len(started()) == 3, what="the queued point once a core is free")
    for lr in ("0.10", "2e-1", "0.3"):
        assert (out / f"started-{lr}").read_text().strip() == lr  # {{lr}} and ARENA_PARAM_LR agree
        (out / f"go-{lr}").touch()
    wait_until(lambda: local.status("sw")["phase"] == "Succeeded", what="every point done")
    logs = local.cli("logs", "--local", "sw")
    assert logs.returncode == 1 and "sweep of 3 jobs: choose one with --point" in logs.stderr
