"""What arena-run says of queued jobs, and does to them, with the real Kueue (issue 21, phase 2).

`status` shows a job Kueue holds as `Queued`, with Kueue's reason and its place
among its LocalQueue's pending workloads (the visibility API); a LocalQueue
that is missing or inactive is named by plan and status; a change to a job
still queued is made in place, keeping its place, while a change to an
admitted job is a replacement that needs consent (issue 17); what a flavor
adds to admitted pods (node selector, tolerations) is no change.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from arena_run import api
from arena_run.apply import ApplyError
from arena_run.status.top_queue import read_queues
from cluster_helpers import kubectl_json, until
from test_engines import assert_kubectl_agrees, assert_converged
from test_kueue import KUEUE, admitted, job_of, no_fight, pending, queues, running_pods, tf, workload  # noqa: F401 (queues: the fixture)


def job_status(run_cli, path) -> dict:
    code, out, err = run_cli("status", "-o", "json", path)
    assert code == 0, err
    (st,) = json.loads(out)
    (job,) = st["jobs"]
    return {**job, "experiment_phase": st["phase"], "sync": st["sync"]}


def queued_at(run_cli, path, position):
    """The job's status once the visibility API puts it at position among the pending."""
    def look():
        job = job_status(run_cli, path)
        return job if job["phase"] == "Queued" and job["queue"]["position"] == position else None
    return until(look, what=f"{path} queued at #{position}")


def apply_in_turn(cluster, run_cli, namespace, paths):
    """Apply each in turn: the first admitted, the second tried and found beyond the quota, the rest
    with their Workloads (Kueue tries those behind one it could not admit only once something changes).

    Kueue orders pending workloads by creationTimestamp, which has whole seconds, and breaks a tie by
    UID (random): two Workloads made in the same second are queued in either order.  So each job is
    applied only once the clock has passed the second its predecessor's Workload was made in."""
    made = None
    for i, (name, path) in enumerate(paths.items()):
        if made is not None:
            until(lambda: datetime.now(timezone.utc) >= made + timedelta(seconds=1), interval=0.05,
                  what=f"a second after {made:%H:%M:%S}, when the Workload before {name} was made")
        assert run_cli("apply", "-y", path)[0] == 0
        wait = (admitted, pending, workload)[min(i, 2)]
        w = until(lambda: wait(cluster, namespace, "TFJob", name), what=f"{name} admitted, tried or seen by Kueue")
        made = datetime.fromisoformat(w["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def test_status_says_queued_with_kueues_reason_and_place(cluster, kube, namespace, queues, tmp_path, run_cli):
    q = queues(gpus=2)
    paths = {n: tf(tmp_path, namespace, n, gpus=2) for n in ("a", "b", "c")}
    apply_in_turn(cluster, run_cli, namespace, paths)
    running_pods(cluster, namespace, "a", 1)

    b = queued_at(run_cli, paths["b"], 1)
    assert b["experiment_phase"] == "Queued" and b["sync"] == "in sync" and b["queue"]["reason"] == "Pending"
    assert b["queue"]["state"] == "queued" and b["queue"]["local_queue"] == "team"
    assert b["queue"]["cluster_queue"] == q.cluster_queue
    assert "insufficient unused quota for nvidia.com/gpu" in b["queue"]["message"], b
    assert b["queue"]["since"] == workload(cluster, namespace, "TFJob", "b")["metadata"]["creationTimestamp"]
    c = queued_at(run_cli, paths["c"], 2)
    assert c["message"].startswith(f"Queued in LocalQueue team (ClusterQueue {q.cluster_queue}), #2 of its pending "
                                   "workloads since "), c["message"]
    a = job_status(run_cli, paths["a"])
    assert a["phase"] == "Running" and a["queue"]["state"] == "admitted" and a["queue"]["reason"] == "Admitted"
    assert a["message"].startswith(f"Admitted by ClusterQueue {q.cluster_queue} (LocalQueue team) since ")

    # top job says the same phases as status (it said Suspended for the jobs Kueue holds).
    code, out, err = run_cli("top", "job", "-n", namespace, "-o", "json")
    assert code == 0, err
    assert {j["name"]: j["phase"] for j in json.loads(out)} == {"a": "Running", "b": "Queued", "c": "Queued"}, out

    # The table says it too, in one line under the job.
    code, out, _ = run_cli("status", paths["c"])
    assert code == 0
    assert out.splitlines()[1].split()[:2] == ["c", "Queued"], out
    assert "#2 of its pending workloads" in out, out

    # Status reads the Workloads and LocalQueues in the same round as the jobs: one LIST of each.
    seen: list[str] = []
    observer = kube.observe(lambda attempt: seen.append(attempt.path.split("?")[0]))
    try:
        api.status(kube, namespace=namespace)
    finally:
        kube.observers.remove(observer)
    assert sorted(p for p in seen if "kueue.x-k8s.io" in p) == [
        f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{namespace}/localqueues",
        f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{namespace}/workloads",
        f"/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/{namespace}/localqueues/team/pendingworkloads",
    ], seen


def test_status_says_the_place_among_the_cluster_queues_workloads_too(cluster, kube, namespace, queues, tmp_path,
                                                                        run_cli):
    """Another LocalQueue feeds the same ClusterQueue: a job first in its own LocalQueue may wait behind
    workloads of others, and status says how many (Kueue's positionInClusterQueue)."""
    q = queues(gpus=2)
    cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-", input=json.dumps(
        {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": "other", "namespace": namespace},
         "spec": {"clusterQueue": q.cluster_queue}}))
    paths = {"a": tf(tmp_path, namespace, "a", gpus=2), "b": tf(tmp_path, namespace, "b", gpus=2),
             "o": tf(tmp_path, namespace, "o", gpus=2, queue="other")}
    apply_in_turn(cluster, run_cli, namespace, paths)
    o = queued_at(run_cli, paths["o"], 1)
    assert (o["queue"]["local_queue"], o["queue"]["cluster_position"]) == ("other", 2), o
    assert ", #1 of its pending workloads, #2 of its ClusterQueue's since " in o["message"], o["message"]
    b = queued_at(run_cli, paths["b"], 1)
    assert b["queue"]["cluster_position"] == 1 and "ClusterQueue's" not in b["message"], b


