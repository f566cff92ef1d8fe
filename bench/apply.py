"""Applying 100 experiments, then re-applying them unchanged, against kubectl, across a network.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Each experiment is
a TFJob with TensorBoard (a Deployment and a Service): 300 objects.  The same
rendered objects are applied by `kubectl apply --server-side` to another
namespace.  Both are commands (start-up included), and both reach the API
server through a delay proxy of each --rtt-ms (bench/delayproxy.py; 0: no
proxy), in the same run: the ratios compare runs made minutes apart on the
same machine, whatever else it was doing.

Each round makes fresh namespaces, then at each round-trip time: the first
apply of both, then the unchanged re-apply of both, who goes first
alternating round by round, each once the control plane is quiet.  Printed
per command, medians of --runs rounds: time, requests, round trips (the
longest chain of requests each waiting for the one before), connections, the
control plane's CPU meanwhile, the floor these give (bench/wire.py), and the
ratios; then the table of docs/development/benchmarks.md.

    python bench/apply.py [--experiments 100] [--runs 3] [--rtt-ms 0,5,20,50]
"""

from __future__ import annotations

import argparse
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
from arena_run.render import render  # noqa: E402
from arena_run.render.output import to_yaml  # noqa: E402
import tests.experiments  # noqa: E402
from tests.experiments import Document  # noqa: E402


def experiment(i: int) -> Document:
    """A TFJob with TensorBoard (a Deployment and a Service)."""
    return tests.experiments.experiment(f"bench-{i:03d}", memory="64Mi", tensorboard={"logdir": f"/data/logs/{i}"})


LABELS = ("first apply", "re-apply, unchanged")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="rounds, each in fresh namespaces; medians are printed")
    ap.add_argument("--rtt-ms", default="0", help="round-trip times to measure at, e.g. 0,5,20,50")
    args = ap.parse_args()
    rtts = wire.parse_rtts(args.rtt_ms)

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    try:
        exps = tmp / "experiments"
        for i in range(args.experiments):
            tests.experiments.write(exps / f"e{i:03d}" / "arena.toml", experiment(i))
        loaded = [item.experiment for item in api.load(str(exps))]
        with wire.Network(cp, rtts, tmp) as net:
            # results[rtt][label] = ([arena-run runs], [kubectl runs])
            results: dict = {rtt: {label: ([], []) for label in LABELS} for rtt in rtts}
            for r in range(args.runs):
                for rtt in rtts:
                    one_round(cp, net, rtt, loaded, exps, tmp / f"round{r}-{rtt:g}", r % 2 == 1, results[rtt])
    finally:
        if not reuse:
            control_plane.down(tmp / "cp")
    report(results, args, cp)


def one_round(cp, net: wire.Network, rtt: float, loaded, exps: Path, tmp: Path, kubectl_first: bool,
              into: dict) -> None:
    tmp.mkdir(parents=True)
    suffix = f"{int(time.time() * 1000) % 10**8}"
    ns_arena, ns_kubectl = f"bench-arena-{suffix}", f"bench-kubectl-{suffix}"
    for ns in (ns_arena, ns_kubectl):
        cp.run_kubectl("create", "namespace", ns)
    manifest = tmp / "all.yaml"
    manifest.write_text(to_yaml([o for exp in loaded for o in render(exp, ns_kubectl)]))
    arena = wire.arena_run_command("apply", "-y", "-n", ns_arena, str(exps))
    kubectl = wire.kubectl_command(net, "apply", "--server-side", "--field-manager=bench", "-f", str(manifest))
    try:
        for label in LABELS:
            pair = [lambda: wire.run(label, arena, net, rtt, tool="arena-run"),
                    lambda: wire.run(label, kubectl, net, rtt, tool="kubectl")]
            for i in ((1, 0) if kubectl_first else (0, 1)):
                into[label][i].append(pair[i]())
    finally:
        # Waited for, so the next round does not pay for this one's garbage collection.
        # On a loaded machine the deletion of 600 objects and their pods outlasts run_kubectl's 2 minutes.
        subprocess.run([str(cp.kubectl), f"--kubeconfig={cp.kubeconfig}", "delete", "namespace", ns_arena, ns_kubectl,
                        "--wait=true"], capture_output=True, timeout=1800)


def report(results: dict, args, cp) -> None:
    n = args.experiments
    print(f"\n{n} experiments, {3 * n} objects, {os.cpu_count()} CPUs, medians of {args.runs} rounds, "
          f"{wire.now_utc()}, versions {cp.info.get('versions', '')}")
    print(f"{'':22} {'rtt':>5} {'tool':9} {'time':>7} {'floor':>7} {'RTs':>4} {'conn':>4} "
          f"{'cp CPU':>6} {'own CPU':>7}  requests")
    table = []
    for rtt, by_label in results.items():
        for label, (ours, theirs) in by_label.items():
            a, k = wire.median_run(ours), wire.median_run(theirs)
            for tool, r in (("arena-run", a), ("kubectl", k)):
                print(f"{label:22} {rtt:4g}ms {tool:9} {r.seconds:6.2f}s {r.floor:6.2f}s {r.round_trips:4d} "
                      f"{r.connections:4d} {r.cp_cpu:6.1f} {r.own_cpu:7.2f}  {r.shown_requests()}")
            print(f"{'':22} {'':5} {'speed-up':9} {k.seconds / a.seconds:6.1f}x")
            table.append((label, rtt, a, k))
    print("\n| | round trip | arena-run: time (floor) | requests, round trips | kubectl: time (floor) "
          "| requests, round trips | speed-up |")
    print("|---|--:|--:|---|--:|---|--:|")
    for label, rtt, a, k in table:
        print(f"| {label} | {rtt:g} ms | {a.seconds:.2f} s ({a.floor:.2f}) | {a.shown_requests()}; {a.round_trips} RT | "
              f"{k.seconds:.2f} s ({k.floor:.2f}) | {k.shown_requests()}; {k.round_trips} RT | "
              f"{k.seconds / a.seconds:.1f}× |")
    print(f"\ncommand: {'ARENA_RUN_TEST_CLUSTER=… ' if os.environ.get('ARENA_RUN_TEST_CLUSTER') else ''}"
          f"python bench/apply.py --experiments {n} --runs {args.runs} --rtt-ms {args.rtt_ms}")


if __name__ == "__main__":
    main()
