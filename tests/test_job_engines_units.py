"""MPIJob, TrainJob and custom serving, offline: rendering rules, replacement, and
how status/logs/top/data read live objects of these kinds (the cluster tests
prove the same against the real controllers)."""

from __future__ import annotations

import copy
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from arena_run.objects.keys import Live, key_of
from arena_run.objects.phase import job_phase
from arena_run.plan import desired_members, make_plan
from arena_run.render import render
from arena_run.spec.load import load_text
from arena_run.status.data import mounted_claims
from arena_run.status.logs import resolve
from arena_run.status.top import top_jobs

MPI = """
name = "hvd"
[[data]]
pvc = "train"
mount = "/data"
[job]
type = "mpi"
image = "horovod/horovod:0.28.1"
command = "horovodrun -np 4 python train.py"
gpus = {gpus}
workers = {workers}
{extra}
"""

TRAINER = """
name = "llm"
[[data]]
pvc = "datasets"
mount = "/data"
[job]
type = "pytorch"
engine = "{engine}"
image = "pytorch/pytorch:2.7.1"
command = "torchrun train.py"
gpus = {gpus}
workers = {workers}
"""


def only(objs, kind):
    [obj] = [o for o in objs if o["kind"] == kind]
    return obj


@settings(max_examples=40, deadline=None)
@given(gpus=st.integers(0, 8), workers=st.integers(1, 6), slots=st.one_of(st.none(), st.integers(1, 16)),
       launcher_gpus=st.one_of(st.none(), st.integers(0, 2)))
def test_mpijob_slots_and_gpus(gpus, workers, slots, launcher_gpus):
    extra = f"slots_per_worker = {slots}" if slots else ""
    if launcher_gpus is not None:
        extra += f"\n[job.roles.launcher]\ngpus = {launcher_gpus}"
    job = only(render(load_text(MPI.format(gpus=gpus, workers=workers, extra=extra))), "MPIJob")
    specs = job["spec"]["mpiReplicaSpecs"]
    assert job["spec"]["slotsPerWorker"] == (slots or max(gpus, 1))
    assert specs["Launcher"]["replicas"] == 1 and specs["Worker"]["replicas"] == workers

    def gpus_of(role):
        [c] = specs[role]["template"]["spec"]["containers"]
        return int(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))
    assert gpus_of("Worker") == gpus
    assert gpus_of("Launcher") == (launcher_gpus or 0)
    # Only the launcher runs the command; workers run the operator's SSH server.
    assert "command" in specs["Launcher"]["template"]["spec"]["containers"][0]
    assert "command" not in specs["Worker"]["template"]["spec"]["containers"][0]


@settings(max_examples=30, deadline=None)
@given(gpus=st.integers(0, 8), workers=st.integers(1, 8))
def test_trainjob_nodes_are_the_pytorchjobs_replicas(gpus, workers):
    operator = only(render(load_text(TRAINER.format(engine="operator", gpus=gpus, workers=workers))), "PyTorchJob")
    trainer = only(render(load_text(TRAINER.format(engine="trainer", gpus=gpus, workers=workers))), "TrainJob")
    replicas = sum(s["replicas"] for s in operator["spec"]["pytorchReplicaSpecs"].values())
    assert trainer["spec"]["trainer"]["numNodes"] == replicas == workers
    res = trainer["spec"]["trainer"].get("resourcesPerNode", {})
    assert int(res.get("limits", {}).get("nvidia.com/gpu", 0)) == gpus
    assert trainer["spec"]["runtimeRef"] == {"name": "torch-distributed", "apiGroup": "trainer.kubeflow.org",
                                             "kind": "ClusterTrainingRuntime"}


def served(obj, status):
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u", resourceVersion="1", creationTimestamp="2026-11-28T10:00:00Z")
    out["status"] = status
    return out


def applied(exp, status):
    plan = make_plan(exp, "ns", Live(None, {}, {}))
    return Live(served(plan.parent_last, {}), {key_of(o): served(o, status) for o in desired_members(exp, "ns")}, {})