def test_a_change_to_a_queued_job_keeps_its_place(cluster, kube, namespace, queues, tmp_path, run_cli):
    queues(gpus=2)
    paths = {n: tf(tmp_path, namespace, n, gpus=2) for n in ("a", "b", "c")}
    apply_in_turn(cluster, run_cli, namespace, paths)
    queued_at(run_cli, paths["b"], 1)
    job_uid = job_of(cluster, namespace, "TFJob", "b")["metadata"]["uid"]
    workload_uid = workload(cluster, namespace, "TFJob", "b")["metadata"]["uid"]

    edited = tf(tmp_path, namespace, "b", gpus=2, command="sleep 3601")
    (plan,) = api.plan(kube, edited)
    (action,) = plan.changes
    assert action.op == "update" and not action.stops_unfinished_job
    assert action.reason == ("queued, not yet admitted: updated in place (job.command); it keeps its place in "
                             "LocalQueue team"), action.reason
    # status agrees with plan: the edit is pending, and the job still queued.
    assert run_cli("plan", "--detailed-exitcode", edited)[0] == 2
    assert job_status(run_cli, edited)["sync"] == "changed (not applied)"
    code, out, err = run_cli("apply", "-y", edited)  # nothing stops: no consent asked
    assert code == 0, out + err
    assert "keeps its place in LocalQueue team" in out

    # The same job and Workload (Kueue updated it in place), first of the pending still, with the new command.
    assert job_of(cluster, namespace, "TFJob", "b")["metadata"]["uid"] == job_uid
    w = until(lambda: (lambda w: w if w["metadata"]["generation"] > 1 else None)(
        workload(cluster, namespace, "TFJob", "b")), what="b's Workload updated")
    assert w["metadata"]["uid"] == workload_uid
    assert w["spec"]["podSets"][0]["template"]["spec"]["containers"][0]["command"][-1] == "sleep 3601"
    assert queued_at(run_cli, edited, 1)["sync"] == "in sync"
    queued_at(run_cli, paths["c"], 2)
    no_fight(cluster, kube, edited, namespace, tmp_path)

    # An admitted job's change is a replacement: -y alone refuses it (issue 17), the job runs on.
    a_uid = job_of(cluster, namespace, "TFJob", "a")["metadata"]["uid"]
    a_edited = tf(tmp_path, namespace, "a", gpus=2, command="sleep 3602")
    code, out, err = run_cli("apply", "-y", a_edited)
    assert code == 3, out + err
    assert job_of(cluster, namespace, "TFJob", "a")["metadata"]["uid"] == a_uid

    # Once a is gone, b (not c) is admitted, and runs the edited command.
    assert run_cli("delete", "-y", "--wait", paths["a"])[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "b"), what="b admitted")
    (pod,) = running_pods(cluster, namespace, "b", 1)
    assert pod["spec"]["containers"][0]["command"][-1] == "sleep 3601"
    assert pending(cluster, namespace, "TFJob", "c")


