"""Applying 100 experiments, then re-applying them unchanged, against kubectl.

Runs on the control plane of tests/cluster (started here, or the one in
ARENA_RUN_TEST_CLUSTER=DIR from `tests/cluster/up DIR`).  Each experiment is
a TFJob with TensorBoard (a Deployment and a Service): 300 objects.  The same
rendered objects are applied by `kubectl apply --server-side` to another
namespace.  Printed: wall time and request counts of each, and the ratios.

    python bench/apply.py [--experiments 100]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", type=int, default=100)
    args = ap.parse_args()

    reuse = os.environ.get("ARENA_RUN_TEST_CLUSTER")
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    cp = control_plane.Cluster.load(reuse) if reuse else control_plane.up(tmp / "cp")
    try:
        run(cp, args.experiments, tmp)
    finally:
        if not reuse:
            control_plane.down(tmp / "cp")


def run(cp, n: int, tmp: Path) -> None:
    suffix = str(int(time.time()))[-6:]
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

    def arena():
        kube.requests.clear()
        seconds, _ = timed(lambda: api.apply(str(tmp), kube))
        return seconds, dict(kube.requests)

    env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig)}

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
    for label in ("first apply", "re-apply, unchanged"):
        a_s, a_req = arena()
        k_s, k_req = kubectl()
        rows.append((label, a_s, a_req, k_s, k_req))
    print(f"{n} experiments, {len(objects)} objects, versions {cp.info.get('versions', '')}")
    print(f"{'':22} {'arena-run':>10} {'kubectl':>10} {'ratio':>7}   requests arena-run / kubectl")
    for label, a_s, a_req, k_s, k_req in rows:
        print(f"{label:22} {a_s:9.2f}s {k_s:9.2f}s {a_s / k_s:7.2f}   {a_req} / {k_req}")
    for ns in (ns_arena, ns_kubectl):
        cp.run_kubectl("delete", "namespace", ns, "--wait=false", check=False)


if __name__ == "__main__":
    main()
