"""A namespace of 100, 300, 1,000 experiments: status, top job, plan and re-apply against kubectl.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Creates kwok GPU
nodes (tainted for this bench; each experiment tolerates them), then grows
one namespace to each size in turn with `arena-run apply` of a directory of
experiments, each a TFJob (one worker, running on a kwok node) and its
ApplySet parent, every tenth also with TensorBoard (a Deployment and a
Service; the mix of the README's table).  At each size, every command is a
new process (start-up included),
timed as the median of --runs, its peak memory (max RSS) taken from the
kernel, against `kubectl get tfjobs -o json` of the same namespace in the
same run:

  - arena-run status -n NS, status -n NS -o json, top job -n NS, plan DIR
  - arena-run apply -y DIR unchanged, against `kubectl apply --server-side
    --field-manager=arena-run` of the same objects (kubectl's re-apply)

Requests are counted in process through arena_run.api on the same cluster
(the CLI makes the same calls), and for kubectl from its -v=6 log.
Printed: a table per size, then one Markdown table for the README.

    python bench/scale.py [--sizes 100,300,1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))

from arena_testcluster import cluster as control_plane  # noqa: E402

from arena_run import api  # noqa: E402
from arena_run.plan import members  # noqa: E402
from arena_run.render.output import to_yaml  # noqa: E402

TAINT = "arena-run.bench/scale"
PODS_PER_NODE = 110

EXPERIMENT = """\
name = "exp-{i:04d}"
[[data]]
host_path = "/tmp"
mount = "/data"
[job]
image = "busybox:1.36"
command = "sleep 36000"
memory = "64Mi"
[[job.tolerations]]
key = "{taint}"
operator = "Exists"
"""
TENSORBOARD = """\
[tensorboard]
logdir = "/data/logs/{i}"
"""


def objects_and_pods(n: int) -> tuple[int, int]:
    boards = len(range(0, n, 10))
    return n + 2 * boards, n + boards


def measured(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit status) of one run of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def median_of(cmd: list[str], env: dict, runs: int) -> tuple[float, float]:
    results = [measured(cmd, env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def kubectl_requests(cmd: list[str], env: dict) -> dict:
    proc = subprocess.run(cmd + ["-v=6"], env=env, capture_output=True, text=True, check=True)
    verbs: dict = {}
    for line in proc.stderr.splitlines():
        if '"Response" verb="' in line:
            verb = line.split('verb="', 1)[1].split('"', 1)[0]
            verbs[verb] = verbs.get(verb, 0) + 1
    return verbs


def counted(kube, fn) -> dict:
    kube.requests.clear()
    fn()
    return dict(kube.requests)


def fmt_requests(req: dict) -> str:
    return " ".join(f"{n} {verb}" for verb, n in sorted(req.items())) or "0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-scale-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    ns = f"bench-scale-{str(int(time.time()))[-6:]}"
    nodes = [f"{ns}-node-{i:02d}" for i in range(-(-objects_and_pods(max(sizes))[1] // PODS_PER_NODE) + 1)]
    try:
        run(cp, ns, nodes, sizes, args.runs, tmp)
    finally:
        cp.run_kubectl("delete", "namespace", ns, "--wait=false", check=False)
        cp.run_kubectl("delete", "nodes", "-l", TAINT, "--wait=false", check=False)
        if not reuse:
            control_plane.down(tmp / "cp")


def make_nodes(cp, ns: str, names: list[str]) -> None:
    resources = {"cpu": "256", "memory": "2Ti", "pods": str(PODS_PER_NODE), "nvidia.com/gpu": "8"}
    items = [{"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": n, "annotations": {"kwok.x-k8s.io/node": "fake"},
                           "labels": {"kubernetes.io/hostname": n, "type": "kwok", TAINT: ns}},
              "spec": {"taints": [{"key": TAINT, "value": ns, "effect": "NoSchedule"}]},
              "status": {"capacity": resources, "allocatable": resources}} for n in names]
    cp.run_kubectl("apply", "--server-side", "--field-manager=arena-run-bench", "-f", "-",
                   input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    cp.run_kubectl("wait", "--for=condition=Ready", "--timeout=120s", "nodes", "-l", TAINT)


def wait_pods(cp, ns: str, want: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while True:
        items = json.loads(cp.run_kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
        running = sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running")
        if running >= want:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {running} of {want} pods running after {timeout:.0f} s")
        time.sleep(2)


def run(cp, ns: str, nodes: list[str], sizes: list[int], runs: int, tmp: Path) -> None:
    make_nodes(cp, ns, nodes)
    cp.run_kubectl("create", "namespace", ns)
    env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), "PYTHONWARNINGS": "ignore"}
    kube = api.connect(str(cp.kubeconfig))
    exps = tmp / "experiments"
    arena = [sys.executable, "-m", "arena_run"]
    kubectl = [str(cp.kubectl)]
    table = []
    made = 0
    for size in sizes:
        new = []
        for i in range(made, size):
            d = exps / f"e{i:04d}"
            d.mkdir(parents=True)
            (d / "arena.toml").write_text(EXPERIMENT.format(i=i, taint=TAINT) + (TENSORBOARD.format(i=i) if i % 10 == 0 else ""))
            new.append(str(d / "arena.toml"))
        t0 = time.perf_counter()
        api.apply(new, kube, namespace=ns)
        grow = time.perf_counter() - t0
        made = size
        n_objects, n_pods = objects_and_pods(size)
        wait_pods(cp, ns, n_pods)
        # What kubectl re-applies: the very objects arena-run applied, under its field manager.
        manifest = tmp / f"members-{size}.yaml"
        manifest.write_text(to_yaml([o for f in api.load(str(exps)) for o in members(f.experiment, ns)]))

        base_cmd = kubectl + ["get", "tfjobs", "-n", ns, "-o", "json"]
        base, base_mb = median_of(base_cmd, env, runs)
        rows = [("kubectl get tfjobs -o json", base, base_mb, fmt_requests(kubectl_requests(base_cmd, env)))]
        commands = [
            ("arena-run status", arena + ["status", "-n", ns], lambda: api.status(kube, namespace=ns)),
            ("arena-run status -o json", arena + ["status", "-n", ns, "-o", "json"],
             lambda: api.status(kube, namespace=ns)),
            ("arena-run top job", arena + ["top", "job", "-n", ns], lambda: api.top_jobs(kube, namespace=ns)),
            ("arena-run plan DIR", arena + ["plan", "-n", ns, str(exps)], lambda: api.plan(str(exps), kube, namespace=ns)),
        ]
        for label, cmd, call in commands:
            seconds, mb = median_of(cmd, env, runs)
            rows.append((label, seconds, mb, fmt_requests(counted(kube, call))))
        reapply_cmd = arena + ["apply", "-y", "-n", ns, str(exps)]
        re_s, re_mb = median_of(reapply_cmd, env, runs)
        re_req = counted(kube, lambda: api.apply(str(exps), kube, namespace=ns))
        assert not re_req.get("PATCH") and not re_req.get("DELETE"), f"re-apply wrote: {re_req}"
        kubectl_apply = kubectl + ["apply", "--server-side", "--field-manager=arena-run", "-f", str(manifest)]
        k_s, k_mb = median_of(kubectl_apply, env, runs)
        k_req = kubectl_requests(kubectl_apply, env)
        # kubectl is the referee: after all of that, nothing differs.
        diff = subprocess.run(kubectl + ["diff", "--server-side", "--field-manager=arena-run", "-f", str(manifest)],
                              env=env, capture_output=True, text=True)
        assert diff.returncode == 0, f"kubectl diff after re-apply: {diff.stdout[-2000:]}{diff.stderr[-2000:]}"

        print(f"\n{size} experiments in {ns} ({n_objects} objects, {n_pods} pods; grown in {grow:.1f} s), "
              f"median of {runs} runs:")
        print(f"  {'':32} {'time':>8} {'× base':>7} {'peak MB':>8}   requests")
        for label, seconds, mb, req in rows:
            print(f"  {label:32} {seconds:7.2f}s {seconds / base:7.2f} {mb:8.0f}   {req}")
        print(f"  {'arena-run apply DIR, unchanged':32} {re_s:7.2f}s {'':7} {re_mb:8.0f}   {fmt_requests(re_req)}")
        print(f"  {'kubectl apply --server-side':32} {k_s:7.2f}s {'':7} {k_mb:8.0f}   {fmt_requests(k_req)}")
        print(f"  re-apply: kubectl / arena-run = {k_s / re_s:.1f}")
        table.append((size, rows, (re_s, re_req, k_s, k_req)))

    print("\n| experiments | command | time | × kubectl get tfjobs -o json | peak MB | requests |")
    print("|--:|---|--:|--:|--:|---|")
    for size, rows, (re_s, re_req, k_s, k_req) in table:
        base = rows[0][1]
        for label, seconds, mb, req in rows:
            print(f"| {size} | `{label}` | {seconds:.2f} s | {seconds / base:.2f} | {mb:.0f} | {req} |")
        print(f"| {size} | `arena-run apply DIR`, unchanged | {re_s:.2f} s | kubectl's re-apply "
              f"{k_s:.2f} s: {k_s / re_s:.1f}× slower | | {fmt_requests(re_req)} (kubectl: {fmt_requests(k_req)}) |")
    print(f"\ncommand: {'ARENA_RUN_TEST_CLUSTER=… ' if os.environ.get('ARENA_RUN_TEST_CLUSTER') else ''}"
          f"python bench/scale.py --sizes {','.join(map(str, sizes))} --runs {runs}; "
          f"versions {cp.info.get('versions', '')}")


if __name__ == "__main__":
    main()
