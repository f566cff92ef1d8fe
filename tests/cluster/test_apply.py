"""plan / apply / status / delete against the real control plane.

Each test gets a fresh namespace.  Writes are counted at the client seam
(Cluster.requests), and live objects are read back with kubectl, so what is
asserted is what the API server holds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
import yaml

from arena_run import api
from arena_run.apply import ApplyError, apply_plan
from arena_run.cluster import Cluster
from arena_run.objects.applyset import applyset_id
from arena_run.plan.diff import diff
from cluster_helpers import kubectl_json, until
from tests import experiments
from tests.experiments import TENSORBOARD

def experiment(tmp_path, ns, *, tensorboard=True, serve=True, file="arena.toml", **keys) -> str:
    """exp: a 1-GPU TFJob with TensorBoard and serving (unless told otherwise), in tmp_path/file."""
    return experiments.write(tmp_path / file, experiments.experiment(
        "exp", ns, gpus=1, tensorboard=tensorboard, serve=serve, **keys))


def live_objects(cluster, ns) -> dict:
    """Everything in ns that says it is an arena-run experiment's, by (kind, name)."""
    items = kubectl_json(cluster, "get", "tfjobs,pytorchjobs,deployments,services,configmaps", "-n", ns,
                         "-l", "app.kubernetes.io/managed-by=arena-run")["items"]
    return {(o["kind"], o["metadata"]["name"]): o for o in items}


def writes(kube: Cluster) -> int:
    return sum(n for verb, n in kube.requests.items() if verb != "GET")


def test_apply_then_nothing_to_do(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace)
    code, out, err = run_cli("apply", "-y", path)
    assert code == 0, err
    assert "+ TFJob exp" in out and "Applied exp" in out
    live = live_objects(cluster, namespace)
    assert set(live) == {
        ("TFJob", "exp"), ("Deployment", "exp-tensorboard"), ("Service", "exp-tensorboard"),
        ("Deployment", "exp-serving"), ("Service", "exp-serving"), ("ConfigMap", "arena-run-exp"),
    }
    # Live equals desired on every field arena-run sets.
    for plan in api.plan(kube, path):
        for action in plan.actions:
            key = (action.kind, action.name)
            assert not diff(action.desired["spec"], live[key]["spec"]), key

    kube.requests.clear()
    (plan,) = api.plan(kube, path)
    assert not plan.has_changes and plan.counts() == {"unchanged": 5}
    # One GET of the parent and one LIST per kind: reads are O(kinds).
    assert kube.requests == {"GET": 1 + 3}
    assert api.apply(kube, path) == []
    assert writes(kube) == 0

    code, out, _ = run_cli("plan", "--detailed-exitcode", path)
    assert code == 0 and "No changes." in out
    # Once the worker runs, status counts it ready and its GPU requested.
    until(lambda: api.status(kube, path)[0].jobs[0].replicas == {"Worker": "1/1"}, what="worker ready")
    code, out, _ = run_cli("status", "-o", "json", path)
    (st,) = json.loads(out)
    assert st["sync"] == "in sync" and st["name"] == "exp" and st["namespace"] == namespace
    assert st["jobs"][0]["replicas"] == {"Worker": "1/1"}
    assert st["jobs"][0]["gpus_requested"] == 1
    assert st["tensorboard"]["hint"] == f"kubectl port-forward -n {namespace} svc/exp-tensorboard 6006:6006"


