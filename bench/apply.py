"""Applying 100 experiments, then re-applying them unchanged, against kubectl.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Each experiment is
a TFJob with TensorBoard (a Deployment and a Service): 300 objects.  The same
rendered objects are applied by `kubectl apply --server-side` to another
namespace.  Printed: wall time and request counts of each, the ratios, and
the CPU the control plane's processes (API server, etcd, the controllers and
operators reacting to the new objects) spent meanwhile: on a small machine
that runs both client and control plane, a first apply is bound by it.  Each
run starts once the control plane is quiet again after the one before.

arena-run is measured in process (as `arena_run.api` in a notebook) and, for
the re-apply, also as the `arena-run apply -y` command, start-up included,
beside the `kubectl` command.

    python bench/apply.py [--experiments 100]
"""

from __future__ import annotations

import argparse
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
from arena_run.render import render  # noqa: E402
from arena_run.render.output import to_yaml  # noqa: E402

EXPERIMENT = """
name = "bench-{i:03d}"
namespace = "{ns}"
[[data]]
host_path = "/tmp"
mount = "/data"
[job]
image = "busybox:1.36"
command = "sleep 3600"
memory = "64Mi"
[tensorboard]
logdir = "/data/logs/{i}"
"""


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def control_plane_cpu(cp_dir: Path) -> float:
    """CPU seconds (user + system) used so far by the daemons of the control plane (DIR/*.pid)."""
    total = 0
    for pidfile in cp_dir.glob("*.pid"):
        try:
            stat = Path(f"/proc/{pidfile.read_text().split()[0]}/stat").read_text()
        except (OSError, IndexError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def settle(cp_dir: Path, quiet: float = 0.25, limit: float = 60) -> None:
    """Until the control plane uses under `quiet` of a core (sampled each half
    second): the controllers' reactions to the last run's objects are over, so
    they do not land in the next run's time."""
    deadline = time.monotonic() + limit
    last = control_plane_cpu(cp_dir)
    while time.monotonic() < deadline:
        time.sleep(0.5)  # a sampling period, not a wait for an event
        now = control_plane_cpu(cp_dir)
        if now - last < quiet * 0.5:
            return
        last = now


def server_cpu(cp_dir: Path, fn):
    """fn's (seconds, result), and the control plane's CPU seconds meanwhile."""
    settle(cp_dir)
    before = control_plane_cpu(cp_dir)
    seconds, result = fn()
    return seconds, result, control_plane_cpu(cp_dir) - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="rounds, each in fresh namespaces; medians are printed")
    args = ap.parse_args()

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    try:
        rounds = [run(cp, args.experiments, tmp / f"round{r}", kubectl_first=r % 2 == 1) for r in range(args.runs)]
    finally:
        if not reuse:
            control_plane.down(tmp / "cp")
    print(f"{args.experiments} experiments, {3 * args.experiments} objects, {os.cpu_count()} CPUs, "
          f"medians of {args.runs} rounds, versions {cp.info.get('versions', '')}")
    print(f"{'':24} {'arena-run':>10} {'kubectl':>10} {'speed-up':>9}  {'control plane CPU-s':>19}   "
          "requests arena-run / kubectl")
    for i, label in enumerate(LABELS):
        rows = [r[i] for r in rounds]
        a_s, a_cpu, k_s, k_cpu = (statistics.median(row[j] for row in rows) for j in (0, 2, 3, 5))
        print(f"{label:24} {a_s:9.2f}s {k_s:9.2f}s {k_s / a_s:8.1f}x  {a_cpu:8.1f} / {k_cpu:<8.1f}   "
              f"{rows[0][1]} / {rows[0][4]}")


LABELS = ("first apply", "re-apply, unchanged", "re-apply, both commands")


def run(cp, n: int, tmp: Path, kubectl_first: bool) -> list:
    """One round in two fresh namespaces: [(arena s, requests, CPU-s, kubectl s, requests, CPU-s)] per LABELS."""
    tmp.mkdir(parents=True)
    suffix = f"{int(time.time() * 1000) % 10**8}"
    ns_arena, ns_kubectl = f"bench-arena-{suffix}", f"bench-kubectl-{suffix}"
    for ns in (ns_arena, ns_kubectl):
        cp.run_kubectl("create", "namespace", ns)
    files = []
    for i in range(n):
        d = tmp / f"e{i:03d}"
        d.mkdir()
        (d / "arena.toml").write_text(EXPERIMENT.format(i=i, ns=ns_arena))
        files.append(str(d / "arena.toml"))
    objects = [o for f in files for o in render(api.load(f)[0].experiment, ns_kubectl)]
    manifest = tmp / "all.yaml"
    manifest.write_text(to_yaml(objects))
    kube = api.connect(str(cp.kubeconfig))
    cp_dir = Path(cp.dir)

    def arena():
        kube.requests.clear()
        seconds, _ = timed(lambda: api.apply(str(tmp), kube))
        return seconds, dict(kube.requests)

    env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig)}
    script = Path(sys.executable).with_name("arena-run")

    def arena_cli():
        # -v prints one line per request attempt; counting them gives the requests.
        cmd = [str(script), "-v", "apply", "-y", str(tmp)]
        seconds, proc = timed(lambda: subprocess.run(cmd, env=env, capture_output=True, text=True, check=True))
        verbs: dict = {}
        for line in proc.stderr.splitlines():
            words = line.split()
            verb = words[1] if len(words) > 1 and words[0] == "arena-run:" else ""
            if verb in ("GET", "PATCH", "POST", "PUT", "DELETE"):
                verbs[verb] = verbs.get(verb, 0) + 1
        return seconds, verbs

    def kubectl():
        # -v=6 logs one line per request; counting them gives kubectl's requests.
        cmd = [str(cp.kubectl), "apply", "--server-side", "--field-manager=bench", "-f", str(manifest), "-v=6"]
        seconds, proc = timed(lambda: subprocess.run(cmd, env=env, capture_output=True, text=True, check=True))
        verbs: dict = {}
        for line in proc.stderr.splitlines():
            if '"Response" verb="' in line:
                verb = line.split('verb="', 1)[1].split('"', 1)[0]
                verbs[verb] = verbs.get(verb, 0) + 1
        return seconds, verbs

    rows = []
    for ours in (arena, arena, arena_cli):
        # Alternate who goes first, round by round: neither always meets the
        # control plane fresher.
        if kubectl_first:
            k = server_cpu(cp_dir, kubectl)
            a = server_cpu(cp_dir, ours)
        else:
            a = server_cpu(cp_dir, ours)
            k = server_cpu(cp_dir, kubectl)
        rows.append((*a, *k))
    # Waited for, so the next round does not pay for this one's garbage collection.
    cp.run_kubectl("delete", "namespace", ns_arena, ns_kubectl, "--wait=true", check=False)
    return rows


if __name__ == "__main__":
    main()