def test_changed_command_replaces_mpijob_and_trainjob_and_nothing_else_does():
    cases = [(MPI.format(gpus=1, workers=2, extra=""), "MPIJob", {"conditions": [{"type": "Running", "status": "True"}]}),
             (TRAINER.format(engine="trainer", gpus=1, workers=2), "TrainJob", {"jobsStatus": [{"name": "node", "active": 2}]})]
    for text, kind, status in cases:
        live = applied(load_text(text), status)
        same = make_plan(load_text(text), "ns", live)
        assert not same.changes, [a.to_dict() for a in same.changes]
        changed = make_plan(load_text(text.replace("train.py", "train2.py")), "ns", live)
        [action] = changed.changes
        assert (action.op, action.kind) == ("replace", kind)
        assert action.reason == "forces replacement: job.command"


def test_trainjob_phase_follows_its_conditions_and_jobs():
    tj = {"kind": "TrainJob", "status": {}}
    assert job_phase(tj) == "Pending"
    tj["status"] = {"jobsStatus": [{"name": "node", "active": 2, "ready": 0}]}
    assert job_phase(tj) == "Running"
    for cond, phase in (("Complete", "Succeeded"), ("Failed", "Failed"), ("Suspended", "Suspended")):
        done = {**tj, "status": {"conditions": [{"type": cond, "status": "True"}]}}
        assert job_phase(done) == phase
        assert job_phase({**tj, "status": {"conditions": [{"type": cond, "status": "False"}]}}) == "Pending"


def pod(name, labels, gpus=0, phase="Running", node="gpu-node-8"):
    return {"metadata": {"name": name, "namespace": "ns", "labels": {"arena-run.io/experiment": "x", **labels},
                         "creationTimestamp": "2026-11-28T10:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": "node", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}


def live_job(text):
    [job] = [o for o in render(load_text(text), "ns") if o["kind"] in ("MPIJob", "TrainJob")]
    job["metadata"]["labels"]["arena-run.io/experiment"] = "x"
    job["metadata"]["creationTimestamp"] = "2026-11-28T10:00:00Z"
    return job


def test_logs_default_to_the_launcher_and_to_node_zero():
    mpi = live_job(MPI.format(gpus=1, workers=2, extra=""))
    # The labels the mpi-operator v0.8 puts on its pods.
    base = {"training.kubeflow.org/job-name": "hvd", "training.kubeflow.org/operator-name": "mpi-operator"}
    pods = [pod("hvd-worker-0", {**base, "training.kubeflow.org/job-role": "worker", "training.kubeflow.org/replica-index": "0"}),
            pod("hvd-worker-1", {**base, "training.kubeflow.org/job-role": "worker", "training.kubeflow.org/replica-index": "1"}),
            pod("hvd-launcher-abcde", {**base, "training.kubeflow.org/job-role": "launcher"})]
    assert resolve("x", "ns", [mpi], pods).pod == "hvd-launcher-abcde"
    assert resolve("x", "ns", [mpi], pods, role="worker", index=1).pod == "hvd-worker-1"

    tj = live_job(TRAINER.format(engine="trainer", gpus=1, workers=2))
    # A JobSet's pods: its name, the replicated job, the Job's index, the Indexed Job's completion index.
    js = {"jobset.sigs.k8s.io/jobset-name": "llm", "jobset.sigs.k8s.io/replicatedjob-name": "node",
          "jobset.sigs.k8s.io/job-index": "0"}
    pods = [pod(f"llm-node-0-{i}-xyz", {**js, "batch.kubernetes.io/job-completion-index": str(i)}, gpus=1)
            for i in (1, 0)]
    assert resolve("x", "ns", [tj], pods).pod == "llm-node-0-0-xyz"
    assert resolve("x", "ns", [tj], pods, index=1).pod == "llm-node-0-1-xyz"

    now = dt.datetime(2026, 11, 28, 12, tzinfo=dt.timezone.utc)
    tj["status"] = {"jobsStatus": [{"name": "node", "active": 2}]}
    [row] = top_jobs([tj], pods, now)
    assert (row.kind, row.phase, row.gpus_requested, row.gpus_allocated) == ("TrainJob", "Running", 2, 2)
    assert mounted_claims(tj) == {"datasets"} and mounted_claims(mpi) == {"train"}
