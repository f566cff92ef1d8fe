"""The docs' samples that need a cluster, run as written against the control plane (tests/test_docs.py runs the rest).

Each runs in a directory holding a copy of examples/ whose files name this
test's namespace (the examples' own, such as team-a, would be shared by every
run of the suite on one control plane), with a kubeconfig whose context
defaults to it, and the claims the examples mount created there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from cluster_helpers import cri, serve_logs
from tests.test_docs import in_a_terminal, python_samples, sample_env, shell_lines

CLAIMS = ("training-data", "imagenet", "experiments", "models")


@pytest.fixture
def clone(cluster, namespace, tmp_path):
    """(cwd, env) for a sample: examples/ in namespace, KUBECONFIG's context defaulting to it, claims made."""
    from tests.conftest import ROOT

    cwd = tmp_path / "clone"
    shutil.copytree(ROOT / "examples", cwd / "examples")
    for path in (cwd / "examples").rglob("arena.*"):
        text = path.read_text()
        path.write_text(re.sub(r'^namespace( *[=:] *)"?[a-z0-9-]+"?$', rf'namespace\g<1>"{namespace}"', text, flags=re.M))
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = namespace
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    volumes = []
    for claim in CLAIMS:  # each bound to a volume of its own, so that the pods mounting it start (on kwok)
        volume = f"{namespace}-{claim}"
        volumes.append(volume)
        cluster.run_kubectl("create", "-f", "-", input=yaml.safe_dump({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                     "hostPath": {"path": "/tmp"}, "claimRef": {"namespace": namespace, "name": claim}}}))
        cluster.run_kubectl("-n", namespace, "create", "-f", "-", input=yaml.safe_dump({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": volume,
                     "resources": {"requests": {"storage": "1Gi"}}}}))
    yield cwd, sample_env(tmp_path, KUBECONFIG=str(kubeconfig))
    cluster.run_kubectl("delete", "pv", *volumes, "--wait=false", check=False)


@pytest.mark.parametrize("where,lines", shell_lines(cluster=True), ids=lambda v: v if isinstance(v, str) else "")
def test_shell_samples_run_on_a_cluster(where, lines, clone):
    cwd, env = clone
    for command in lines:
        code, out = in_a_terminal(command, cwd, env)
        assert code == 0, f"{command}\nexited {code}:\n{out[-3000:]}"


@pytest.mark.parametrize("sample", python_samples(cluster=True), ids=lambda s: s.where)
def test_python_samples_run_on_a_cluster(sample, clone, cluster, namespace, tmp_path):
    cwd, env = clone
    # What the sample's `logs` reads: kwok answers the kubelet's log endpoint of the pod it names.
    serve_logs(cluster, namespace, "tf-git-worker-0", tmp_path / "worker.log", cri(["step 1: loss 0.5"]))
    proc = subprocess.run([sys.executable, "-c", sample.text], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{sample.where}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "step 1: loss 0.5" in proc.stdout
