"""Every change reaches the cluster, and nothing else does: plan/apply against the real control plane.

kubectl is the referee: after an apply, `kubectl diff --server-side
--field-manager=arena-run` of the rendered objects is empty.  The property
test edits any field of a file and checks the plan, the live object and the
referee each time; the examples before it pin the cases that were once wrong.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity

from arena_run import api
from arena_run.apply import apply_plan
from arena_run.cluster import Cluster
from arena_run.objects.keys import key_of
from arena_run.plan import desired_members
from arena_run.plan.diff import MISSING
from cluster_helpers import kubectl_json, until
from tests import experiments

BASE = experiments.experiment(
    "exp", labels={"team": "ml"}, cpu="0.5", memory="1Gi", env={"VERSION": "1.10", "MODE": "fast"},
    tensorboard={**experiments.TENSORBOARD, "cpu": "500m"}, serve=True)


def write(where, doc, ns) -> str:
    """doc in ns, as where/arena.yaml."""
    return experiments.write(where / "arena.yaml", {**doc, "namespace": ns})


def rendered(path: str) -> list[dict]:
    """The objects arena-run applies for the file: rendered, with their ApplySet label."""
    (loaded,) = api.load(path)
    return desired_members(loaded.experiment, loaded.experiment.namespace)


# kubectl diff compares the live object with its server-side dry run of the
# apply, status included; a controller updating status between the two reads
# (a rollout finishing, which also moves resourceVersion) is no difference in
# what was applied.  kubectl runs this instead of `diff -u -N` on its two
# directories (KUBECTL_EXTERNAL_DIFF); everything else it compares as is.
_DIFF_WITHOUT_STATUS = """#!{python}
import difflib, pathlib, sys, yaml
live, merged = map(pathlib.Path, sys.argv[-2:])
changed = False
for name in sorted({{p.name for p in live.iterdir()}} | {{p.name for p in merged.iterdir()}}):
    a, b = [yaml.safe_load((d / name).read_text()) if (d / name).exists() else None for d in (live, merged)]
    for o in (a, b):
        (o or {{}}).pop("status", None)
        ((o or {{}}).get("metadata") or {{}}).pop("resourceVersion", None)
    a, b = [yaml.safe_dump(o).splitlines() for o in (a, b)]
    for line in difflib.unified_diff(a, b, "LIVE/" + name, "MERGED/" + name, lineterm=""):
        print(line)
        changed = True
sys.exit(1 if changed else 0)
"""


def kubectl_diff(cluster, tmp_path, path: str) -> str:
    """The referee: what kubectl's own server-side dry run says applying the file as arena-run would change."""
    manifest = tmp_path / "rendered.json"  # JSON: no YAML resolver to disagree about "1e3"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": rendered(path)}))
    differ = tmp_path / "diff-without-status"
    differ.write_text(_DIFF_WITHOUT_STATUS.format(python=sys.executable))
    differ.chmod(0o755)
    proc = subprocess.run([str(cluster.kubectl), f"--kubeconfig={cluster.kubeconfig}", "diff", "--server-side",
                           "--field-manager=arena-run", "-f", str(manifest)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "KUBECTL_EXTERNAL_DIFF": str(differ)})
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout if proc.returncode else ""


def live_member(cluster, ns, obj) -> dict:
    kind = {"TFJob": "tfjobs.kubeflow.org", "Deployment": "deployments.apps", "Service": "services",
            "InferenceService": "inferenceservices.serving.kserve.io"}[obj["kind"]]
    return kubectl_json(cluster, "-n", ns, "get", kind, obj["metadata"]["name"])


def test_a_changed_value_reaches_the_cluster(cluster, kube, namespace, tmp_path, run_cli):
    path = write(tmp_path, BASE, namespace)
    api.apply(kube, path, replace_running=True)
    for old, new in (("1.10", "1.1"), ("1.1", "1e3"), ("1e3", "1000"), ("1000", "0.10"), ("0.10", "100m")):
        doc = copy.deepcopy(BASE)
        doc["job"]["env"]["VERSION"] = new
        doc["labels"]["team"] = new
        path = write(tmp_path, doc, namespace)
        (plan,) = api.plan(kube, path)
        ops = {(a.kind, a.name): a.op for a in plan.changes}
        assert ops == {("TFJob", "exp"): "replace", ("Deployment", "exp-tensorboard"): "update",
                       ("Service", "exp-tensorboard"): "update", ("Deployment", "exp-serving"): "update",
                       ("Service", "exp-serving"): "update"}, (old, new)
        (st_before,) = api.status(kube, path)
        assert st_before.sync == "changed (not applied)"
        api.apply(kube, [plan], replace_running=True)
        job = kubectl_json(cluster, "-n", namespace, "get", "tfjob", "exp")
        env = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "VERSION", "value": new} in env
        assert job["metadata"]["labels"]["team"] == new
        referee = kubectl_diff(cluster, tmp_path, path)
        assert referee == "", referee
        assert not api.plan(kube, path)[0].has_changes
        assert api.status(kube, path)[0].sync == "in sync"