def test_edits_plan_update_replace_and_delete(cluster, kube, namespace, tmp_path, run_cli):
    api.apply(kube, experiment(tmp_path, namespace), replace_running=True)
    before = live_objects(cluster, namespace)
    edited = {"command": "sleep 7200", "serve": False, "env": {"MODE": "fast"}}
    path = experiment(tmp_path, namespace, **edited, tensorboard={**TENSORBOARD, "cpu": "500m"})
    (plan,) = api.plan(kube, path)
    ops = {(a.op, a.kind, a.name) for a in plan.changes}
    assert ops == {
        ("replace", "TFJob", "exp"), ("update", "Deployment", "exp-tensorboard"),
        ("delete", "Deployment", "exp-serving"), ("delete", "Service", "exp-serving"),
    }
    replace = next(a for a in plan.changes if a.op == "replace")
    assert replace.reason == "forces replacement: job.command, job.env"
    code, out, _ = run_cli("plan", "--detailed-exitcode", path)
    assert code == 2
    assert "-/+ TFJob exp   forces replacement: job.command, job.env" in out
    assert "~ Deployment exp-tensorboard" in out and "- Service exp-serving" in out

    assert run_cli("apply", "-y", "--replace-running", path)[0] == 0
    after = live_objects(cluster, namespace)
    assert ("Deployment", "exp-serving") not in after and ("Service", "exp-serving") not in after
    assert after[("TFJob", "exp")]["metadata"]["uid"] != before[("TFJob", "exp")]["metadata"]["uid"]
    assert after[("Deployment", "exp-tensorboard")]["metadata"]["uid"] == \
        before[("Deployment", "exp-tensorboard")]["metadata"]["uid"]
    container = after[("TFJob", "exp")]["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["sh", "-c", "sleep 7200"]
    tb = after[("Deployment", "exp-tensorboard")]["spec"]["template"]["spec"]["containers"][0]
    assert tb["resources"]["limits"]["cpu"] == "500m"
    parent = after[("ConfigMap", "arena-run-exp")]
    assert parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] == \
        "Deployment.apps,Service,TFJob.kubeflow.org"
    assert not api.plan(kube, path)[0].has_changes

    # Remove the field again: server-side apply takes it away, and plan said so.
    experiment(tmp_path, namespace, **edited)
    (plan,) = api.plan(kube, path)
    (update,) = plan.changes
    assert [c.path for c in update.changes] == ["spec.template.spec.containers[name=tensorboard].resources"]
    api.apply(kube, plan and [plan], replace_running=True)
    tb = live_objects(cluster, namespace)[("Deployment", "exp-tensorboard")]["spec"]["template"]["spec"]
    assert tb["containers"][0]["resources"] == {}  # what server-side apply leaves of a struct it emptied


def test_foreign_edit_is_drift_and_reverted(cluster, kube, namespace, tmp_path):
    path = experiment(tmp_path, namespace)
    api.apply(kube, path)
    cluster.run_kubectl("-n", namespace, "scale", "deployment/exp-tensorboard", "--replicas=3")
    cluster.run_kubectl("-n", namespace, "label", "service/exp-serving", "team=other")  # not ours: no drift
    (plan,) = api.plan(kube, path)
    (update,) = plan.changes
    assert (update.op, update.kind, update.name) == ("update", "Deployment", "exp-tensorboard")
    (change,) = update.changes
    assert (change.path, change.old, change.new) == ("spec.replicas", 3, 1)
    assert change.changed_by == ("kubectl",) or change.changed_by[0].startswith("kubectl")
    (st,) = api.status(kube, path)
    assert st.sync == "drifted" and "changed by kubectl" in st.sync_detail[0]
    api.apply(kube, [plan])
    deploy = kubectl_json(cluster, "-n", namespace, "get", "deployment", "exp-tensorboard")
    assert deploy["spec"]["replicas"] == 1
    svc = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-serving")
    assert svc["metadata"]["labels"]["team"] == "other"  # other owners' fields stay
    assert not api.plan(kube, path)[0].has_changes


