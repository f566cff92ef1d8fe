"""`[job] queue` with --local: this machine's one implicit queue says `Queued`, with the ledger's reason,
in the words a cluster's Kueue uses (docs/local.md); without `queue` a waiting job is `Pending`, as before."""

from __future__ import annotations

from .conftest import wait_until
from .test_sweep import SWEEP


def test_a_job_with_a_queue_that_waits_for_cores_is_queued(local):
    f = local.write("sw", SWEEP.replace('cpu = "1"', 'cpu = "1"\nqueue = "team"'))
    env = {"ARENA_RUN_LOCAL_CPUS": "2"}
    plan = local.cli("plan", "--local", f, env=env)
    assert plan.returncode == 0 and "warning" not in plan.stderr, plan.stderr  # no LocalQueue to look for here
    assert local.cli("apply", "--local", "-y", f, env=env).returncode == 0
    out = local.volume("sweep")
    started = lambda: sorted(p.name for p in out.glob("started-*")) if out.exists() else []  # noqa: E731
    wait_until(lambda: len(started()) == 2, what="two points running")
    jobs = local.status("sw")["jobs"]
    (waiting,) = [j for j in jobs if j["phase"] == "Queued"]
    assert waiting["queue"] == {"local_queue": "team", "state": "queued", "cluster_queue": "local", "reason": "Pending",
                                "message": "needs 1 core, 0 free of 2", "since": waiting["queue"]["since"],
                                "position": None, "cluster_position": None, "evicted": ""}
    assert waiting["message"] == f"Queued in LocalQueue team (ClusterQueue local) since {waiting['queue']['since']}: " \
                                 "Pending: needs 1 core, 0 free of 2"
    running = [j for j in jobs if j["phase"] == "Running"]
    assert len(running) == 2 and all(j["queue"]["state"] == "admitted" for j in running)
    assert local.status("sw")["phase"] == "Queued"
    table = local.cli("status", "--local", "sw", check=True).stdout
    assert "Queued in LocalQueue team (ClusterQueue local)" in table
    top = local.cli("top", "queue", "--local", check=True).stdout.splitlines()
    assert top[1].split() == ["team", "local", "True", "1", "2", "0/-"], top
    for lr in ("0.10", "2e-1", "0.3"):
        (out / f"go-{lr}").touch()
    wait_until(lambda: local.status("sw")["phase"] == "Succeeded", what="every point done")
    assert {j["queue"]["state"] for j in local.status("sw")["jobs"]} == {"finished"}
