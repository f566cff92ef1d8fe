"""Queued jobs with the real Kueue: quota, all-or-nothing admission, preemption, and no fight.

Kueue v0.19 runs beside the operators (tests/cluster/up): its webhook suspends
a job that carries a queue label, its scheduler admits the job's Workload when
the ClusterQueue has quota for all of its pods and then resumes the job (and
sets the flavor's node selectors on its pods), and it evicts (suspends) a job
that a higher-priority one preempts. Each test makes its own ResourceFlavor,
ClusterQueue (for its namespace only), LocalQueue and priority classes.
"""

from __future__ import annotations

import json
import uuid

import pytest

from arena_run import api
from cluster_helpers import kubectl_json, until
from test_engines import EXIT, assert_converged, assert_finished_then_converged, assert_kubectl_agrees, pods
from tests.experiments import experiment, write

KUEUE = "kueue.x-k8s.io/v1beta2"
FLAVOR_LABEL = ("type", "kwok")  # both kwok nodes have it; Kueue puts it in admitted pods' nodeSelector


class Queues:
    """A ClusterQueue with a GPU quota, its LocalQueue `team` in the test's namespace, priorities low and high."""

    def __init__(self, cluster, namespace: str, gpus: int, tolerations: tuple[dict, ...] = ()):
        """tolerations: the flavor's, which Kueue adds to an admitted job's pod templates."""
        self.cluster, self.namespace = cluster, namespace
        tag = uuid.uuid4().hex[:8]
        self.flavor, self.cluster_queue = f"gpu-{tag}", f"cq-{tag}"
        self.low, self.high = f"low-{tag}", f"high-{tag}"
        self.objects = [
            {"apiVersion": KUEUE, "kind": "ResourceFlavor", "metadata": {"name": self.flavor},
             "spec": {"nodeLabels": dict([FLAVOR_LABEL]), **({"tolerations": list(tolerations)} if tolerations else {})}},
            {"apiVersion": KUEUE, "kind": "WorkloadPriorityClass", "metadata": {"name": self.low}, "value": 100},
            {"apiVersion": KUEUE, "kind": "WorkloadPriorityClass", "metadata": {"name": self.high}, "value": 1000},
            {"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": self.cluster_queue},
             "spec": {
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                 "queueingStrategy": "BestEffortFIFO",
                 "preemption": {"withinClusterQueue": "LowerPriority"},
                 "resourceGroups": [{
                     "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
                     "flavors": [{"name": self.flavor, "resources": [
                         {"name": "cpu", "nominalQuota": "64"},
                         {"name": "memory", "nominalQuota": "512Gi"},
                         {"name": "nvidia.com/gpu", "nominalQuota": str(gpus)}]}]}]}},
            {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": "team", "namespace": namespace},
             "spec": {"clusterQueue": self.cluster_queue}},
        ]
        cluster.run_kubectl("apply", "--server-side", "--field-manager=arena-run-test-setup", "-f", "-",
                            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": self.objects}))
        until(lambda: _true(kubectl_json(cluster, "-n", namespace, "get", "localqueue", "team"), "Active"),
              what="LocalQueue team active")

    def delete(self) -> None:
        for obj in reversed(self.objects):
            ns = ["-n", obj["metadata"]["namespace"]] if "namespace" in obj["metadata"] else []
            self.cluster.run_kubectl(*ns, "delete", obj["kind"].lower(), obj["metadata"]["name"],
                                     "--wait=false", check=False)


@pytest.fixture
def queues(cluster, namespace):
    made = []

    def make(gpus: int, tolerations: tuple[dict, ...] = ()) -> Queues:
        made.append(Queues(cluster, namespace, gpus, tolerations))
        return made[-1]
    yield make
    for q in made:
        q.delete()


def _true(obj: dict, condition: str) -> bool:
    return any(c["type"] == condition and c["status"] == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def job_of(cluster, ns: str, kind: str, name: str) -> dict:
    return kubectl_json(cluster, "-n", ns, "get", kind.lower(), name)


def workload(cluster, ns: str, kind: str, name: str) -> dict | None:
    """The Workload Kueue made for the job (owner-referenced to it), or None."""
    uid = job_of(cluster, ns, kind, name)["metadata"]["uid"]
    items = kubectl_json(cluster, "-n", ns, "get", "workloads.kueue.x-k8s.io")["items"]
    mine = [w for w in items if any(o["uid"] == uid for o in w["metadata"].get("ownerReferences", []))]
    return mine[0] if mine else None


def admitted(cluster, ns, kind, name):
    w = workload(cluster, ns, kind, name)
    return w if w and _true(w, "Admitted") else None


def pending(cluster, ns, kind, name):
    """The Workload, once Kueue has tried and found no quota for it."""
    w = workload(cluster, ns, kind, name)
    if not w:
        return None
    reserved = [c for c in w.get("status", {}).get("conditions", []) if c["type"] == "QuotaReserved"]
    return w if reserved and reserved[0]["status"] == "False" and reserved[0]["reason"] == "Pending" else None


def condition(obj: dict, kind: str) -> dict:
    (c,) = [c for c in obj["status"]["conditions"] if c["type"] == kind]
    return c


def suspended(cluster, ns, kind, name) -> bool:
    spec = job_of(cluster, ns, kind, name)["spec"]
    return bool(spec.get("suspend") if kind == "TrainJob" else spec["runPolicy"].get("suspend"))


def running_pods(cluster, ns, experiment, count):
    return until(lambda: (lambda ps: ps if len(ps) == count else None)(pods(cluster, ns, experiment, "Running")),
                 what=f"{count} pods of {experiment} running")


def tf(tmp_path, ns: str, name: str, gpus: int, workers: int = 1, **queue: str) -> str:
    """A TFJob experiment in its own file; queue="team" unless queue= says otherwise ("" for none)."""
    keys = {"queue": "team", **queue}
    keys = {k: v for k, v in keys.items() if v}
    return write(tmp_path / f"{name}.toml", experiment(name, ns, gpus=gpus, workers=workers, **keys))


def no_fight(cluster, kube, path, ns, tmp_path):
    """What Kueue set (suspend, the flavor's node selector) is neither drift nor a change."""
    assert_kubectl_agrees(cluster, path, ns, tmp_path)
    assert_converged(kube, path)


def test_quota_smaller_than_the_work(cluster, kube, namespace, queues, tmp_path, run_cli):
    queues(gpus=4)
    paths = {n: tf(tmp_path, namespace, n, gpus=2) for n in ("a", "b", "c")}
    for n in ("a", "b", "c"):
        code, _, err = run_cli("apply", "-y", paths[n])
        assert code == 0, err
        if n != "c":  # the first two fit, in the order they came
            until(lambda: admitted(cluster, namespace, "TFJob", n), what=f"{n} admitted")
    # c is beyond the quota: Kueue says which resource and how much is missing.
    w = until(lambda: pending(cluster, namespace, "TFJob", "c"), what="c pending")
    message = condition(w, "QuotaReserved")["message"]
    assert "nvidia.com/gpu" in message and "insufficient" in message.lower(), message
    assert suspended(cluster, namespace, "TFJob", "c")
    assert pods(cluster, namespace, "c") == []
    # a and b run, with the flavor's node selector Kueue set at admission.
    for n in ("a", "b"):
        (pod,) = running_pods(cluster, namespace, n, 1)
        assert pod["spec"]["nodeSelector"][FLAVOR_LABEL[0]] == FLAVOR_LABEL[1]
        assert not suspended(cluster, namespace, "TFJob", n)
    # A job without a queue label is not Kueue's: it runs beyond the quota.
    free = tf(tmp_path, namespace, "free", gpus=2, queue="")
    assert run_cli("apply", "-y", free)[0] == 0
    running_pods(cluster, namespace, "free", 1)
    assert workload(cluster, namespace, "TFJob", "free") is None

    # No fight, queued and admitted alike.
    for n in ("a", "c"):
        no_fight(cluster, kube, paths[n], namespace, tmp_path)

    # Deleting one admits the next.
    assert run_cli("delete", "-y", "--wait", paths["a"])[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "c"), what="c admitted once a is gone")
    running_pods(cluster, namespace, "c", 1)
    no_fight(cluster, kube, paths["c"], namespace, tmp_path)

    # Finished: the job ends, Kueue marks its Workload finished; still no fight.
    (pod,) = running_pods(cluster, namespace, "b", 1)
    cluster.run_kubectl("-n", namespace, "annotate", "pod", pod["metadata"]["name"], f"{EXIT}=0")
    until(lambda: _true(workload(cluster, namespace, "TFJob", "b") or {}, "Finished"), what="b finished")
    assert_finished_then_converged(kube, paths["b"])
    assert_kubectl_agrees(cluster, paths["b"], namespace, tmp_path)


def test_a_distributed_job_starts_whole_or_not_at_all(cluster, kube, namespace, queues, tmp_path, run_cli):
    """6 GPUs of quota: while a 2-GPU job runs, a job of 3 workers x 2 GPUs waits with
    none of its pods, although two of its workers would fit; then all 3 start at once."""
    queues(gpus=6)
    small = tf(tmp_path, namespace, "small", gpus=2)
    assert run_cli("apply", "-y", small)[0] == 0
    (small_pod,) = running_pods(cluster, namespace, "small", 1)
    big = tf(tmp_path, namespace, "big", gpus=2, workers=3)
    assert run_cli("apply", "-y", big)[0] == 0
    until(lambda: pending(cluster, namespace, "TFJob", "big"), what="big pending")
    assert pods(cluster, namespace, "big") == []
    assert suspended(cluster, namespace, "TFJob", "big")
    no_fight(cluster, kube, big, namespace, tmp_path)

    cluster.run_kubectl("-n", namespace, "annotate", "pod", small_pod["metadata"]["name"], f"{EXIT}=0")
    until(lambda: admitted(cluster, namespace, "TFJob", "big"), what="big admitted")
    workers = running_pods(cluster, namespace, "big", 3)
    assert all(p["spec"]["nodeSelector"][FLAVOR_LABEL[0]] == FLAVOR_LABEL[1] for p in workers)
    # All-or-nothing: Kueue saw every pod ready (waitForPodsReady).
    until(lambda: _true(workload(cluster, namespace, "TFJob", "big"), "PodsReady"), what="big PodsReady")
    no_fight(cluster, kube, big, namespace, tmp_path)


def test_higher_queue_priority_preempts(cluster, kube, namespace, queues, tmp_path, run_cli):
    q = queues(gpus=4)
    low = tf(tmp_path, namespace, "low", gpus=4, queue_priority=q.low)
    assert run_cli("apply", "-y", low)[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "low"), what="low admitted")
    running_pods(cluster, namespace, "low", 1)
    assert workload(cluster, namespace, "TFJob", "low")["spec"]["priorityClassRef"]["name"] == q.low

    high = tf(tmp_path, namespace, "high", gpus=4, queue_priority=q.high)
    assert run_cli("apply", "-y", high)[0] == 0
    until(lambda: admitted(cluster, namespace, "TFJob", "high"), what="high admitted")
    running_pods(cluster, namespace, "high", 1)
    w = workload(cluster, namespace, "TFJob", "low")
    assert condition(w, "Preempted")["status"] == "True", w["status"]
    assert condition(w, "Evicted")["reason"] == "Preempted", w["status"]
    # Kueue suspended the preempted job again (its pods go) and requeued it.
    until(lambda: suspended(cluster, namespace, "TFJob", "low"), what="low suspended")
    until(lambda: pods(cluster, namespace, "low") == [], what="low's pods gone")
    until(lambda: pending(cluster, namespace, "TFJob", "low"), what="low pending again")
    for path in (low, high):
        no_fight(cluster, kube, path, namespace, tmp_path)