def test_clashing_object_is_left_untouched(cluster, kube, namespace, tmp_path, run_cli):
    cluster.run_kubectl("-n", namespace, "create", "service", "clusterip", "exp-tensorboard", "--tcp=80:80")
    before = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-tensorboard")
    path = experiment(tmp_path, namespace)
    code, out, err = run_cli("apply", "-y", path)
    assert code == 1
    assert f"Service {namespace}/exp-tensorboard exists but is not part of this experiment" in err
    after = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-tensorboard")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert set(live_objects(cluster, namespace)) == set(), "nothing may be written"
    with pytest.raises(ApplyError):
        api.apply(kube, path)

    code, _, err = run_cli("apply", "-y", "--adopt", path)
    assert code == 0, err
    adopted = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-tensorboard")
    assert adopted["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == applyset_id("arena-run-exp", namespace)
    assert not api.plan(kube, path)[0].has_changes


def test_sweep_points_added_and_removed(cluster, kube, namespace, tmp_path):
    def sweep(values):
        return experiment(tmp_path, namespace, command="train --lr {{lr}}", tensorboard=False, serve=False,
                          sweep={"lr": values})

    api.apply(kube, sweep([0.1, 0.01]), replace_running=True)
    first = {n: o["metadata"]["uid"] for (k, n), o in live_objects(cluster, namespace).items() if k == "TFJob"}
    assert len(first) == 2
    (plan,) = api.plan(kube, sweep([0.1, 0.01, 0.001]))
    assert plan.counts() == {"create": 1, "unchanged": 2}
    api.apply(kube, [plan], replace_running=True)
    second = {n: o["metadata"]["uid"] for (k, n), o in live_objects(cluster, namespace).items() if k == "TFJob"}
    assert len(second) == 3 and all(second[n] == uid for n, uid in first.items())
    # Dropping lr = 0.1 deletes exactly its job; the others keep running as they were.
    (dropped,) = _job_names(sweep([0.1]))
    assert dropped in first
    (plan,) = api.plan(kube, sweep([0.01, 0.001]))
    assert plan.counts() == {"delete": 1, "unchanged": 2}
    assert [a.name for a in plan.changes] == [dropped]
    api.apply(kube, [plan], replace_running=True)
    third = {n: o["metadata"]["uid"] for (k, n), o in live_objects(cluster, namespace).items() if k == "TFJob"}
    assert set(third) == set(second) - {dropped}
    assert all(third[n] == second[n] for n in third)


class Interrupted(BaseException):
    """As if the process were killed: nothing below gets to clean up."""


@pytest.mark.parametrize("after", [0, 1, 2, 3, 4, 5])
def test_interrupted_apply_converges(cluster, kube, namespace, tmp_path, after, monkeypatch):
    api.apply(kube, experiment(tmp_path, namespace, serve=False), replace_running=True)
    new = experiment(tmp_path, namespace, command="sleep 1", tensorboard=False, sweep={"seed": [1, 2]}, file="v2.toml")
    (plan,) = api.plan(kube, new)
    real_apply, real_delete = Cluster.apply, Cluster.delete
    count = {"n": 0}

    def step():
        if count["n"] >= after:
            raise Interrupted()
        count["n"] += 1

    monkeypatch.setattr(Cluster, "apply", lambda self, *a, **k: (step(), real_apply(self, *a, **k))[1])
    monkeypatch.setattr(Cluster, "delete", lambda self, *a, **k: (step(), real_delete(self, *a, **k))[1])
    with pytest.raises(Interrupted):
        apply_plan(kube, plan)
    monkeypatch.undo()

    api.apply(kube, new, replace_running=True)
    live = live_objects(cluster, namespace)
    assert set(live) == {("TFJob", n) for n in _job_names(new)} | {("ConfigMap", "arena-run-exp"),
                                                                   ("Deployment", "exp-serving"), ("Service", "exp-serving")}
    set_id = applyset_id("arena-run-exp", namespace)
    assert all(o["metadata"]["labels"].get("applyset.kubernetes.io/part-of") == set_id
               for (kind, _), o in live.items() if kind != "ConfigMap")
    assert not api.plan(kube, new)[0].has_changes


def _job_names(path):
    exp = api.load(path)[0].experiment
    from arena_run.spec.names import job_name, job_points

    return {job_name(exp, p) for p in job_points(exp)}


def test_finished_job_is_not_rerun(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace, tensorboard=False, serve=False, ttl_after_finished="1h")
    api.apply(kube, path)
    uid = kubectl_json(cluster, "-n", namespace, "get", "tfjob", "exp")["metadata"]["uid"]
    # The worker's process exits 0 (kwok ends the pod on this annotation) and
    # the training operator marks the job Succeeded, as in production.
    until(lambda: cluster.run_kubectl("-n", namespace, "get", "pod", "exp-worker-0", check=False).returncode == 0)
    cluster.run_kubectl("-n", namespace, "annotate", "pod", "exp-worker-0", "arena-run.test/exit-code=0")
    until(lambda: api.status(kube, path)[0].phase == "Succeeded")
    (plan,) = api.plan(kube, path)
    assert plan.changes == [] and plan.actions[0].reason == "finished"
    # Only apply's bookkeeping would be written: nothing for a CI drift check.
    assert plan.record_only and not plan.to_review
    code, out, err = run_cli("plan", "--detailed-exitcode", path)
    assert code == 0, out + err
    assert "No changes" in out and "finished job" in out
    code, out, _ = run_cli("plan", "--detailed-exitcode", "-o", "markdown", path)
    assert code == 0 and "| no changes |" in out
    (st,) = api.status(kube, path)
    assert st.jobs[0].duration is not None and st.sync == "in sync"
    # Apply records that it saw the job finished: one write, of the parent.
    kube.requests.clear()
    api.apply(kube, [plan])
    assert writes(kube) == 1
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    assert json.loads(parent["metadata"]["annotations"]["arena-run.io/finished-jobs"]).keys() == {"exp"}
    assert not api.plan(kube, path)[0].has_changes

    # Its TTL removes it: an unchanged spec does not bring it back...
    cluster.run_kubectl("-n", namespace, "delete", "tfjob", "exp")
    (plan,) = api.plan(kube, path)
    assert plan.counts() == {"keep": 1} and not plan.has_changes
    # ...--rerun does.
    (plan,) = api.plan(kube, path, rerun=True)
    assert plan.counts() == {"create": 1}
    api.apply(kube, [plan])
    assert kubectl_json(cluster, "-n", namespace, "get", "tfjob", "exp")["metadata"]["uid"] != uid


def test_limited_user(cluster, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_limited))
    ns = cluster.limited_namespace
    path = experiment(tmp_path, ns, serve=False)
    code, _, err = run_cli("apply", "-y", path)
    assert code == 0, err
    code, _, err = run_cli("status", "-n", ns, "-o", "json")
    assert code == 0, err
    elsewhere = experiment(tmp_path, "default", serve=False, file="other.toml")
    code, out, err = run_cli("apply", "-y", elsewhere)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("arena-run: error:") and "forbidden" in line and "Traceback" not in err
    assert run_cli("delete", "-y", path)[0] == 0