def test_a_queued_change_is_not_written_once_kueue_has_admitted_the_job(cluster, kube, namespace, queues, tmp_path,
                                                                          run_cli):
    """The plan was made while the job waited; Kueue admitted it before apply: the write is refused
    (its resourceVersion moved on), the job runs as it was, and the next plan says replace."""
    queues(gpus=2)
    first, queued = tf(tmp_path, namespace, "first", gpus=2), tf(tmp_path, namespace, "later", gpus=2)
    assert run_cli("apply", "-y", first)[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "first"), what="first admitted")
    assert run_cli("apply", "-y", queued)[0] == 0
    until(lambda: pending(cluster, namespace, "TFJob", "later"), what="later pending")
    (plan,) = api.plan(kube, tf(tmp_path, namespace, "later", gpus=2, command="sleep 3601"))
    assert plan.changes[0].op == "update" and plan.changes[0].while_held

    assert run_cli("delete", "-y", "--wait", first)[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "later"), what="later admitted")
    (pod,) = running_pods(cluster, namespace, "later", 1)
    with pytest.raises(ApplyError) as raised:
        api.apply(kube, [plan])
    assert "admitted by Kueue since the plan was made" in str(raised.value), raised.value.problems
    container = job_of(cluster, namespace, "TFJob", "later")["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert container["containers"][0]["command"][-1] == "sleep 3600"
    (replan,) = api.plan(kube, tf(tmp_path, namespace, "later", gpus=2, command="sleep 3601"))
    assert replan.changes[0].op == "replace" and replan.changes[0].stops_unfinished_job


def test_a_missing_or_inactive_local_queue_is_named(cluster, kube, namespace, queues, tmp_path, run_cli):
    q = queues(gpus=2)
    path = tf(tmp_path, namespace, "lost", gpus=1, queue="nope")
    line = (f"warning: job.queue: LocalQueue {namespace}/nope does not exist: Kueue holds the job until it does "
            f"(kubectl get localqueues -n {namespace}) (TFJob lost)")
    code, out, err = run_cli("plan", path)
    assert code == 0, err
    assert [x.strip() for x in err.splitlines()] == [line], err
    code, out, err = run_cli("plan", "-o", "json", path)
    assert json.loads(out)[0]["warnings"] == [line.removeprefix("warning: ")]
    # A warning, not a refusal: Kueue holds the job, nothing runs, and it is admitted once the queue exists.
    code, out, err = run_cli("apply", "-y", path)
    assert code == 0 and line in err, out + err
    job = until(lambda: (lambda j: j if j["queue"]["reason"] == "Inadmissible" else None)(
        job_status(run_cli, path)), what="lost inadmissible")
    assert job["phase"] == "Queued"
    assert f"LocalQueue {namespace}/nope does not exist" in job["message"], job

    cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-", input=json.dumps(
        {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": "nope", "namespace": namespace},
         "spec": {"clusterQueue": q.cluster_queue}}))
    until(lambda: admitted(cluster, namespace, "TFJob", "lost"), what="lost admitted once its queue exists")
    assert run_cli("plan", path)[2] == ""

    # A LocalQueue whose ClusterQueue is missing: Kueue marks it inactive, and plan says so.
    cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-", input=json.dumps(
        {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": "orphan", "namespace": namespace},
         "spec": {"clusterQueue": f"{q.cluster_queue}-missing"}}))
    until(lambda: (kubectl_json(cluster, "-n", namespace, "get", "localqueue", "orphan").get("status") or {})
          .get("conditions"), what="orphan's conditions")
    code, out, err = run_cli("plan", tf(tmp_path, namespace, "stuck", gpus=1, queue="orphan"))
    assert code == 0
    assert err.strip() == (f"warning: job.queue: LocalQueue {namespace}/orphan (ClusterQueue {q.cluster_queue}-missing) "
                           "is inactive (ClusterQueueDoesNotExist: Can't submit new workloads to clusterQueue): Kueue "
                           "admits nothing from it until it is active (TFJob stuck)"), err


