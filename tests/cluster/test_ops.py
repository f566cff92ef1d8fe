"""logs, top node, top job, prune and data list against the real control plane.

Nodes the numbers are asserted on are created here (kwok-managed fake GPU
nodes, tainted so nobody else's pods land on them) and deleted afterwards;
the two shared GPU nodes are left alone.  Pods finish the way production
ones do: kwok ends them on the exit-code annotation, the real training
operator then finishes their TFJob.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import datetime as dt

import pytest

from arena_run.status.top import read_nodes
from cluster_helpers import cri, kubectl_json, serve_logs, until
from tests import experiments
from tests.experiments import DATA

TAINT = "arena-run.test/ops"
EXIT = "arena-run.test/exit-code"


def experiment(tmp_path, ns, name, *, data=(), **keys) -> str:
    """name's experiment in tmp_path/<name>.toml: a TFJob with nothing mounted unless given."""
    return experiments.write(tmp_path / f"{name}.toml", experiments.experiment(name, ns, data=data, **keys))


TOLERATE = [{"key": TAINT, "operator": "Exists"}]


@pytest.fixture
def fake_nodes(cluster, namespace):
    """make(suffix, gpus, labels=...) -> a kwok node only this test uses; all deleted afterwards."""
    made = []

    def make(suffix, gpus, labels=None):
        name = f"{namespace}-{suffix}"
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": str(gpus)}
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"kubernetes.io/hostname": name, "type": "kwok", **(labels or {})}},
            "spec": {"taints": [{"key": TAINT, "value": namespace, "effect": "NoSchedule"}]},
            "status": {"capacity": resources, "allocatable": resources},
        }
        made.append(name)
        cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-",
                            input=json.dumps(node))
        cluster.run_kubectl("wait", "--for=condition=Ready", "--timeout=60s", f"node/{name}")
        return name

    yield make
    for name in made:
        # Pods first, while kwok still runs their node: a pod left on a
        # deleted node would wait for the pod garbage collector.
        cluster.run_kubectl("delete", "pods", "-A", f"--field-selector=spec.nodeName={name}", "--timeout=60s",
                            check=False)
        cluster.run_kubectl("delete", "node", name, "--wait=false", check=False)