def _kubectl_applyset(cluster, *args):
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "KUBECTL_APPLYSET": "true"}
    return subprocess.run([str(cluster.kubectl), *args], capture_output=True, text=True, env=env)


def test_kubectl_recognises_the_applyset(cluster, kube, namespace, tmp_path):
    path = experiment(tmp_path, namespace, serve=False)
    api.apply(kube, path)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all([a.desired for pl in api.plan(kube, path) for a in pl.actions]))
    result = _kubectl_applyset(cluster, "apply", "-n", namespace, "--server-side", "--prune",
                               "--applyset=configmap/arena-run-exp", "-f", str(rendered))
    # kubectl reads our parent as an ApplySet parent, and leaves it to its tool.
    assert result.returncode != 0
    assert 'managed by tooling "arena-run"' in result.stderr, result.stderr
    # And kubectl computes the same ID for a parent of that name as arena-run does.
    other = f"{namespace}-k"
    cluster.run_kubectl("create", "namespace", other)
    try:
        manifest = tmp_path / "cm.yaml"
        manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "x", "namespace": other}}))
        result = _kubectl_applyset(cluster, "apply", "-n", other, "--server-side", "--prune",
                                   "--applyset=configmap/arena-run-exp", "-f", str(manifest))
        assert result.returncode == 0, result.stderr
        parent = kubectl_json(cluster, "-n", other, "get", "configmap", "arena-run-exp")
        assert parent["metadata"]["labels"]["applyset.kubernetes.io/id"] == applyset_id("arena-run-exp", other)
    finally:
        cluster.run_kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_delete_removes_everything_and_twice_is_fine(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace)
    api.apply(kube, path)
    code, out, _ = run_cli("delete", "-y", "--wait", path)
    assert code == 0 and "- TFJob exp" in out and "ConfigMap arena-run-exp" in out
    assert live_objects(cluster, namespace) == {}
    pods = kubectl_json(cluster, "-n", namespace, "get", "pods")["items"]
    assert [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")] == []
    code, out, _ = run_cli("delete", "-y", "-n", namespace, "exp")
    assert code == 0 and "nothing to delete" in out


def test_bad_file_writes_nothing(cluster, kube, namespace, tmp_path, run_cli):
    good = experiment(tmp_path, namespace)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "bad"\nnamespace = "{namespace}"\n[job]\nimage = "i"\ncommand = "c"\ngpu = 1\n')
    code, _, err = run_cli("apply", "-y", good, str(bad))
    assert code == 1
    assert f"{bad}:6:1: job.gpu: unknown key 'gpu'; did you mean 'gpus'?" in err
    assert live_objects(cluster, namespace) == {}


def test_no_cluster_is_one_clear_line(tmp_path, run_cli, monkeypatch):
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(config))
    path = experiment(tmp_path, "default")
    code, _, err = run_cli("plan", path)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line == f"arena-run: error: cannot reach the cluster at https://127.0.0.1:1 (kubeconfig {config}, context c): connection refused"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    code, _, err = run_cli("status")
    assert code == 1 and "names no existing file" in err


