"""Apply under interruption (SIGKILL, Ctrl-C), races and refusals, on the real control plane.

The arena-run process under test is the real one (sys.executable -m ...),
instrumented only by instrumented.py, which logs its requests and can SIGKILL
it after its k-th.  What is asserted is read back from the API server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from arena_run import api
from arena_run.apply import ApplyError
from arena_run.cluster import Cluster, Transport
from arena_run.objects.applyset import applyset_id
from cluster_helpers import kubectl_json, until
from tests.experiments import TENSORBOARD, Document, experiment, write

HERE = Path(__file__).resolve().parent


def version1(ns: str, command: str = "sleep 3600") -> Document:
    return experiment("exp", ns, command=command, sweep={"seed": [1, 2]}, tensorboard={**TENSORBOARD, "cpu": "500m"})


# Against version 1: the job of seed 1 replaced (command), seed 2's job pruned,
# TensorBoard updated (its cpu removed: a removal that must not be lost),
# serving created.
def version2(ns: str, name: str = "exp") -> Document:
    return experiment(name, ns, command="sleep 7200", sweep={"seed": [1]}, tensorboard=True, serve=True)


def ours(cluster, ns) -> dict:
    """Every object in ns labelled as arena-run's, by (kind, name)."""
    items = kubectl_json(cluster, "get", "tfjobs,deployments,services,configmaps", "-n", ns,
                         "-l", "app.kubernetes.io/managed-by=arena-run")["items"]
    return {(o["kind"], o["metadata"]["name"]): o for o in items}


def expected(kube, path) -> set:
    (plan,) = api.plan(kube, path, dry=False)
    return {(a.kind, a.name) for a in plan.actions if a.desired is not None} | {("ConfigMap", "arena-run-exp")}


def written(objects: dict) -> dict:
    """What a write by arena-run changes: uid and generation (the parent, a ConfigMap: its resourceVersion;
    only arena-run writes it, while controllers write the others' status)."""
    return {k: (o["metadata"]["uid"], o["metadata"].get("generation") or o["metadata"]["resourceVersion"])
            for k, o in objects.items()}


def run_instrumented(cluster, log: Path, kill_after: int, *args, **popen):
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    argv = [sys.executable, str(HERE / "instrumented.py"), str(log), str(kill_after), *args]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def requests_of(log: Path) -> list:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def assert_converged(cluster, kube, ns, path):
    """Exactly the file's objects, all members, every field as the file says, plan empty."""
    live = ours(cluster, ns)
    assert set(live) == expected(kube, path)
    set_id = applyset_id("arena-run-exp", ns)
    assert all(o["metadata"]["labels"].get("applyset.kubernetes.io/part-of") == set_id
               for (kind, _), o in live.items() if kind != "ConfigMap")
    (plan,) = api.plan(kube, path)
    assert not plan.has_changes, [(a.op, a.kind, a.name, [c.path for c in a.changes]) for a in plan.changes]


# --- SIGKILL after each request ------------------------------------------------


def test_apply_killed_after_every_request_converges(cluster, kube, namespace, tmp_path):
    """For every k: apply V1, then an apply of V2 SIGKILLed right after its k-th
    request; a plain apply of V2 then converges, with no orphan and no lost
    removal (TensorBoard's cpu)."""
    api.apply(kube, write(tmp_path / "v1.toml", version1(namespace)), replace_running=True)
    log = tmp_path / "whole.log"
    proc = run_instrumented(cluster, log, 0, "apply", "-y", "--replace-running", write(tmp_path / "v2.toml", version2(namespace)))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    total = len(requests_of(log))
    writes = [r for r in requests_of(log) if r["method"] != "GET" and not r["dry"]]
    # the parent (taking the lock), a replace (delete, create), an update, two
    # creates, a prune, the parent (the new record, the lock released)
    assert sorted((r["method"], r["path"].split("/")[-2]) for r in writes) == sorted(
        [("PATCH", "configmaps")] * 2 + [("DELETE", "tfjobs")] * 2 + [("PATCH", "tfjobs")]
        + [("PATCH", "deployments")] * 2 + [("PATCH", "services")])
    # A replacement polls for its old job to go, so the number of requests
    # varies a little from run to run: k runs until an apply ends by itself.
    k, finished = 0, False
    while not finished:
        k += 1
        assert k < 3 * total, "the apply never finished"
        ns = f"{namespace}-{k}"
        cluster.run_kubectl("create", "namespace", ns)
        try:
            v2 = write(tmp_path / f"v2-{k}.toml", version2(ns))
            api.apply(kube, write(tmp_path / f"v1-{k}.toml", version1(ns)), replace_running=True)
            log = tmp_path / f"kill-{k}.log"
            proc = run_instrumented(cluster, log, k, "apply", "-y", "--replace-running", v2)
            _, err = proc.communicate(timeout=300)
            finished = proc.returncode == 0 and len(requests_of(log)) < k
            if not finished:
                assert proc.returncode == -signal.SIGKILL, f"k={k}: exited {proc.returncode}: {err}"
                assert len(requests_of(log)) == k
                api.apply(kube, v2, replace_running=True)
            assert_converged(cluster, kube, ns, v2)
            tb = ours(cluster, ns)[("Deployment", "exp-tensorboard")]["spec"]["template"]["spec"]["containers"][0]
            assert "cpu" not in ((tb.get("resources") or {}).get("limits") or {}), f"k={k}: the removal was lost"
        finally:
            cluster.run_kubectl("delete", "namespace", ns, "--wait=false", check=False)
    total = k - 1
    print(f"\nSIGKILL after each of the {total} requests ({len(writes)} writes) of an apply: "
          f"the next apply converged all {total} times")