def plain_pod(cluster, ns, name, node, gpus, labels=None):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
           "spec": {"nodeName": node, "containers": [
               {"name": "main", "image": "busybox:1.36",
                "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]}}
    cluster.run_kubectl("apply", "-f", "-", input=json.dumps(pod))


def pod_phase(cluster, ns, name):
    proc = cluster.run_kubectl("-n", ns, "get", "pod", name, "-o", "jsonpath={.status.phase}", check=False)
    return proc.stdout if proc.returncode == 0 else None


def job_phase(cluster, ns, name):
    job = kubectl_json(cluster, "-n", ns, "get", "tfjob", name)
    true = {c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c["status"] == "True"}
    return next((p for p in ("Succeeded", "Failed", "Running") if p in true), "Pending")


# --- top ------------------------------------------------------------------------


def test_top_node_and_top_job_count_exactly(cluster, kube, namespace, fake_nodes, tmp_path, run_cli):
    big = fake_nodes("a", 8)
    small = fake_nodes("b", 4)
    # One of the small node's GPUs fails: the device plugin stops offering it.
    cluster.run_kubectl("patch", "node", small, "--subresource=status", "--type=merge",
                        "-p", json.dumps({"status": {"allocatable": {"nvidia.com/gpu": "3"}}}))
    # A TFJob of two 2-GPU workers, scheduled onto the big node by the scheduler.
    path = experiment(tmp_path, namespace, "exp", gpus=2, workers=2, node_selector={"kubernetes.io/hostname": big},
                      tolerations=TOLERATE)
    assert run_cli("apply", "-y", path)[0] == 0
    # A running 1-GPU pod on the small node; a 3-GPU pod on the big one that finishes.
    plain_pod(cluster, namespace, "running", small, 1)
    plain_pod(cluster, namespace, "done", big, 3)
    until(lambda: pod_phase(cluster, namespace, "done") == "Running", what="pod done running")
    cluster.run_kubectl("-n", namespace, "annotate", "pod", "done", f"{EXIT}=0")
    until(lambda: pod_phase(cluster, namespace, "done") == "Succeeded", what="pod done to succeed")
    until(lambda: all(pod_phase(cluster, namespace, p) == "Running"
                      for p in ("exp-worker-0", "exp-worker-1", "running")), what="pods running")

    kube.requests.clear()
    report = read_nodes(kube)
    assert kube.requests == {"GET": 2}  # one LIST of nodes, one of pods
    rows = {n.name: n for n in report.nodes}
    assert (rows[big].gpus_total, rows[big].gpus_allocated, rows[big].gpus_unhealthy) == (8, 4, 0)
    assert (rows[small].gpus_total, rows[small].gpus_allocated, rows[small].gpus_unhealthy) == (4, 1, 1)
    assert rows[big].status == "Ready" and rows[big].address == "127.0.0.1" and rows[big].role == "<none>"

    code, out, _ = run_cli("top", "node", "-o", "json")
    assert code == 0
    data = json.loads(out)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes[small] == {"name": small, "address": "127.0.0.1", "role": "<none>", "status": "Ready",
                            "gpus_total": 4, "gpus_allocated": 1, "gpus_unhealthy": 1}
    # The cluster total is the sum over every node the same call listed, the shared ones
    # included.  (Not recounted here: other tests' namespaces may still be terminating,
    # so a second look at the cluster can see other pods.)
    listed = data["nodes"]
    assert {n["name"] for n in listed} >= {big, small}
    for field in ("gpus_total", "gpus_allocated", "gpus_unhealthy"):
        assert data["total"][field] == sum(n[field] for n in listed), field
    assert data["total"]["gpus_unhealthy"] >= 1

    code, out, _ = run_cli("top", "node")
    assert code == 0
    line = next(l for l in out.splitlines() if l.startswith(small))
    assert line.split() == [small, "127.0.0.1", "<none>", "Ready", "4", "1", "1"]
    assert "Allocated/Total GPUs in cluster:" in out

    code, out, _ = run_cli("top", "job", "-n", namespace, "-o", "json")
    assert code == 0
    (job,) = json.loads(out)
    assert {k: job[k] for k in ("experiment", "name", "kind", "phase", "gpus_requested", "gpus_allocated",
                                "nodes")} == {"experiment": "exp", "name": "exp", "kind": "TFJob", "phase": "Running",
                                              "gpus_requested": 4, "gpus_allocated": 4, "nodes": [big]}
    code, out, _ = run_cli("top", "job", "-n", namespace)
    assert code == 0 and out.splitlines()[1].split()[:6] == ["exp", "exp", "Running", "4", "4", big]


# --- prune ----------------------------------------------------------------------


def test_prune_deletes_only_the_finished_experiment(cluster, kube, namespace, tmp_path, run_cli):
    running = experiment(tmp_path, namespace, "running")
    # Asks for more GPUs than any node has: its pod stays Pending.
    pending = experiment(tmp_path, namespace, "pending", gpus=64)
    finished = experiment(tmp_path, namespace, "finished", data=[DATA], tensorboard=True)
    for path in (running, pending, finished):
        assert run_cli("apply", "-y", path)[0] == 0
    until(lambda: pod_phase(cluster, namespace, "running-worker-0") == "Running", what="running")
    until(lambda: pod_phase(cluster, namespace, "finished-worker-0") == "Running", what="finished running")
    until(lambda: pod_phase(cluster, namespace, "pending-worker-0") == "Pending", what="pending pod")
    # The TensorBoard of the finished experiment would keep it; scale it away as a user would.
    cluster.run_kubectl("-n", namespace, "annotate", "pod", "finished-worker-0", f"{EXIT}=0")
    until(lambda: job_phase(cluster, namespace, "finished") == "Succeeded", what="job to succeed")

    # Finished only seconds ago: not older than an hour.
    code, out, _ = run_cli("prune", "-n", namespace, "--since", "1h", "-y")
    assert code == 0 and "Nothing to prune" in out
    # TensorBoard still serves the finished experiment: it is not pruned while that pod runs.
    until(lambda: any(p["status"].get("phase") == "Running" for p in kubectl_json(
        cluster, "-n", namespace, "get", "pods", "-l", "arena-run.io/component=tensorboard")["items"]),
        what="tensorboard running")
    # Any age qualifies with --since 0s: only the running TensorBoard keeps it.
    code, out, _ = run_cli("prune", "-n", namespace, "--since", "0s", "-y")
    assert code == 0 and "Nothing to prune" in out

    cluster.run_kubectl("-n", namespace, "scale", "deployment", "finished-tensorboard", "--replicas=0")
    until(lambda: not kubectl_json(cluster, "-n", namespace, "get", "pods",
                                   "-l", "arena-run.io/component=tensorboard")["items"], what="tensorboard gone")
    # Without --yes and without a terminal: asks nobody, deletes nothing.
    code, out, err = run_cli("prune", "-n", namespace, "--since", "0s")
    assert code == 1 and "--yes" in err
    assert "Experiment finished in" in out and "- TFJob finished" in out and "running" not in out.replace(
        "finished", "")
    code, out, _ = run_cli("prune", "-n", namespace, "--since", "0s", "-y")
    assert code == 0 and "Deleted 1 experiment(s)." in out
    left = {o["metadata"]["name"] for o in kubectl_json(cluster, "-n", namespace, "get", "configmaps,tfjobs",
                                                         "-l", "app.kubernetes.io/managed-by=arena-run")["items"]}
    assert left == {"arena-run-running", "arena-run-pending", "running", "pending"}


# --- data -----------------------------------------------------------------------


def test_data_list_shows_which_experiment_mounts_which_claim(cluster, kube, namespace, tmp_path, run_cli):
    for name, size, mode in (("shared", "10Gi", "ReadWriteMany"), ("own", "1Gi", "ReadWriteOnce"),
                             ("unused", "5Gi", "ReadOnlyMany")):
        cluster.run_kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}}}))
    shared = {"pvc": "shared", "mount": "/data"}
    one = experiment(tmp_path, namespace, "one", data=[shared, {"pvc": "own", "mount": "/out"}])
    two = experiment(tmp_path, namespace, "two", data=[shared], tensorboard=True)
    for path in (one, two):
        assert run_cli("apply", "-y", path)[0] == 0

    code, out, _ = run_cli("data", "list", "-n", namespace, "-o", "json")
    assert code == 0
    claims = {c["name"]: c for c in json.loads(out)}
    assert claims["shared"]["experiments"] == ["one", "two"]
    assert claims["own"]["experiments"] == ["one"]
    assert claims["unused"]["experiments"] == []
    assert claims["shared"]["capacity"] == "10Gi" and claims["shared"]["access_modes"] == ["RWX"]
    assert claims["unused"]["access_modes"] == ["ROX"]
    assert claims["own"]["status"] == "Pending"  # no provisioner here: unbound
    code, out, _ = run_cli("data", "list", "-n", namespace)
    rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
    assert rows["shared"] == ["shared", "10Gi", "RWX", "Pending", "-", "one,", "two"]
    assert rows["unused"][-1] == "-"