SPELLED = """name = "spelled"
namespace = "{ns}"
[job]
image = "busybox:1.36"
command = "echo --lr={{{{lr}}}}; sleep 3600"
env = {{ LR = "{{{{lr}}}}" }}
[sweep]
lr = [1e-5, 0.10]
"""


def test_sweep_floats_reach_the_pods_as_written(cluster, kube, namespace, tmp_path, run_cli):
    """Issue 9 item 14: `1e-5` reaches the pods as `1e-5` (not `1e-05`), and the
    record keeps it: status from the file and from the record alone says in sync."""

    path = tmp_path / "arena.toml"
    path.write_text(SPELLED.format(ns=namespace))
    code, _, err = run_cli("apply", "-y", str(path))
    assert code == 0, err
    assert kubectl_diff(cluster, tmp_path, str(path)) == ""
    for target in ([str(path)], ["-n", namespace, "spelled"]):  # the file; the record in the parent
        code, out, err = run_cli("status", "-o", "json", *target)
        assert code == 0, err
        (st,) = json.loads(out)
        assert st["sync"] == "in sync", (target, st["sync_detail"])
        assert sorted(j["params"] for j in st["jobs"]) == ['{"lr":0.10}', '{"lr":1e-5}']
    code, out, _ = run_cli("status", "-n", namespace, "spelled")
    assert code == 0 and '{"lr":1e-5}' in out and "1e-05" not in out

    def pod_envs():
        pods = kubectl_json(cluster, "-n", namespace, "get", "pods", "-l", "arena-run.io/experiment=spelled")["items"]
        envs = [{e["name"]: e["value"] for e in p["spec"]["containers"][0]["env"]} | {
                 "command": p["spec"]["containers"][0]["command"][-1]} for p in pods]
        return envs if len(envs) == 2 else None

    envs = until(pod_envs, what="a pod for each sweep point")
    assert sorted((e["ARENA_PARAM_LR"], e["LR"], e["command"]) for e in envs) == [
        ("0.10", "0.10", "echo --lr=0.10; sleep 3600"), ("1e-5", "1e-5", "echo --lr=1e-5; sleep 3600")]


class Killed(BaseException):
    """As if the process died: nothing below gets to clean up."""


def test_an_apply_killed_after_its_parent_write_still_removes(cluster, kube, namespace, tmp_path, monkeypatch):
    v1 = copy.deepcopy(BASE)
    del v1["serve"]
    api.apply(kube, write(tmp_path, v1, namespace))
    # v2 drops TensorBoard's CPU and adds a kind (a KServe InferenceService),
    # so apply writes the parent first, naming the new kind, before any member.
    v2 = copy.deepcopy(v1)
    del v2["tensorboard"]["cpu"]
    v2["serve"] = {"type": "kserve", "storage_uri": "pvc://models/m"}
    path = write(tmp_path, v2, namespace)
    (plan,) = api.plan(kube, path)
    assert plan.parent_first is not None
    real_apply = Cluster.apply

    def parent_then_die(self, obj, *a, **k):
        if obj["kind"] != "ConfigMap":
            raise Killed()
        return real_apply(self, obj, *a, **k)

    monkeypatch.setattr(Cluster, "apply", parent_then_die)
    with pytest.raises(Killed):
        apply_plan(kube, plan)
    monkeypatch.undo()
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    # It names every kind, old and new, and still records v1, what the members were rendered from.
    assert "InferenceService.serving.kserve.io" in parent["metadata"]["annotations"][
        "applyset.kubernetes.io/contains-group-kinds"]
    assert json.loads(parent["data"]["experiment.json"])["tensorboard"]["cpu"] == "500m"

    (plan,) = api.plan(kube, path)
    tb = next(a for a in plan.changes if (a.kind, a.name) == ("Deployment", "exp-tensorboard"))
    assert [(c.path, c.new) for c in tb.changes] == [
        ("spec.template.spec.containers[name=tensorboard].resources", MISSING)]
    assert tb.changes[0].old == {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}  # the live value
    api.apply(kube, [plan])
    live = live_member(cluster, namespace, {"kind": "Deployment", "metadata": {"name": "exp-tensorboard"}})
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"] == {}
    referee = kubectl_diff(cluster, tmp_path, path)
    assert referee == "", referee
    assert not api.plan(kube, path)[0].has_changes