# --- two applies at once ----------------------------------------------------------


def test_concurrent_applies_of_two_versions_leave_one_whole_version(cluster, kube, namespace, tmp_path):
    v0 = write(tmp_path / "v0.toml", version1(namespace, command="sleep 1800"))
    v1, v2 = write(tmp_path / "v1.toml", version1(namespace)), write(tmp_path / "v2.toml", version2(namespace))
    rounds, refused, won = 6, 0, {v1: 0, v2: 0}
    for r in range(rounds):
        api.apply(kube, v0, replace_running=True)  # both versions change something from here
        procs = [run_instrumented(cluster, tmp_path / f"r{r}-{i}.log", 0, "apply", "-y", "--replace-running", p)
                 for i, p in enumerate((v1, v2) if r % 2 else (v2, v1))]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        for code, err in results:
            assert code in (0, 1), err
            if code == 1:
                assert "another apply holds" in err or "changed since the plan was made" in err, err
                refused += 1
        assert 0 in [code for code, _ in results]
        parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
        recorded = json.loads(parent["data"]["experiment.json"])
        winner = v2 if recorded["job"]["command"] == "sleep 7200" else v1
        won[winner] += 1
        assert_converged(cluster, kube, namespace, winner)
    print(f"\n{rounds} rounds of two concurrent applies of two versions: one whole version every time "
          f"(v1 {won[v1]}, v2 {won[v2]}); {refused} of {2 * rounds} applies refused, the other held the experiment")