# --- logs -----------------------------------------------------------------------


def test_logs_of_chief_worker_and_options_through_the_api_server(cluster, kube, namespace,
                                                                   tmp_path, run_cli):
    path = experiment(tmp_path, namespace, "exp", workers=2, chief=True)
    assert run_cli("apply", "-y", path)[0] == 0
    until(lambda: all(pod_phase(cluster, namespace, p) == "Running"
                      for p in ("exp-chief-0", "exp-worker-0", "exp-worker-1")), what="pods running")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    serve_logs(cluster, namespace, "exp-chief-0", tmp_path / "chief.log",
               cri(["chief: an hour ago"], old) + cri(["chief: step 1", "chief: step 2"]))
    serve_logs(cluster, namespace, "exp-worker-1", tmp_path / "worker1.log", cri(["worker 1: step 1"]))

    def logs(*args):
        return until(lambda: (lambda r: r if r[0] == 0 else None)(run_cli("logs", "-n", namespace, *args)),
                     timeout=30, what=f"logs {args}")

    code, out, _ = logs("exp")
    assert out == "chief: an hour ago\nchief: step 1\nchief: step 2\n"
    assert logs("exp", "--tail", "1")[1] == "chief: step 2\n"
    assert logs("exp", "--since", "10m")[1] == "chief: step 1\nchief: step 2\n"
    stamped = logs("exp", "--tail", "1", "--timestamps")[1]
    assert stamped.endswith("Z chief: step 2\n") and stamped[:4].isdigit()
    assert logs("exp", "--role", "worker", "--index", "1")[1] == "worker 1: step 1\n"
    assert logs(path)[1].startswith("chief: an hour ago")  # by its file, as delete takes it

    code, _, err = run_cli("logs", "-n", namespace, "exp", "--role", "ps")
    assert code == 1 and "has no ps replicas (it has: chief, worker)" in err
    code, _, err = run_cli("logs", "-n", namespace, "exp", "--role", "worker", "--index", "2")
    assert code == 1 and "--index 0..1" in err
    code, _, err = run_cli("logs", "-n", namespace, "nope")
    assert code == 1 and "has no job" in err