def test_mpijob_and_trainjob_queued_and_admitted(cluster, kube, namespace, queues, tmp_path, run_cli):
    queues(gpus=2)
    mpi = write(tmp_path / "mpi.toml", experiment(
        "hvd", namespace, type="mpi", image="horovod/horovod:0.28.1", command="horovodrun -np 2 python train.py",
        gpus=1, workers=2, queue="team"))
    trainer = write(tmp_path / "trainer.toml", experiment(
        "llm", namespace, data=(), type="pytorch", engine="trainer", command="torchrun train.py",
        gpus=1, workers=2, queue="team"))
    assert run_cli("apply", "-y", mpi)[0] == 0
    until(lambda: admitted(cluster, namespace, "MPIJob", "hvd"), what="MPIJob admitted")
    running_pods(cluster, namespace, "hvd", 3)  # the launcher and 2 workers
    assert run_cli("apply", "-y", trainer)[0] == 0
    until(lambda: pending(cluster, namespace, "TrainJob", "llm"), what="TrainJob pending")
    assert suspended(cluster, namespace, "TrainJob", "llm")
    assert pods(cluster, namespace, "llm") == []
    for path in (mpi, trainer):
        no_fight(cluster, kube, path, namespace, tmp_path)

    assert run_cli("delete", "-y", "--wait", mpi)[0] == 0
    until(lambda: admitted(cluster, namespace, "TrainJob", "llm"), what="TrainJob admitted")
    running_pods(cluster, namespace, "llm", 2)
    assert not suspended(cluster, namespace, "TrainJob", "llm")
    no_fight(cluster, kube, trainer, namespace, tmp_path)


def test_a_queued_sweep(cluster, kube, namespace, queues, tmp_path, run_cli):
    """Every point of a sweep is queued; the quota admits as many as fit."""
    queues(gpus=2)
    path = write(tmp_path / "sw.toml", experiment(
        "sw", namespace, type="pytorch", command="python train.py --lr {{lr}}", gpus=1, queue="team",
        sweep={"lr": [1, 2, 3]}))
    assert run_cli("apply", "-y", path)[0] == 0
    names = [j["metadata"]["name"] for j in kubectl_json(cluster, "-n", namespace, "get", "pytorchjobs")["items"]]
    assert len(names) == 3

    def states():
        out = {"admitted": 0, "pending": 0}
        for n in names:
            out["admitted"] += bool(admitted(cluster, namespace, "PyTorchJob", n))
            out["pending"] += bool(pending(cluster, namespace, "PyTorchJob", n))
        return out if out == {"admitted": 2, "pending": 1} else None
    until(states, what="2 points admitted, 1 pending")
    no_fight(cluster, kube, path, namespace, tmp_path)
    (plan,) = api.plan(kube, path)
    assert not plan.has_changes