def test_a_held_experiment_is_refused_naming_the_holder(cluster, kube, namespace, tmp_path, run_cli):
    v1, v2 = write(tmp_path / "v1.toml", version1(namespace)), write(tmp_path / "v2.toml", version2(namespace))
    api.apply(kube, v1, replace_running=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        marker = {"holder": "ana@" + socket.gethostname(), "host": socket.gethostname(), "pid": holder.pid,
                  "token": "t0", "since": "2026-01-01T00:00:00Z", "until": "2999-01-01T00:00:00Z", "first": False}
        cluster.run_kubectl("-n", namespace, "annotate", "--overwrite", "configmap", "arena-run-exp",
                            f"arena-run.io/apply-lock={json.dumps(marker)}")
        before = ours(cluster, namespace)
        code, _, err = run_cli("apply", "-y", "--replace-running", v2)
        assert code == 1
        assert (f"another apply holds {namespace}/arena-run-exp: ana@{socket.gethostname()} (pid {holder.pid}) "
                "since 2026-01-01T00:00:00Z") in err
        assert written(ours(cluster, namespace)) == written(before), "nothing may be written"
    finally:
        holder.communicate(b"")
    # Its holder has ended: the lock is stale, and the next apply goes ahead.
    code, _, err = run_cli("apply", "-y", "--replace-running", v2)
    assert code == 0, err
    assert_converged(cluster, kube, namespace, v2)


# --- Ctrl-C -------------------------------------------------------------------------


def test_ctrl_c_stops_writing_at_once_and_the_next_apply_converges(cluster, kube, namespace, tmp_path):
    v1, v2 = write(tmp_path / "v1.toml", version1(namespace)), write(tmp_path / "v2.toml", version2(namespace))
    api.apply(kube, v1, replace_running=True)
    (job,) = [n for k, n in ours(cluster, namespace) if k == "TFJob" and n in _names(kube, v2)]
    # A finalizer holds the replaced job in deletion: the apply waits there.
    cluster.run_kubectl("-n", namespace, "patch", "tfjob", job, "--type=merge",
                        "-p", '{"metadata":{"finalizers":["arena-run.test/hold"]}}')
    log = tmp_path / "apply.log"
    proc = run_instrumented(cluster, log, 0, "apply", "-y", "--replace-running", v2)
    until(lambda: kubectl_json(cluster, "-n", namespace, "get", "tfjob", job)["metadata"].get("deletionTimestamp"),
          what="the replaced job's deletion")
    until(lambda: sum(1 for r in requests_of(log) if r.get("method") == "GET" and f"/tfjobs/{job}" in r["path"]),
          what="the apply waiting for the job to go")
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    stopped_in = time.monotonic() - start
    assert proc.returncode == 130, err
    assert stopped_in < 10, f"took {stopped_in:.1f}s to stop"
    assert "interrupted: no write was sent after the interrupt" in err
    (not_written,) = [line for line in err.splitlines() if line.startswith("exp: not written: ")]
    assert f"TFJob {job}" in not_written.split(": ", 2)[2].split(", ")
    sent = requests_of(log)
    at = next(r["sigint"] for r in sent if "sigint" in r)
    assert not [r for r in sent if "method" in r and r["t"] > at and r["method"] != "GET"], "a write after Ctrl-C"
    cluster.run_kubectl("-n", namespace, "patch", "tfjob", job, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    until(lambda: cluster.run_kubectl("-n", namespace, "get", "tfjob", job, check=False).returncode != 0,
          what="the old job to go")
    api.apply(kube, v2, replace_running=True)
    assert_converged(cluster, kube, namespace, v2)


def _names(kube, path) -> set:
    (plan,) = api.plan(kube, path, dry=False)
    return {a.name for a in plan.actions if a.desired is not None}


# --- ownership at write time, and the server's own refusals ---------------------------


def test_a_namesake_created_after_the_plan_is_not_taken_over(cluster, kube, namespace, tmp_path):
    path = write(tmp_path / "arena.toml", version2(namespace))
    plans = api.plan(kube, path)  # as when the prompt is shown
    cluster.run_kubectl("-n", namespace, "create", "service", "clusterip", "exp-serving", "--tcp=80:80")
    before = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-serving")
    with pytest.raises(ApplyError) as caught:
        api.apply(kube, plans)
    assert caught.value.problems == [
        f"Service {namespace}/exp-serving was created by someone else after the plan was made; arena-run leaves "
        "it alone (rename the experiment, delete it, or apply with --adopt)"]
    after = kubectl_json(cluster, "-n", namespace, "get", "service", "exp-serving")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "applyset.kubernetes.io/part-of" not in (after["metadata"].get("labels") or {})
    assert set(ours(cluster, namespace)) == set(), "nothing may be written"


def test_a_member_replaced_by_a_namesake_after_the_plan_is_not_updated(cluster, kube, namespace, tmp_path):
    api.apply(kube, write(tmp_path / "v1.toml", version1(namespace)), replace_running=True)
    plans = api.plan(kube, write(tmp_path / "v2.toml", version2(namespace)))
    cluster.run_kubectl("-n", namespace, "delete", "deployment", "exp-tensorboard")
    cluster.run_kubectl("-n", namespace, "create", "deployment", "exp-tensorboard", "--image=nginx")
    with pytest.raises(ApplyError) as caught:
        api.apply(kube, plans, replace_running=True)
    assert any(p.startswith(f"Deployment {namespace}/exp-tensorboard:") for p in caught.value.problems)
    deploy = kubectl_json(cluster, "-n", namespace, "get", "deployment", "exp-tensorboard")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert "applyset.kubernetes.io/part-of" not in deploy["metadata"]["labels"]


def test_a_plan_the_server_refuses_shows_it_per_object_and_writes_nothing(cluster, kube, namespace, tmp_path, run_cli):
    cluster.run_kubectl("-n", namespace, "create", "quota", "no-services", "--hard=services=0")
    path = write(tmp_path / "arena.toml", version2(namespace))
    code, out, err = run_cli("plan", path)
    assert code == 1
    problems = [line.strip() for line in err.splitlines() if "error:" in line]
    assert [p.split(":")[1].strip() for p in problems] == \
        [f"Service {namespace}/exp-serving", f"Service {namespace}/exp-tensorboard"]
    assert all("the API server refuses it" in p and "exceeded quota" in p for p in problems)
    code, _, err = run_cli("apply", "-y", path)
    assert code == 1 and "Nothing was applied." in err
    assert ours(cluster, namespace) == {}


# --- what a first apply costs ---------------------------------------------------------


def test_first_apply_writes_each_object_once_and_each_parent_once(cluster, kube, namespace, tmp_path, monkeypatch):
    root = tmp_path / "many"
    for i in range(4):
        write(root / f"e{i}" / "arena.toml", version2(namespace, f"e{i}"))
    sent = []
    real = Transport.request

    def counted(self, method, path, **kw):
        sent.append((method, ("dryRun", "All") in (kw.get("query") or [])))
        return real(self, method, path, **kw)

    monkeypatch.setattr(Transport, "request", counted)
    plans = api.plan(kube, str(root))
    objects = sum(1 for p in plans for a in p.actions if a.op == "create")
    del sent[:]
    api.apply(kube, plans)
    writes = [m for m, dry in sent if m != "GET" and not dry]
    assert len(writes) == objects + len(plans), writes
    print(f"\nfirst apply of {len(plans)} experiments, {objects} objects: {len(writes)} writes")


# --- several namespaces; kinds of a newer arena-run ------------------------------------


def test_status_of_a_directory_reads_each_file_from_its_namespace(cluster, kube, namespace, tmp_path, run_cli):
    other = f"{namespace}-b"
    cluster.run_kubectl("create", "namespace", other)
    try:
        for ns in (namespace, other):
            api.apply(kube, write(tmp_path / ns / "arena.toml", version2(ns)))
        code, out, err = run_cli("status", "-o", "json", str(tmp_path))
        assert code == 0, err
        assert sorted((s["namespace"], s["name"], s["sync"]) for s in json.loads(out)) == \
            [(namespace, "exp", "in sync"), (other, "exp", "in sync")]
    finally:
        cluster.run_kubectl("delete", "namespace", other, "--wait=false", check=False)


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.arena-run.test"},
    "spec": {"group": "arena-run.test", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def test_members_of_kinds_this_version_does_not_know_are_deleted_not_orphaned(cluster, kube, namespace, tmp_path,
                                                                              run_cli):
    manifest = tmp_path / "crd.yaml"
    manifest.write_text(yaml.safe_dump(WIDGET_CRD))
    cluster.run_kubectl("apply", "--server-side", "-f", str(manifest))
    until(lambda: cluster.run_kubectl("get", "widgets", "-A", check=False).returncode == 0, what="the Widget CRD")
    path = write(tmp_path / "arena.toml", version2(namespace))
    api.apply(kube, path)
    # As a newer arena-run would leave it: a Widget member, recorded in the parent.
    widget = {"apiVersion": "arena-run.test/v1", "kind": "Widget",
              "metadata": {"name": "exp-widget", "namespace": namespace,
                           "labels": {"applyset.kubernetes.io/part-of": applyset_id("arena-run-exp", namespace)}}}
    (tmp_path / "widget.yaml").write_text(yaml.safe_dump(widget))
    cluster.run_kubectl("apply", "--server-side", "-f", str(tmp_path / "widget.yaml"))
    parent = kubectl_json(cluster, "-n", namespace, "get", "configmap", "arena-run-exp")
    kinds = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
    cluster.run_kubectl("-n", namespace, "annotate", "--overwrite", "configmap", "arena-run-exp",
                        f"applyset.kubernetes.io/contains-group-kinds={kinds},Widget.arena-run.test")
    # apply would drop the kind from the parent and orphan the Widget: refused.
    code, _, err = run_cli("apply", "-y", path)
    assert code == 1 and "does not know: Widget.arena-run.test" in err
    code, out, err = run_cli("delete", "-y", path)
    assert code == 0, err
    assert "- Widget exp-widget" in out
    assert kubectl_json(cluster, "-n", namespace, "get", "widgets")["items"] == []
    assert ours(cluster, namespace) == {}