def test_logs_wait_for_a_pod_to_start_then_follow(cluster, kube, namespace, fake_nodes, tmp_path,
                                                  run_cli):
    # Only a node that does not exist yet fits: the worker waits, unscheduled.
    label = f"arena-run.test/ops-{namespace}"
    path = experiment(tmp_path, namespace, "exp", node_selector={label: "yes"}, tolerations=TOLERATE)
    assert run_cli("apply", "-y", path)[0] == 0
    until(lambda: pod_phase(cluster, namespace, "exp-worker-0") == "Pending", what="worker pending")
    code, _, err = run_cli("logs", "-n", namespace, "exp")
    assert code == 1 and "exp-worker-0 has not started yet (Unschedulable" in err and "-f waits" in err

    log = tmp_path / "worker.log"
    serve_logs(cluster, namespace, "exp-worker-0", log, cri(["started"]))
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))
    proc = subprocess.Popen([sys.executable, "-m", "arena_run", "logs", "-f", "-n", namespace, "exp"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    got: list = []
    said: list = []
    reader = threading.Thread(target=lambda: [got.append(l) for l in proc.stdout], daemon=True)
    reader.start()
    threading.Thread(target=lambda: [said.append(l) for l in proc.stderr], daemon=True).start()
    try:
        # The event, not a guess at how long start-up takes: it says it waits.
        until(lambda: any("has not started yet" in l for l in said), timeout=60, what="the waiting message")
        assert proc.poll() is None and not got  # waiting, nothing streamed yet
        fake_nodes("gpu", 1, labels={label: "yes"})  # now it schedules, and kwok starts it
        until(lambda: got == ["started\n"], timeout=60, what="first line")
        with log.open("a") as fh:
            fh.write(cri(["appended while following"]))
        until(lambda: got == ["started\n", "appended while following\n"], timeout=30, what="followed line")
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(10)


def test_logs_of_tensorboard(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace, "exp", data=[DATA], tensorboard=True)
    assert run_cli("apply", "-y", path)[0] == 0
    pod = until(lambda: next((p["metadata"]["name"] for p in kubectl_json(
        cluster, "-n", namespace, "get", "pods", "-l", "arena-run.io/component=tensorboard")["items"]
        if p["status"].get("phase") == "Running"), None), what="tensorboard running")
    serve_logs(cluster, namespace, pod, tmp_path / "tb.log", cri(["TensorBoard 2 at http://0.0.0.0:6006/"]))
    code, out, _ = until(lambda: (lambda r: r if r[0] == 0 else None)(
        run_cli("logs", "-n", namespace, "exp", "--component", "tensorboard")), timeout=30, what="tb logs")
    assert out == "TensorBoard 2 at http://0.0.0.0:6006/\n"


def test_logs_of_a_sweep_point_by_suffix_or_job_name(cluster, kube, namespace, tmp_path, run_cli):
    path = experiment(tmp_path, namespace, "sw", sweep={"lr": [0.1, 0.01]})
    assert run_cli("apply", "-y", path)[0] == 0
    jobs = sorted(j["metadata"]["name"] for j in kubectl_json(cluster, "-n", namespace, "get", "tfjobs")["items"])
    assert len(jobs) == 2
    for job in jobs:
        until(lambda: pod_phase(cluster, namespace, f"{job}-worker-0") == "Running", what=f"{job} running")
        serve_logs(cluster, namespace, f"{job}-worker-0", tmp_path / f"{job}.log", cri([f"I am {job}"]))
    code, _, err = run_cli("logs", "-n", namespace, "sw")
    assert code == 1 and f"sw is a sweep of 2 jobs: choose one with --point ({', '.join(jobs)})" in err

    def logs(*args):
        return until(lambda: (lambda r: r if r[0] == 0 else None)(run_cli("logs", "-n", namespace, *args)),
                     timeout=30, what=f"logs {args}")[1]

    assert logs("sw", "--point", jobs[0].rsplit("-", 1)[1]) == f"I am {jobs[0]}\n"
    assert logs(jobs[1]) == f"I am {jobs[1]}\n"  # the job name `apply --wait` reports for a failed one
