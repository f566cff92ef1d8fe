"""A namespace of 100, 300, 1,000 experiments: status, top job, plan and re-apply against kubectl.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Creates kwok GPU
nodes (tainted for this bench; each experiment tolerates them), then grows
one namespace to each size in turn with `arena-run apply` of a directory of
experiments, each a TFJob (one worker, running on a kwok node) and its
ApplySet parent, every tenth also with TensorBoard (a Deployment and a
Service; the mix of the table in docs/development/benchmarks.md).  At each size, every command is a
new process (start-up included) reaching the API server through a delay
proxy of each --rtt-ms (bench/delayproxy.py; 0: no proxy), timed as the
median of --runs, its peak memory (max RSS) taken from the kernel, against
`kubectl get tfjobs -o json` of the same namespace through the same proxy in
the same run, who goes first alternating, each once the control plane is
quiet:

  - arena-run status -n NS, status -n NS -o json, top job -n NS, plan DIR
  - arena-run apply -y DIR unchanged, against `kubectl apply --server-side
    --field-manager=arena-run` of the same objects (kubectl's re-apply)

Requests and round trips come from each command's own request log
(arena-run -v, kubectl -v=6), the floor from them and the control plane's
CPU (bench/wire.py).  Printed: a table per size and round trip, then one
Markdown table for docs/development/benchmarks.md.

    python bench/scale.py [--sizes 100,300,1000] [--runs 3] [--rtt-ms 0,5,20,50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))  # tests.experiments

from arena_testcluster import cluster as control_plane  # noqa: E402
import wire  # noqa: E402

from arena_run import api  # noqa: E402
from arena_run.plan import desired_members  # noqa: E402
from arena_run.render.output import to_yaml  # noqa: E402
import tests.experiments  # noqa: E402
from tests.experiments import Document  # noqa: E402

TAINT = "arena-run.bench/scale"
PODS_PER_NODE = 110


def experiment(i: int) -> Document:
    """A TFJob tolerating the bench's nodes; every tenth with TensorBoard."""
    return tests.experiments.experiment(f"exp-{i:04d}", command="sleep 36000", memory="64Mi",
                                        tolerations=[{"key": TAINT, "operator": "Exists"}],
                                        tensorboard={"logdir": f"/data/logs/{i}"} if i % 10 == 0 else False)