def test_a_flavors_tolerations_and_node_selector_are_no_change(cluster, kube, namespace, queues, tmp_path, run_cli):
    """Kueue writes the flavor's node labels and tolerations into an admitted job's templates, on top
    of the file's own: the plan stays empty (it would otherwise replace the running job)."""
    flavor_toleration = {"key": "example.com/flavor", "operator": "Exists", "effect": "NoSchedule"}
    queues(gpus=2, tolerations=(flavor_toleration,))
    own = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    path = tf(tmp_path, namespace, "tol", gpus=1, node_selector={"nvidia.com/gpu.count": "8"}, tolerations=[own])
    plain = tf(tmp_path, namespace, "plain", gpus=1)
    for p in (path, plain):
        assert run_cli("apply", "-y", p)[0] == 0
    for name in ("tol", "plain"):
        until(lambda: admitted(cluster, namespace, "TFJob", name), what=f"{name} admitted")
        (pod,) = running_pods(cluster, namespace, name, 1)
        assert flavor_toleration in pod["spec"]["tolerations"] and pod["spec"]["nodeSelector"]["type"] == "kwok"
    template = job_of(cluster, namespace, "TFJob", "tol")["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert template["tolerations"] == [own, flavor_toleration]
    assert template["nodeSelector"] == {"nvidia.com/gpu.count": "8", "type": "kwok"}
    assert_converged(kube, path)
    assert_converged(kube, plain)
    # kubectl as referee: nothing to change where the file does not set what Kueue adds...
    assert_kubectl_agrees(cluster, plain, namespace, tmp_path)
    # ...and where it does, the lists Kueue rewrote whole are Kueue's now (server-side apply's rule
    # for an atomic list): kubectl names the conflict rather than a difference, and arena-run writes nothing.
    proc = _kubectl_diff(cluster, path, namespace, tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and 'conflicts with "kueue"' in proc.stderr, proc.stdout + proc.stderr
    # A change of the file's own toleration is still the user's change: a replacement of the running job.
    (plan,) = api.plan(kube, tf(tmp_path, namespace, "tol", gpus=1, node_selector={"nvidia.com/gpu.count": "8"},
                                tolerations=[{**own, "effect": "NoExecute"}]))
    assert [a.op for a in plan.changes] == ["replace"], [a.to_dict() for a in plan.changes]


def _kubectl_diff(cluster, path, ns, tmp_path):
    from arena_run.plan import desired_members
    from arena_run.render.output import to_json
    from arena_run.spec.load import load

    manifest = tmp_path / "rendered-tol.json"
    manifest.write_text(to_json(desired_members(load(path), ns)))
    return cluster.run_kubectl("diff", "--server-side", "--field-manager=arena-run", "-f", str(manifest), check=False)


def test_top_queue_figures_are_kueues_own(cluster, kube, namespace, queues, tmp_path, run_cli):
    q = queues(gpus=4)
    paths = {n: tf(tmp_path, namespace, n, gpus=2) for n in ("a", "b", "c")}
    for n in ("a", "b", "c"):
        assert run_cli("apply", "-y", paths[n])[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "b"), what="b admitted")
    until(lambda: pending(cluster, namespace, "TFJob", "c"), what="c pending")
    counts = lambda obj: ((obj.get("status") or {}).get("pendingWorkloads"),  # noqa: E731
                          (obj.get("status") or {}).get("admittedWorkloads"))
    lq = until(lambda: (lambda o: o if counts(o) == (1, 2) else None)(
        kubectl_json(cluster, "-n", namespace, "get", "localqueue", "team")), what="the LocalQueue counts 1 and 2")
    until(lambda: counts(kubectl_json(cluster, "get", "clusterqueue", q.cluster_queue)) == (1, 2),
          what="the ClusterQueue counts 1 pending, 2 admitted")
    cq = kubectl_json(cluster, "get", "clusterqueue", q.cluster_queue)

    report = read_queues(kube, namespace)
    assert report.notes == []
    (local,) = report.local_queues
    assert (local.name, local.cluster_queue, local.active) == ("team", q.cluster_queue, "True")
    assert (local.pending, local.admitted) == (lq["status"]["pendingWorkloads"], lq["status"]["admittedWorkloads"]) \
        == (1, 2)
    (queue,) = report.cluster_queues
    assert (queue.name, queue.pending, queue.admitted) == (q.cluster_queue, 1, 2)
    gpu = queue.resources[0]  # GPUs first
    assert (gpu.flavor, gpu.resource, gpu.nominal, gpu.used, gpu.borrowed) == (q.flavor, "nvidia.com/gpu", "4", "4", "0")
    (usage,) = [f for f in cq["status"]["flavorsUsage"] if f["name"] == q.flavor]
    assert gpu.used == next(r["total"] for r in usage["resources"] if r["name"] == "nvidia.com/gpu")
    assert report.gpus(q.cluster_queue).used == "4"
    # The command says the same, GPUs first, and -o json is the report.
    code, out, err = run_cli("top", "queue", "-n", namespace)
    assert code == 0 and err == "", err
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["LOCALQUEUE", "CLUSTERQUEUE", "ACTIVE", "PENDING", "ADMITTED", "GPU(Used/Nominal)"]
    assert lines[1] == ["team", q.cluster_queue, "True", "1", "2", "4/4"]
    assert lines[4] == [q.cluster_queue, "-", q.flavor, "nvidia.com/gpu", "4", "4", "0"]
    code, out, _ = run_cli("top", "queue", "-n", namespace, "-o", "json")
    assert json.loads(out) == json.loads(json.dumps(read_queues(kube, namespace).to_dict()))


def test_top_queue_without_leave_to_read_cluster_queues(cluster, queues):
    """A user bound to one namespace sees its LocalQueues, and a note in place of the ClusterQueues' quota."""
    from arena_run.cluster import connect

    ns = cluster.limited_namespace
    q = queues(gpus=2)  # a ClusterQueue for the test's own namespace: the limited one's LocalQueue points at it
    name = f"lq-{q.cluster_queue}"
    cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-", input=json.dumps(
        {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": name, "namespace": ns},
         "spec": {"clusterQueue": q.cluster_queue}}))
    try:
        limited = connect(str(cluster.kubeconfig_limited))
        report = read_queues(limited, ns)
        (mine,) = [lq for lq in report.local_queues if lq.name == name]
        assert mine.cluster_queue == q.cluster_queue and report.cluster_queues == []
        assert report.notes == [
            "ClusterQueues are cluster-scoped and not readable by this user (forbidden): their quota is not shown; "
            "the LocalQueues' own counts and usage are (a ClusterRole that may get and list "
            "clusterqueues.kueue.x-k8s.io shows it)"]
    finally:
        cluster.run_kubectl("-n", ns, "delete", "localqueue", name, "--wait=false", check=False)
