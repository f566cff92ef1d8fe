"""plan --diff (kubectl diff is the referee), plan -o markdown, and progress of replacements and deletions."""

from __future__ import annotations

import re
import subprocess

from arena_run import api
from arena_run.plan import desired_members
from arena_run.render.output import to_yaml
from cluster_helpers import kubectl_json, until
from test_convergence import kubectl_diff as referee_diff
from tests import experiments


def write(path, ns, command="sleep 3600", ttl=600):
    return experiments.write(path, experiments.experiment("exp", ns, command=command, ttl_after_finished=ttl,
                                                          tensorboard=True))


def kubectl_diff(cluster, path, ns) -> str:
    """kubectl diff --server-side of the objects arena-run would apply, as arena-run's field manager."""
    objects = desired_members(api.load(path)[0].experiment, ns)
    proc = subprocess.run([str(cluster.kubectl), f"--kubeconfig={cluster.kubeconfig}", "diff", "--server-side",
                           "--field-manager=arena-run", "--force-conflicts", "-f", "-"],
                          input=to_yaml(objects), capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def settled(cluster, ns, name, replicas) -> bool:
    """The Deployment's controller has caught up: nothing of its status is still moving."""
    d = kubectl_json(cluster, "-n", ns, "get", "deployment", name)
    st = d.get("status") or {}
    return st.get("observedGeneration") == d["metadata"]["generation"] and all(
        st.get(k) == replicas for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))


def changed_objects(text: str) -> set:
    return set(re.findall(r"^\+\+\+ \S*?(?:MERGED-\d+/|merged/)(\S+)", text, re.M))


def changed_lines(text: str) -> set:
    return {line for line in text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))}


def test_plan_diff_shows_what_kubectl_diff_shows(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", namespace)
    assert run_cli("apply", "-y", path)[0] == 0
    code, out, _ = run_cli("plan", "--diff", path)
    # kubectl's own diff reads the live object and the dry run at two moments: the Deployment's status,
    # moving on as its pod starts, showed between them.  Emptiness is judged without status (the referee
    # of test_convergence); the comparison below waits for the controllers to settle first.
    assert code == 0 and "+++" not in out and referee_diff(cluster, tmp_path, path) == ""

    write(tmp_path / "arena.toml", namespace, command="sleep 7200", ttl=900)
    cluster.run_kubectl("-n", namespace, "scale", "deployment", "exp-tensorboard", "--replicas=3")  # drift
    until(lambda: settled(cluster, namespace, "exp-tensorboard", 3) and any(
        c["type"] == "Running" and c["status"] == "True"
        for c in (kubectl_json(cluster, "-n", namespace, "get", "tfjobs", "exp").get("status") or {}).get(
            "conditions") or []), what="the scaled Deployment settled and the job running")
    code, out, _ = run_cli("plan", "--diff", "--detailed-exitcode", path)
    theirs = kubectl_diff(cluster, path, namespace)
    assert code == 2
    assert changed_objects(out) == changed_objects(theirs) == {
        "kubeflow.org.v1.TFJob." + namespace + ".exp", "apps.v1.Deployment." + namespace + ".exp-tensorboard"}
    assert {"-            - sleep 3600", "+            - sleep 7200", "-    ttlSecondsAfterFinished: 600",
            "+    ttlSecondsAfterFinished: 900", "-  replicas: 3", "+  replicas: 1"} <= changed_lines(out)
    # Every line kubectl diff marks changed, arena-run marks too (its YAML quotes alike for these objects).
    assert changed_lines(theirs) <= changed_lines(out), changed_lines(theirs) - changed_lines(out)
    # Nothing was written: the live job still runs the old command.
    assert kubectl_json(cluster, "-n", namespace, "get", "tfjobs", "exp")["spec"]["tfReplicaSpecs"]["Worker"][
        "template"]["spec"]["containers"][0]["command"][-1] == "sleep 3600"

    code, md, _ = run_cli("plan", "-o", "markdown", "--diff", path)
    assert code == 0
    assert md.startswith("### arena-run plan: 1 experiment(s), 1 with changes, 1 drifted\n")
    assert f"| exp | {namespace} | 0 | 1 | 1 | 0 | yes | changes |" in md
    assert "- `-/+` **TFJob exp**: forces replacement: job.ttl_after_finished, job.command" in md
    assert "  - `spec.replicas`: `3` → `1` (drift: changed by `kubectl`)" in md.splitlines()
    assert "  ```diff" in md.splitlines() and "  +            - sleep 7200" in md.splitlines()


def test_replacement_and_deletion_waits_are_shown(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path / "arena.toml", namespace)
    code, out, _ = run_cli("apply", "-y", "--replace-running", path)
    assert code == 0 and "Applied exp: 3 change(s)." in out.splitlines()
    write(tmp_path / "arena.toml", namespace, command="sleep 7200")
    code, out, _ = run_cli("apply", "-y", "--replace-running", path)
    assert code == 0
    lines = out.splitlines()
    wait = (f"waiting for TFJob {namespace}/exp to be deleted (replacing it, forces replacement: job.command; "
            "its pods go first)…")
    assert wait in lines and lines.index(wait) < lines.index("Applied exp: 1 change(s).")

    code, out, _ = run_cli("delete", "-y", "--wait", path)
    assert code == 0
    waits = [l for l in out.splitlines() if l.startswith("waiting for ")]
    assert sorted(waits) == sorted(
        f"waiting for {kind} {namespace}/{name} to be deleted (foreground deletion: its dependents, such as pods, "
        "go first)…" for kind, name in (("TFJob", "exp"), ("Deployment", "exp-tensorboard"),
                                         ("Service", "exp-tensorboard")))
    assert f"Deleted exp in {namespace}: 3 object(s) and its ApplySet parent." in out
