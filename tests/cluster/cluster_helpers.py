"""Helpers shared by the cluster tests that drive arena-run (test_apply, test_ops, test_faults, ...)."""

from __future__ import annotations

import datetime as dt
import json

from tests.waiting import until  # noqa: F401  (the cluster tests import it from here)

# arena-run in process is tests/conftest.py's `run_cli` fixture, for these tests as for the others.


def kubectl_json(cluster, *args):
    return json.loads(cluster.run_kubectl(*args, "-o", "json").stdout)


def cri(lines, at=None):
    """Lines in the CRI log format kubelets (and kwok) read: TIME STREAM F TEXT."""
    at = at or dt.datetime.now(dt.timezone.utc)
    return "".join(f"{at.strftime('%Y-%m-%dT%H:%M:%S.%f000Z')} stdout F {line}\n" for line in lines)


def serve_logs(cluster, ns, pod, path, text):
    """kwok answers the kubelet log endpoint of pod from file path."""
    path.write_text(text)
    cluster.run_kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
        "metadata": {"name": pod, "namespace": ns},
        "spec": {"logs": [{"logsFile": str(path), "follow": True}]}}))
