"""The plan layer, pure: diffs, removals, owners, and plans from synthetic live state."""

import copy
import json

import pytest

from arena_run.cluster.applyset import GROUP_KINDS, JOBS, applyset_id
from arena_run.cluster.live import Live, key_of
from arena_run.plan import make_plan, members
from arena_run.plan.diff import MISSING, Item, diff, format_path, quantity, removed
from arena_run.plan.owners import owners
from arena_run.plan.phase import job_phase, ready
from arena_run.spec.load import load_text

EXP = """
name = "exp"
[[data]]
host_path = "/tmp"
mount = "/data"
[job]
image = "busybox"
command = "sleep 1"
cpu = "0.5"
memory = "1Gi"
ttl_after_finished = 60
[tensorboard]
logdir = "/data/logs"
"""


def exp(text=EXP):
    return load_text(text)


def served(obj):
    """What the API server hands back: defaults, status, metadata it owns."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    meta.update(uid="u-" + meta["name"], resourceVersion="7", generation=1, creationTimestamp="2026-01-01T00:00:00Z")
    meta["managedFields"] = [{"manager": "arena-run", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]
    if out["kind"] == "Deployment":
        out["spec"].update(strategy={"type": "RollingUpdate"}, revisionHistoryLimit=10)
        c = out["spec"]["template"]["spec"]["containers"][0]
        c.update(terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent")
        c["ports"][0]["protocol"] = "TCP"
        out["status"] = {"availableReplicas": 1}
    if out["kind"] == "TFJob":
        limits = out["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["resources"]
        limits["requests"]["cpu"] = limits["limits"]["cpu"] = "500m"  # the server normalises quantities
        out["status"] = {"conditions": [{"type": "Running", "status": "True"}]}
    return out


def applied(e, ns="ns"):
    """The live state right after a successful apply of e."""
    objs = members(e, ns)
    plan = make_plan(e, ns, Live(None, {}, {}))
    parent = served(plan.parent_last)
    return Live(parent, {key_of(o): served(o) for o in objs}, {})


def test_diff_looks_only_at_what_is_desired():
    assert diff({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 2], "d": 3}, "e": 4}) == []
    (change,) = diff({"a": {"b": 2}}, {"a": {"b": 3}})
    assert (change.path, change.old, change.new) == (("a", "b"), 3, 2)
    (change,) = diff({"a": 1}, {})
    assert change.old is MISSING


def test_lists_match_by_merge_key_not_position():
    desired = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    assert diff(desired, {"env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}) == []
    (change,) = diff(desired, {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]})
    assert format_path(change.path) == "env[name=B].value"
    (change,) = diff({"command": ["sh", "-c", "x"]}, {"command": ["sh", "-c", "y"]})
    assert format_path(change.path) == "command"


@pytest.mark.parametrize("a,b", [("0.5", "500m"), ("1Gi", "1073741824"), ("1", 1), ("2k", "2000"), ("1e3", "1k")])
def test_quantities_compare_by_value(a, b):
    assert quantity(a) == quantity(b)
    assert diff({"cpu": a}, {"cpu": b}) == []


def test_booleans_are_not_quantities():
    assert diff({"x": True}, {"x": 1}) and diff({"x": "1"}, {"x": True})


def test_removed_fields():
    old = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "cpu": "1"}
    new = {"env": [{"name": "A", "value": "1"}]}
    got = {format_path(c.path) for c in removed(old, new)}
    assert got == {"env[name=B]", "cpu"}


def test_owners_follow_managed_fields():
    live = {
        "metadata": {"managedFields": [
            {"manager": "arena-run", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
            {"manager": "kubectl-scale", "operation": "Update", "subresource": "scale",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "editor", "operation": "Update", "fieldsV1": {"f:spec": {"f:containers": {
                'k:{"name":"main"}': {"f:image": {}}}}}},
        ]},
        "spec": {"replicas": 3, "containers": [{"name": "side"}, {"name": "main", "image": "x"}]},
    }
    assert owners(live, ("spec", "replicas")) == ["kubectl-scale"]
    assert owners(live, ("spec", "containers", Item(1, ("name", "main")), "image")) == ["editor"]
    assert owners(live, ("spec", "containers", Item(0, ("name", "side")), "image")) == []


def test_fresh_experiment_is_all_creates_and_parent_first():
    plan = make_plan(exp(), "ns", Live(None, {}, {}))
    assert plan.counts() == {"create": 3}
    assert plan.parent_first is not None and plan.parent_last is not None
    assert plan.parent_first["metadata"]["annotations"][JOBS] == "{}"  # recorded only once applied
    assert json.loads(plan.parent_last["metadata"]["annotations"][JOBS]).keys() == {"exp"}
    assert plan.parent_last["metadata"]["annotations"][GROUP_KINDS] == "Deployment.apps,Service,TFJob.kubeflow.org"
    set_id = applyset_id("arena-run-exp", "ns")
    assert all(a.desired["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == set_id for a in plan.actions)


def test_right_after_apply_there_are_no_changes():
    e = exp()
    plan = make_plan(e, "ns", applied(e))
    assert not plan.has_changes, [a.to_dict() for a in plan.changes]
    assert plan.parent_first is None and plan.parent_last is None


def test_a_changed_command_replaces_the_job_and_names_the_key():
    e = exp()
    live = applied(e)
    plan = make_plan(exp(EXP.replace("sleep 1", "sleep 2")), "ns", live)
    (action,) = plan.changes
    assert (action.op, action.name, action.reason) == ("replace", "exp", "forces replacement: job.command")


def test_removed_sections_are_pruned_and_kinds_shrink_last():
    e = exp()
    live = applied(e)
    plan = make_plan(exp(EXP.replace('[tensorboard]\nlogdir = "/data/logs"\n', "")), "ns", live)
    assert {(a.op, a.kind) for a in plan.changes} == {("delete", "Deployment"), ("delete", "Service")}
    assert plan.parent_first is None  # nothing new: the old set already covers it
    assert plan.parent_last["metadata"]["annotations"][GROUP_KINDS] == "TFJob.kubeflow.org"


def test_a_new_kind_grows_the_parent_first():
    e = exp(EXP.replace('[tensorboard]\nlogdir = "/data/logs"\n', ""))
    plan = make_plan(exp(), "ns", applied(e))
    assert plan.parent_first["metadata"]["annotations"][GROUP_KINDS] == "Deployment.apps,Service,TFJob.kubeflow.org"
    assert plan.parent_first["metadata"]["annotations"][JOBS] == applied(e).parent["metadata"]["annotations"][JOBS]


def test_a_foreign_object_is_a_problem_unless_adopted():
    e = exp()
    clash = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "exp-tensorboard", "namespace": "ns"}}
    live = Live(None, {}, {key_of(clash): clash})
    plan = make_plan(e, "ns", live)
    (problem,) = plan.problems
    assert "Service ns/exp-tensorboard exists but is not part of this experiment" in problem
    assert make_plan(e, "ns", live, adopt=True).problems == []


def test_finished_jobs_stay_and_ttl_removed_ones_are_kept_away():
    e = exp()
    live = applied(e)
    job_key = next(k for k in live.members if k[0].startswith("TFJob"))
    live.members[job_key]["status"] = {"conditions": [{"type": "Succeeded", "status": "True"}]}
    plan = make_plan(e, "ns", live)
    assert not plan.has_changes
    assert make_plan(e, "ns", live, rerun=True).counts()["replace"] == 1
    del live.members[job_key]  # its TTL removed it
    plan = make_plan(e, "ns", live)
    assert plan.counts()["keep"] == 1 and not plan.has_changes
    assert make_plan(e, "ns", live, rerun=True).counts()["create"] == 1
    # Changed since: it runs again.
    assert make_plan(exp(EXP.replace("sleep 1", "sleep 3")), "ns", live).counts()["create"] == 1


def test_a_parent_of_another_tool_is_refused():
    e = exp()
    live = applied(e)
    live.parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"] = "kubectl/v1.36.3"
    (problem,) = make_plan(e, "ns", live).problems
    assert "another tool (kubectl/v1.36.3)" in problem


@pytest.mark.parametrize("types,phase", [
    ([], "Pending"), (["Created"], "Pending"), (["Created", "Running"], "Running"),
    (["Running", "Failed"], "Failed"), (["Failed", "Succeeded"], "Succeeded"), (["Restarting"], "Restarting"),
])
def test_job_phase(types, phase):
    job = {"status": {"conditions": [{"type": t, "status": "True"} for t in types]}}
    assert job_phase(job) == phase


def test_readiness():
    deploy = {"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
              "status": {"observedGeneration": 2, "availableReplicas": 1}}
    assert ready(deploy) == (False, "1/2 available")
    deploy["status"]["availableReplicas"] = 2
    assert ready(deploy)[0]
    assert ready(None) == (False, "not found")