def test_a_field_another_manager_co_owns_is_left_and_not_planned_again(cluster, kube, namespace, tmp_path):
    api.apply(kube, write(tmp_path, BASE, namespace))
    teammate = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "exp-tensorboard", "namespace": namespace},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "tensorboard", "resources": {"limits": {"cpu": "500m"}}}]}}}}
    cluster.run_kubectl("apply", "--server-side", "--field-manager=teammate", "-f", "-", input=json.dumps(teammate))
    doc = copy.deepcopy(BASE)
    del doc["tensorboard"]["cpu"]
    path = write(tmp_path, doc, namespace)
    (plan,) = api.plan(kube, path)
    (update,) = plan.changes
    # Only the request goes: the teammate's limit stays where server-side apply leaves it.
    assert [(c.path, c.old, c.new) for c in update.changes] == [
        ("spec.template.spec.containers[name=tensorboard].resources.requests", {"cpu": "500m"}, MISSING)]
    api.apply(kube, [plan])
    live = live_member(cluster, namespace, {"kind": "Deployment", "metadata": {"name": "exp-tensorboard"}})
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"}}
    referee = kubectl_diff(cluster, tmp_path, path)
    assert referee == "", referee
    assert not api.plan(kube, path)[0].has_changes  # not planned (and sent) on every apply


def test_the_same_file_from_another_checkout_changes_nothing(cluster, kube, namespace, tmp_path, run_cli):

    checkouts = []
    for who in ("alice", "ci"):
        repo = tmp_path / who / "project"
        (repo / ".git").mkdir(parents=True)
        (repo / "experiments" / "exp").mkdir(parents=True)
        checkouts.append(write(repo / "experiments" / "exp", BASE, namespace))
    assert run_cli("apply", "-y", checkouts[0])[0] == 0
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    assert parent["metadata"]["annotations"]["arena-run.io/source"] == "experiments/exp/arena.yaml"
    code, out, _ = run_cli("plan", "--detailed-exitcode", checkouts[1])
    assert code == 0 and "No changes." in out
    kube.requests.clear()
    assert api.apply(kube, checkouts[1]) == []
    assert sum(n for verb, n in kube.requests.items() if verb != "GET") == 0


def test_a_job_deleted_while_running_is_recreated(cluster, kube, namespace, tmp_path):
    doc = copy.deepcopy(BASE)
    doc["job"]["ttl_after_finished"] = "1h"
    path = write(tmp_path, doc, namespace)
    api.apply(kube, path)
    until(lambda: api.status(kube, path)[0].jobs[0].phase == "Running", what="job running")
    uid = kubectl_json(cluster, "-n", namespace, "get", "tfjob", "exp")["metadata"]["uid"]
    cluster.run_kubectl("-n", namespace, "delete", "tfjob", "exp")
    (plan,) = api.plan(kube, path)
    assert [(a.op, a.kind) for a in plan.changes] == [("create", "TFJob")]
    api.apply(kube, [plan])
    assert kubectl_json(cluster, "-n", namespace, "get", "tfjob", "exp")["metadata"]["uid"] != uid


# --- the property: any edit of any field converges --------------------------------

