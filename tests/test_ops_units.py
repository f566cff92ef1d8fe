"""The pure parts of logs, top, prune and data list: no cluster."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from arena_run.cli import main
from arena_run.objects.gpus import pod_gpus
from arena_run.objects.times import age
from arena_run.status.data import claim_usage
from arena_run.status.duration import DurationError, parse_duration
from arena_run.status.logs import LogsError, resolve
from arena_run.status.prune import prunable
from arena_run.status.top import top_jobs, top_nodes

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
EXP = "arena-run.io/experiment"
COMP = "arena-run.io/component"


def ts(delta: dt.timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name, capacity, allocatable=None, ready="True", labels=None, unschedulable=False):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"capacity": {"nvidia.com/gpu": str(capacity)},
                       "allocatable": {"nvidia.com/gpu": str(capacity if allocatable is None else allocatable)},
                       "addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": "10.0.0.9"}],
                       "conditions": [{"type": "Ready", "status": ready}]}}


def pod(name, node_name=None, gpus=0, phase="Running", ns="ns", labels=None, init_gpus=None, containers=None,
        created="2026-11-28T11:00:00Z", statuses=None, conditions=None):
    spec = {"containers": containers or [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]}
    if init_gpus is not None:
        spec["initContainers"] = [{"name": "init", "resources": {"limits": {"nvidia.com/gpu": str(init_gpus)}}}]
    if node_name:
        spec["nodeName"] = node_name
    status = {"phase": phase}
    if statuses:
        status["containerStatuses"] = statuses
    if conditions:
        status["conditions"] = conditions
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}, "creationTimestamp": created},
            "spec": spec, "status": status}


# --- durations -----------------------------------------------------------------


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("10m", 600), ("1h30m", 5400), ("7d", 604800), ("2w", 1209600),
                                          (" 2H ", 7200)])
def test_parse_duration(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "1.5h", "7x"])
def test_parse_duration_refuses(text):
    with pytest.raises(DurationError, match="is not a duration"):
        parse_duration(text)


def test_age():
    assert age(NOW - dt.timedelta(days=3, hours=4, minutes=5), NOW) == "3d4h"
    assert age(NOW - dt.timedelta(minutes=12, seconds=5), NOW) == "12m5s"
    assert age(NOW - dt.timedelta(seconds=40), NOW) == "40s" and age(None, NOW) == "-"


# --- top node -------------------------------------------------------------------


def test_pod_gpus_takes_the_larger_of_containers_and_init():
    assert pod_gpus(pod("p", gpus=2, init_gpus=1)["spec"]) == 2
    assert pod_gpus(pod("p", gpus=0, init_gpus=4)["spec"]) == 4
    assert pod_gpus({"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"nvidia.com/gpu": 3}}}]}) == 3


def test_top_nodes_counts_bound_unfinished_pods_and_unhealthy():
    nodes = [node("b", 4, 3), node("a", 8, labels={"node-role.kubernetes.io/gpu": ""}, unschedulable=True),
             node("c", 0, ready="False")]
    pods = [pod("run", "a", 2), pod("pending-bound", "a", 1, phase="Pending"), pod("done", "a", 3, "Succeeded"),
            pod("failed", "a", 3, "Failed"), pod("unbound", None, 5, "Pending"), pod("small", "b", 1),
            pod("gone-node", "x", 7)]
    report = top_nodes(nodes, pods)
    rows = [(n.name, n.role, n.status, n.address, n.gpus_total, n.gpus_allocated, n.gpus_unhealthy) for n in report.nodes]
    assert rows == [("a", "gpu", "Ready,SchedulingDisabled", "10.0.0.9", 8, 3, 0),
                    ("b", "<none>", "Ready", "10.0.0.9", 4, 1, 1),
                    ("c", "<none>", "NotReady", "10.0.0.9", 0, 0, 0)]
    assert report.summary == "4/12 (33.3%)" and report.unhealthy == 1
    assert report.to_dict()["total"] == {"gpus_total": 12, "gpus_allocated": 4, "gpus_unhealthy": 1, "percent": 33.3}
    assert top_nodes([], []).summary == "0/0 (0%)"


# --- top job --------------------------------------------------------------------


def tfjob(name, ns="ns", exp="exp", conditions=(), specs=None, created="2026-11-28T10:00:00Z", status=None):
    specs = specs or {"Worker": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "tensorflow", "resources": {"limits": {"nvidia.com/gpu": "2"}}}]}}}}
    st = dict(status or {})
    st["conditions"] = [{"type": t, "status": "True", **({"lastTransitionTime": at} if at else {})}
                        for t, at in conditions]
    return {"kind": "TFJob", "metadata": {"name": name, "namespace": ns, "labels": {EXP: exp}, "creationTimestamp": created},
            "spec": {"tfReplicaSpecs": specs}, "status": st}


def job_pod(job, role, index, node_name=None, phase="Running", gpus=2, ns="ns", exp="exp", **kw):
    labels = {"training.kubeflow.org/job-name": job, "training.kubeflow.org/replica-type": role.lower(),
              "training.kubeflow.org/replica-index": str(index), EXP: exp, COMP: "job"}
    return pod(f"{job}-{role.lower()}-{index}", node_name, gpus, phase, ns, labels,
               containers=[{"name": "tensorflow", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}},
                           {"name": "git-sync"}], **kw)


def test_top_jobs_requested_allocated_nodes_and_arenas_pending_rule():
    jobs = [tfjob("a", conditions=[("Running", None)]), tfjob("b", conditions=[("Running", None)]),
            tfjob("c", conditions=[("Succeeded", None)], ns="other")]
    pods = [job_pod("a", "Worker", 0, "n1"), job_pod("a", "Worker", 1, "n2"),
            job_pod("b", "Worker", 0, "n1"), job_pod("b", "Worker", 1, None, "Pending"),
            job_pod("c", "Worker", 0, "n1", "Succeeded", ns="other"), job_pod("a", "Worker", 0, "n9", ns="other")]
    out = {j.name: j for j in top_jobs(jobs, pods, NOW)}
    assert (out["a"].phase, out["a"].gpus_requested, out["a"].gpus_allocated, out["a"].nodes) == ("Running", 4, 4, ["n1", "n2"])
    assert (out["b"].phase, out["b"].gpus_allocated, out["b"].nodes) == ("Pending", 2, ["n1"])
    assert (out["c"].phase, out["c"].gpus_allocated, out["c"].age) == ("Succeeded", 0, "2h")


# --- prune ----------------------------------------------------------------------


def parent(name, ns="ns"):
    return {"metadata": {"name": f"arena-run-{name}", "namespace": ns, "labels": {EXP: name}}}


def test_prunable_only_long_finished_with_nothing_active():
    old, recent = ts(dt.timedelta(days=9)), ts(dt.timedelta(days=2))
    parents = [parent(n) for n in ("old", "oldfail", "recent", "running", "mixed", "active-tb", "nojobs", "notime")]
    parents.append({"metadata": {"name": "unrelated", "namespace": "ns", "labels": {EXP: "old"}}})
    jobs = [tfjob("old", exp="old", conditions=[("Succeeded", None)], status={"completionTime": old}),
            tfjob("oldfail", exp="oldfail", conditions=[("Failed", old)]),
            tfjob("recent", exp="recent", conditions=[("Succeeded", None)], status={"completionTime": recent}),
            tfjob("running", exp="running", conditions=[("Running", None)]),
            tfjob("mixed-1", exp="mixed", conditions=[("Succeeded", None)], status={"completionTime": old}),
            tfjob("mixed-2", exp="mixed"),  # still pending
            tfjob("active-tb", exp="active-tb", conditions=[("Succeeded", None)], status={"completionTime": old}),
            tfjob("notime", exp="notime", conditions=[("Succeeded", None)])]
    pods = [pod("tb", "n", phase="Running", labels={EXP: "active-tb", COMP: "tensorboard"}),
            pod("done", "n", phase="Succeeded", labels={EXP: "old"})]
    got = prunable(parents, jobs, pods, NOW, dt.timedelta(days=7))
    assert [(c.name, c.ago) for c in got] == [("old", "9d"), ("oldfail", "9d")]
    assert got[1].jobs == [("oldfail", "Failed")]
    assert [c.name for c in prunable(parents, jobs, pods, NOW, dt.timedelta(days=1))] == ["old", "oldfail", "recent"]


# --- data -----------------------------------------------------------------------


def test_claim_usage_from_templates_kserve_and_records():
    pvcs = [{"metadata": {"name": n, "namespace": "ns"},
             "spec": {"accessModes": ["ReadWriteMany", "ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}},
                      "storageClassName": "fast", "volumeName": "pv-1"},
             "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}}} for n in ("a", "b", "c", "d")]
    pvcs.append({"metadata": {"name": "e", "namespace": "ns"}, "spec": {"accessModes": ["ReadWriteOnce"]}})
    vol = lambda claim: {"name": "v", "persistentVolumeClaim": {"claimName": claim}}  # noqa: E731
    job = tfjob("j", exp="one", specs={"Worker": {"template": {"spec": {"volumes": [vol("a")]}}}})
    deploy = {"kind": "Deployment", "metadata": {"name": "two-tensorboard", "namespace": "ns", "labels": {EXP: "two"}},
              "spec": {"template": {"spec": {"volumes": [vol("a"), vol("b")]}}}}
    isvc = {"kind": "InferenceService", "metadata": {"name": "three", "namespace": "ns", "labels": {EXP: "three"}},
            "spec": {"predictor": {"model": {"storageUri": "pvc://c/models/1"}}}}
    elsewhere = dict(deploy, metadata={"name": "x", "namespace": "other", "labels": {EXP: "four"}})
    record = {"metadata": {"name": "arena-run-five", "namespace": "ns", "labels": {EXP: "five"}},
              "data": {"experiment.json": json.dumps({"data": [{"pvc": "d", "mount": "/d"}, {"host_path": "/x"}]})}}
    broken = {"metadata": {"name": "arena-run-six", "namespace": "ns", "labels": {EXP: "six"}},
              "data": {"experiment.json": "{not json"}}
    claims = {c.name: c for c in claim_usage(pvcs, [record, broken], [job, deploy, isvc, elsewhere])}
    assert {n: c.experiments for n, c in claims.items()} == {"a": ["one", "two"], "b": ["two"], "c": ["three"],
                                                              "d": ["five"], "e": []}
    assert (claims["a"].capacity, claims["a"].access_modes, claims["a"].status) == ("2Gi", ["RWX", "ROX"], "Bound")
    assert (claims["e"].capacity, claims["e"].access_modes, claims["e"].status, claims["e"].storage_class) == \
        ("-", ["RWO"], "Pending", "-")


# --- logs -----------------------------------------------------------------------


def test_logs_default_is_chief_then_master_then_worker_zero():
    specs = {r: {"replicas": n} for r, n in (("Chief", 1), ("Worker", 2), ("PS", 1))}
    jobs = [tfjob("exp", specs=specs)]
    pods = [job_pod("exp", "Chief", 0, "n"), job_pod("exp", "Worker", 0, "n"), job_pod("exp", "Worker", 1, "n")]
    t = resolve("exp", "ns", jobs, pods)
    assert (t.pod, t.container, t.started, t.what) == ("exp-chief-0", "tensorflow", True, "TFJob exp, chief 0")
    assert resolve("exp", "ns", jobs, pods, role="Worker", index=1).pod == "exp-worker-1"
    no_chief = [tfjob("exp", specs={"Worker": {"replicas": 2}})]
    assert resolve("exp", "ns", no_chief, pods).pod == "exp-worker-0"
    pytorch = [dict(tfjob("exp"), kind="PyTorchJob",
                    spec={"pytorchReplicaSpecs": {"Master": {"replicas": 1}, "Worker": {"replicas": 2}}})]
    assert resolve("exp", "ns", pytorch, [job_pod("exp", "Master", 0, "n")]).pod == "exp-master-0"


def test_logs_choices_that_do_not_exist_are_one_line():
    jobs = [tfjob("exp", specs={"Worker": {"replicas": 2}})]
    with pytest.raises(LogsError, match=r"has no ps replicas \(it has: worker\)"):
        resolve("exp", "ns", jobs, [], role="ps")
    with pytest.raises(LogsError, match=r"has 2 worker replica\(s\): --index 0..1"):
        resolve("exp", "ns", jobs, [], index=2)
    with pytest.raises(LogsError, match="has no job"):
        resolve("other", "ns", jobs, [])
    with pytest.raises(LogsError, match="not with --component tensorboard"):
        resolve("exp", "ns", jobs, [], component="tensorboard", role="worker")
    with pytest.raises(LogsError, match="has no serving pod"):
        resolve("exp", "ns", jobs, [], component="serving")


def test_logs_sweep_needs_a_point_by_name_or_suffix():
    jobs = [dict(tfjob("exp-1a2b3c4d"), metadata={**tfjob("x")["metadata"], "name": "exp-1a2b3c4d",
                                                   "labels": {EXP: "exp", "arena-run.io/sweep-point": "1a2b3c4d"}}),
            tfjob("exp-99999999")]
    with pytest.raises(LogsError, match=r"a sweep of 2 jobs: choose one with --point \(exp-1a2b3c4d, exp-99999999\)"):
        resolve("exp", "ns", jobs, [])
    pods = [job_pod("exp-1a2b3c4d", "Worker", 0, "n"), job_pod("exp-99999999", "Worker", 0, "n")]
    assert resolve("exp", "ns", jobs, pods, point="1a2b3c4d").pod == "exp-1a2b3c4d-worker-0"
    assert resolve("exp", "ns", jobs, pods, point="exp-99999999").pod == "exp-99999999-worker-0"
    with pytest.raises(LogsError, match="no sweep point 'zz'"):
        resolve("exp", "ns", jobs, pods, point="zz")


def test_logs_of_a_pod_not_started_say_why():
    jobs = [tfjob("exp")]
    t = resolve("exp", "ns", jobs, [])
    assert (t.pod, t.started, t.reason) == (None, False, "its pod is not created yet")
    unscheduled = job_pod("exp", "Worker", 0, None, "Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are available"}])
    t = resolve("exp", "ns", jobs, [unscheduled])
    assert not t.started and t.reason == "pod exp-worker-0 has not started yet (Unschedulable: 0/2 nodes are available)"
    pulling = job_pod("exp", "Worker", 0, "n", "Pending", statuses=[
        {"name": "tensorflow", "state": {"waiting": {"reason": "ContainerCreating"}}}])
    assert resolve("exp", "ns", jobs, [pulling]).reason.endswith("(ContainerCreating)")
    gone = tfjob("exp", conditions=[("Succeeded", None)])
    assert "its pod is gone" in resolve("exp", "ns", [gone], []).reason


def test_logs_of_tensorboard_prefer_the_newest_running_pod():
    pods = [pod("tb-old", "n", phase="Running", labels={EXP: "exp", COMP: "tensorboard"}, created="2026-11-28T09:00:00Z",
                containers=[{"name": "sidecar"}, {"name": "tensorboard"}]),
            pod("tb-new", "n", phase="Pending", labels={EXP: "exp", COMP: "tensorboard"}, created="2026-11-28T11:00:00Z"),
            pod("srv", "n", labels={EXP: "exp", COMP: "serving"})]
    t = resolve("exp", "ns", [], pods, component="tensorboard")
    assert (t.pod, t.container, t.what) == ("tb-old", "tensorboard", "tensorboard of exp")
    pods[1]["status"]["phase"] = "Running"
    assert resolve("exp", "ns", [], pods, component="tensorboard").pod == "tb-new"
    pods[1]["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "main"}
    assert resolve("exp", "ns", [], pods, component="tensorboard").container == "main"


# --- CLI, without a cluster ----------------------------------------------------


def test_bad_durations_are_one_line_before_any_cluster(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert main(["prune", "--since", "7 days"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["arena-run: error: '7 days' is not a duration: use a number and a unit, "
                                        "e.g. 30s, 10m, 2h, 7d, 1h30m"]
    assert main(["logs", "exp", "--since", "soon"]) == 1
    assert "'soon' is not a duration" in capsys.readouterr().err


def test_commands_are_registered(capsys):
    assert main(["top", "--help"]) == 0
    out = capsys.readouterr().out
    assert "node" in out and "job" in out
    assert main(["data", "list", "--help"]) == 0 and "-A, --all-namespaces" in capsys.readouterr().out