def test_apply_wait_then_status_reports_replicas_gpus_and_urls(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace, workers=2, tensorboard={**TENSORBOARD, "service": "NodePort"})
    code, out, err = run_cli("apply", "-y", "--wait", "--timeout", "120", path)
    assert code == 0, err
    assert "Ready: 5 object(s)." in out
    (st,) = api.status(kube, path)
    assert st.phase == "Running" and st.sync == "in sync"
    (job,) = st.jobs
    assert job.replicas == {"Worker": "2/2"}
    assert (job.gpus_requested, job.gpus_allocated) == (2, 2)
    assert set(job.nodes) <= set(cluster.gpu_nodes)
    node_port = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-tensorboard")["spec"]["ports"][0]["nodePort"]
    assert st.tensorboard.url == f"http://127.0.0.1:{node_port}"
    assert st.serving.available == "1/1"
    code, out, _ = run_cli("status", "-A")
    assert code == 0 and namespace in out and "exp" in out


def test_missing_namespace_is_one_line_with_the_fix(cluster, kube, tmp_path, run_cli):
    path = experiment(tmp_path, "no-such-namespace", serve=False)
    code, _, err = run_cli("apply", "-y", path)
    assert code == 1
    assert err.strip().splitlines()[0] == (
        'error: exp: namespaces "no-such-namespace" not found '
        "(arena-run does not create namespaces: kubectl create namespace no-such-namespace)"
    )
    assert "Traceback" not in err


def test_plan_json_and_status_watch(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace, serve=False)
    code, out, _ = run_cli("plan", "-o", "json", path)
    assert code == 0
    (plan,) = json.loads(out)
    assert plan["changes"] is True and {a["op"] for a in plan["actions"]} == {"create"}
    api.apply(kube, path)
    # --watch redraws until interrupted, then exits 0.
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    proc = subprocess.Popen([sys.executable, "-m", "arena_run", "status", "--watch", "-n", namespace],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: list = []
    reader = threading.Thread(target=lambda: [got.append(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        # Interrupt once the first table is drawn, not after a guessed delay.
        until(lambda: any(line.split()[:1] == ["EXPERIMENT"] for line in got)
              and any(line.split()[:1] == ["exp"] for line in got), timeout=60, what="the first table")
        assert proc.poll() is None  # still watching
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    err = proc.stderr.read()
    assert "Traceback" not in err, err
