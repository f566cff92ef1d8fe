"""arena_run.Client on the control plane: the very calls tests/local/test_client_here.py makes on this machine."""

from __future__ import annotations

import pytest

from arena_run import Client
from cluster_helpers import cri, serve_logs
from tests.client_drive import LINES, drive, experiment_text
from tests.waiting import until

pytestmark = pytest.mark.cluster


def test_the_client_drives_the_control_plane(cluster, kube, namespace, tmp_path):
    path = tmp_path / "arena.toml"
    path.write_text(experiment_text("cl"))
    pod = "cl-worker-0"

    def started() -> None:
        until(lambda: cluster.run_kubectl("-n", namespace, "get", "pod", pod, check=False).returncode == 0,
              what="the worker's pod")
        serve_logs(cluster, namespace, pod, tmp_path / "worker.log", cri(LINES))

    def finish() -> None:  # the worker's process exits 0: kwok ends the pod, the operator the job
        cluster.run_kubectl("-n", namespace, "annotate", "pod", pod, "arena-run.test/exit-code=0")

    c = Client(kubeconfig=str(cluster.kubeconfig), namespace=namespace)  # as a notebook makes one
    drive(c, str(path), "cl", started=started, finish=finish)