def objects_and_pods(n: int) -> tuple[int, int]:
    boards = len(range(0, n, 10))
    return n + 2 * boards, n + boards


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rtt-ms", default="0", help="round-trip times to measure at, e.g. 0,5,20,50")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-scale-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    ns = f"bench-scale-{str(int(time.time()))[-6:]}"
    nodes = [f"{ns}-node-{i:02d}" for i in range(-(-objects_and_pods(max(sizes))[1] // PODS_PER_NODE) + 1)]
    try:
        run(cp, ns, nodes, sizes, args.runs, wire.parse_rtts(args.rtt_ms), tmp)
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


def run(cp, ns: str, nodes: list[str], sizes: list[int], runs: int, rtts: list[float], tmp: Path) -> None:
    make_nodes(cp, ns, nodes)
    cp.run_kubectl("create", "namespace", ns)
    kube = api.connect(str(cp.kubeconfig))
    exps = tmp / "experiments"
    table = []
    made = 0
    with wire.Network(cp, rtts, tmp) as net:
        for size in sizes:
            new = []
            for i in range(made, size):
                new.append(tests.experiments.write(exps / f"e{i:04d}" / "arena.toml", experiment(i)))
            t0 = time.perf_counter()
            api.apply(kube, new, namespace=ns)
            grow = time.perf_counter() - t0
            made = size
            n_objects, n_pods = objects_and_pods(size)
            wait_pods(cp, ns, n_pods)
            # What kubectl re-applies: the very objects arena-run applied, under its field manager.
            manifest = tmp / f"members-{size}.yaml"
            manifest.write_text(to_yaml([o for f in api.load(str(exps)) for o in desired_members(f.experiment, ns)]))
            commands = [
                ("kubectl get tfjobs -o json", "kubectl", ["get", "tfjobs", "-n", ns, "-o", "json"], (0,)),
                ("arena-run status", "arena-run", ["status", "-n", ns], (0,)),
                ("arena-run status -o json", "arena-run", ["status", "-n", ns, "-o", "json"], (0,)),
                ("arena-run top job", "arena-run", ["top", "job", "-n", ns], (0,)),
                ("arena-run plan DIR", "arena-run", ["plan", "-n", ns, str(exps)], (0, 2)),
                ("arena-run apply DIR, unchanged", "arena-run", ["apply", "-y", "-n", ns, str(exps)], (0,)),
                ("kubectl apply --server-side", "kubectl",
                 ["apply", "--server-side", "--field-manager=arena-run", "-f", str(manifest)], (0,)),
            ]
            for rtt in rtts:
                measured: dict[str, list] = {label: [] for label, *_ in commands}
                for r in range(runs):
                    # Who goes first alternates run by run.
                    for label, tool, args, ok in (commands if r % 2 == 0 else commands[::-1]):
                        cmd = (wire.kubectl_command(net, *args) if tool == "kubectl"
                               else wire.arena_run_command(*args))
                        measured[label].append(wire.run(label, cmd, net, rtt, tool=tool, ok=ok))
                rows = {label: wire.median_run(rs) for label, rs in measured.items()}
                rows["peak"] = max(r.peak_mb for rs in measured.values() for r in rs)  # type: ignore[assignment]
                re_apply = rows["arena-run apply DIR, unchanged"]
                assert not {"PATCH", "POST", "DELETE"} & set(re_apply.requests), f"re-apply wrote: {re_apply.requests}"
                table.append((size, rtt, rows))
                print_size(size, rtt, n_objects, n_pods, grow, runs, rows)
            # kubectl is the referee: after all of that, nothing differs.
            diff = subprocess.run([str(cp.kubectl), f"--kubeconfig={cp.kubeconfig}", "diff", "--server-side",
                                   "--field-manager=arena-run", "-f", str(manifest)], capture_output=True, text=True)
            assert diff.returncode == 0, f"kubectl diff after re-apply: {diff.stdout[-2000:]}{diff.stderr[-2000:]}"

    print("\n| experiments | command | round trip | time | × kubectl get tfjobs -o json | floor | requests "
          "| round trips | peak MB |")
    print("|--:|---|--:|--:|--:|--:|---|--:|--:|")
    for size, rtt, rows in table:
        base = rows["kubectl get tfjobs -o json"].seconds
        for label, r in rows.items():
            if label == "peak":
                continue
            ratio = f"{r.seconds / base:.2f}" if "apply" not in label else (
                f"kubectl's re-apply {rows['kubectl apply --server-side'].seconds / r.seconds:.1f}× slower"
                if label.startswith("arena-run") else "")
            print(f"| {size} | `{label}` | {rtt:g} ms | {r.seconds:.2f} s | {ratio} | {r.floor:.2f} s | "
                  f"{r.shown_requests()} | {r.round_trips} | {r.peak_mb:.0f} |")
    print(f"\ncommand: {'ARENA_RUN_TEST_CLUSTER=… ' if os.environ.get('ARENA_RUN_TEST_CLUSTER') else ''}"
          f"python bench/scale.py --sizes {','.join(map(str, sizes))} --runs {runs} "
          f"--rtt-ms {','.join(f'{r:g}' for r in rtts)}; {wire.now_utc()}; versions {cp.info.get('versions', '')}")


def print_size(size, rtt, n_objects, n_pods, grow, runs, rows) -> None:
    base = rows["kubectl get tfjobs -o json"].seconds
    print(f"\n{size} experiments ({n_objects} objects, {n_pods} pods; grown in {grow:.1f} s), "
          f"round trip {rtt:g} ms, median of {runs} runs:")
    print(f"  {'':32} {'time':>7} {'× base':>7} {'floor':>7} {'RTs':>4} {'conn':>4} {'own CPU':>7}  requests")
    for label, r in rows.items():
        if label == "peak":
            continue
        print(f"  {label:32} {r.seconds:6.2f}s {r.seconds / base:7.2f} {r.floor:6.2f}s {r.round_trips:4d} "
              f"{r.connections:4d} {r.own_cpu:7.2f}  {r.shown_requests()}")
    re_s = rows["arena-run apply DIR, unchanged"].seconds
    print(f"  re-apply: kubectl / arena-run = {rows['kubectl apply --server-side'].seconds / re_s:.1f}")


if __name__ == "__main__":
    main()