DELETE = object()
TRICKY = st.sampled_from(["1.10", "1.1", "1e3", "1000", "0.10", "0.1", "100m", "yes", "on", "null", "~", "08",
                          "", " ", "a:b", "0x1F"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")), max_size=40)
LONG = st.text(st.sampled_from("abc-_ .=0123456789"), min_size=100, max_size=300)  # longer than a diff line
LABEL_VALUE = st.from_regex(r"\A([A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?)?\Z")
CPU = st.sampled_from(["0.5", "500m", "1", "250m", "0.25", "2"])
MEMORY = st.sampled_from(["1Gi", "1024Mi", "512Mi", "2Gi", "1G"])

# (path in the file, values it may take; DELETE takes the key out)
FIELDS = [
    (("job", "command"), st.one_of(TEXT.filter(str.strip), LONG)),
    (("job", "image"), st.sampled_from(["busybox:1.36", "busybox:1.37", "python:3.12"])),
    (("job", "env", "VERSION"), st.one_of(TRICKY, TEXT, st.just(DELETE))),
    (("job", "env", "NEW"), st.one_of(TRICKY, st.just(DELETE))),
    (("job", "cpu"), st.one_of(CPU, st.just(DELETE))),
    (("job", "memory"), st.one_of(MEMORY, st.just(DELETE))),
    (("job", "gpus"), st.integers(0, 1)),
    (("job", "workers"), st.integers(1, 2)),
    (("job", "ttl_after_finished"), st.sampled_from(["1h", "60s", "2h", DELETE])),
    (("job", "working_dir"), st.sampled_from(["/root", "/work", "/root/x"])),
    (("labels", "team"), st.one_of(LABEL_VALUE, st.just(DELETE))),
    (("labels", "tier"), st.one_of(st.sampled_from(["1.10", "1.1", "gold"]), st.just(DELETE))),
    (("tensorboard", "cpu"), st.one_of(CPU, st.just(DELETE))),
    (("tensorboard", "memory"), st.one_of(MEMORY, st.just(DELETE))),
    (("tensorboard", "logdir"), st.sampled_from(["/data/logs", "/data/other"])),
    (("tensorboard", "service"), st.sampled_from(["ClusterIP", "NodePort"])),
    (("serve", "model_path"), st.sampled_from(["/data/model", "/data/model2"])),
    (("serve", "replicas"), st.integers(1, 2)),
    (("serve", "cpu"), st.one_of(CPU, st.just(DELETE))),
    (("data", 0, "read_only"), st.booleans()),
]


@st.composite
def edits(draw):
    doc = copy.deepcopy(BASE)
    chosen = draw(st.lists(st.sampled_from(range(len(FIELDS))), min_size=1, max_size=3, unique=True))
    for i in chosen:
        path, values = FIELDS[i]
        value = draw(values)
        node = doc
        for step in path[:-1]:
            node = node[step]
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return [FIELDS[i][0] for i in chosen], doc


def _by_key(path: str) -> dict:
    """The rendered members, each as the API server will hold it: built-in kinds' resource
    quantities by value (it normalises them), custom resources' as written (it keeps the text)."""
    out = {}
    for obj in rendered(path):
        out[key_of(obj)] = _normalise(obj) if obj["apiVersion"] in ("v1", "apps/v1") else obj
    return out


def _normalise(node, under=""):
    if isinstance(node, dict):
        return {k: (parse_quantity(v) if under in ("requests", "limits") else _normalise(v, k))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return node


@settings(max_examples=int(os.environ.get("ARENA_RUN_EXAMPLES", 20)), deadline=None, database=None,
          derandomize=os.environ.get("CI") == "true",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=edits())
def test_any_edit_converges(cluster, kube, namespace, tmp_path, case):
    """An edit plans a change exactly for the members whose rendering it changes; apply lands
    exactly the new objects (kubectl's server-side diff is empty); the same file then plans nothing."""
    changed_paths, doc = case
    note(f"edited {changed_paths}")
    before_path = tmp_path / "arena.yaml"
    if not before_path.exists():
        api.apply(kube, write(tmp_path, BASE, namespace), replace_running=True)
    before = _by_key(str(before_path))
    path = write(tmp_path, doc, namespace)
    after = _by_key(path)
    carriers = {k for k in after if after[k] != before.get(k)} | (set(before) - set(after))

    (plan,) = api.plan(kube, path)
    planned = {a.key for a in plan.changes}
    assert planned == carriers, f"planned {planned}, rendering changed {carriers}"
    api.apply(kube, [plan], replace_running=True)
    referee = kubectl_diff(cluster, tmp_path, path)
    assert referee == "", referee
    for obj in after.values():
        _assert_holds(obj, live_member(cluster, namespace, obj), ())
    assert not api.plan(kube, path)[0].has_changes


def _assert_holds(want, have, where):
    """Every field of the rendered object is on the live one with exactly that value.  Resource
    quantities are left to kubectl's diff above: the server normalises them (0.5 -> 500m)."""
    if isinstance(want, dict):
        assert isinstance(have, dict), where
        for k, v in want.items():
            if k == "resources":
                continue
            assert k in have, where + (k,)
            _assert_holds(v, have[k], where + (k,))
    elif isinstance(want, list) and want and all(isinstance(i, dict) and "name" in i for i in want):
        named = {i.get("name"): i for i in have}
        for item in want:
            _assert_holds(item, named.get(item["name"]), where + (item["name"],))
    elif isinstance(want, list) and want and all(isinstance(i, dict) for i in want):
        assert isinstance(have, list) and len(have) == len(want), where
        for i, (w, h) in enumerate(zip(want, have)):
            _assert_holds(w, h, where + (i,))
    else:
        assert have == want and type(have) is type(want), (where, want, have)
