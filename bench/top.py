"""`arena-run top node` on 100 fake GPU nodes and 1,000 pods, against `kubectl get pods -A`.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Creates 100
kwok-managed nodes (8 nvidia.com/gpu each) and 1,000 running pods bound to
them (8 of every 10 holding a GPU, plus 100 finished ones that hold none),
then times, each the median of --runs:
  - the API call arena_run.status.top.read_nodes (what the CLI computes),
  - the CLI `arena-run top node` (a new process: start-up included),
  - `kubectl get pods -A` (a new process, its table to /dev/null),
  the commands through a delay proxy of each --rtt-ms (bench/delayproxy.py),
and checks the count it reports.  Everything it created is deleted.

    python bench/top.py [--nodes 100] [--pods 1000] [--runs 7] [--rtt-ms 0,20]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from arena_testcluster import cluster as control_plane  # noqa: E402
import wire  # noqa: E402

from arena_run.cluster import connect  # noqa: E402
from arena_run.status.top import read_nodes  # noqa: E402

LABEL = "arena-run.bench/top"


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rtt-ms", default="0", help="round-trip times to measure the commands at, e.g. 0,5,20,50")
    args = ap.parse_args()
    args.rtts = wire.parse_rtts(args.rtt_ms)

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-top-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    ns = f"bench-top-{str(int(time.time()))[-6:]}"
    try:
        run(cp, ns, args)
    finally:
        # Pods first, while kwok still runs their nodes.
        cp.run_kubectl("delete", "namespace", ns, "--timeout=300s", check=False)
        cp.run_kubectl("delete", "nodes", "-l", LABEL, "--wait=false", check=False)
        if not reuse:
            control_plane.down(tmp / "cp")


def apply_list(cp, items: list) -> None:
    proc = subprocess.run([str(cp.kubectl), f"--kubeconfig={cp.kubeconfig}", "apply", "--server-side",
                           "--field-manager=arena-run-bench", "-f", "-"],
                          input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode:
        raise RuntimeError(proc.stderr)


def run(cp, ns: str, args) -> None:
    t0 = time.perf_counter()
    resources = {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "8"}
    names = [f"{ns}-node-{i:03d}" for i in range(args.nodes)]
    apply_list(cp, [{"apiVersion": "v1", "kind": "Node",
                     "metadata": {"name": n, "annotations": {"kwok.x-k8s.io/node": "fake"},
                                  "labels": {"kubernetes.io/hostname": n, "type": "kwok", LABEL: ns}},
                     "spec": {"taints": [{"key": LABEL, "value": ns, "effect": "NoSchedule"}]},
                     "status": {"capacity": resources, "allocatable": resources}} for n in names])
    cp.run_kubectl("create", "namespace", ns)
    cp.run_kubectl("wait", "--for=condition=Ready", "--timeout=120s", "nodes", "-l", LABEL)

    def pod(i: int, finished: bool = False) -> dict:
        gpus = {"limits": {"nvidia.com/gpu": "1"}} if finished or i % 10 < 8 else {}
        meta = {"name": f"{'done' if finished else 'pod'}-{i:04d}", "namespace": ns}
        if finished:
            meta["annotations"] = {cp.info["exit_code_annotation"]: "0"}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": names[i % len(names)], "containers": [
                    {"name": "main", "image": "busybox:1.36", "resources": gpus}]}}

    n_done = args.pods // 10
    apply_list(cp, [pod(i) for i in range(args.pods)] + [pod(i, True) for i in range(n_done)])
    want = {"Running": args.pods, "Succeeded": n_done}
    while True:
        items = json.loads(cp.run_kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
        phases = {p: sum(1 for x in items if x["status"].get("phase") == p) for p in want}
        if phases == want:
            break
        time.sleep(1)
    setup = time.perf_counter() - t0
    total_pods = len(json.loads(cp.run_kubectl("get", "pods", "-A", "-o", "json").stdout)["items"])

    kube = connect(str(cp.kubeconfig))
    report = read_nodes(kube)  # warm: connection, imports
    mine = [n for n in report.nodes if n.name in set(names)]
    expected = sum(1 for i in range(args.pods) if i % 10 < 8)
    assert len(mine) == args.nodes and sum(n.gpus_allocated for n in mine) == expected, "wrong count"
    kube.requests.clear()
    api = median_time(lambda: read_nodes(kube), args.runs)
    requests = sum(kube.requests.values()) / args.runs

    commands = [
        ("arena-run top node", "arena-run", ["top", "node"]),
        ("arena-run top node -o json", "arena-run", ["top", "node", "-o", "json"]),
        ("kubectl get pods -A", "kubectl", ["get", "pods", "-A"]),
        ("kubectl get pods -A -o json", "kubectl", ["get", "pods", "-A", "-o", "json"]),
    ]
    results = {}
    with wire.Network(cp, args.rtts, Path(tempfile.mkdtemp(prefix="arena-bench-top-net-"))) as net:
        for rtt in args.rtts:
            measured: dict = {label: [] for label, *_ in commands}
            for r in range(args.runs):
                for label, tool, argv in (commands if r % 2 == 0 else commands[::-1]):
                    cmd = wire.kubectl_command(net, *argv) if tool == "kubectl" else wire.arena_run_command(*argv)
                    measured[label].append(wire.run(label, cmd, net, rtt, tool=tool))
            results[rtt] = {label: wire.median_run(rs) for label, rs in measured.items()}
    nodes_total = len(report.nodes)

    print(f"cluster: {nodes_total} nodes ({args.nodes} created here), {total_pods} pods "
          f"({args.pods} running + {n_done} finished created here); set-up {setup:.0f} s")
    print(f"GPUs: {report.summary} in the cluster; the created nodes' {expected} allocated counted exactly")
    print(f"median of {args.runs} runs:")
    print(f"  read_nodes (API, in process)       {api * 1000:7.0f} ms  ({requests:.0f} requests: LIST nodes, LIST pods)")
    for rtt, rows in results.items():
        print(f"  round trip {rtt:g} ms:")
        for label, r in rows.items():
            print(f"    {label:32} {r.seconds * 1000:7.0f} ms  floor {r.floor * 1000:5.0f} ms  "
                  f"{r.round_trips} round trips  {r.shown_requests()}")
        ratio = rows["arena-run top node"].seconds / rows["kubectl get pods -A"].seconds
        print(f"    {'ratio CLI / kubectl get pods -A':32} {ratio:7.2f}")
    print(f"command: {'ARENA_RUN_TEST_CLUSTER=' + os.environ['ARENA_RUN_TEST_CLUSTER'] + ' ' if os.environ.get('ARENA_RUN_TEST_CLUSTER') else ''}"
          f"python bench/top.py --nodes {args.nodes} --pods {args.pods} --runs {args.runs} --rtt-ms {args.rtt_ms}")


if __name__ == "__main__":
    main()
